#include "zkelect/daemon/maintenance_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

namespace zkelect {
namespace {

using Json = nlohmann::json;

constexpr const char* kExpectedFile =
    R"(expected {"maintenance": true or false, "since": <unix milliseconds>}; fix or remove the file)";

// What a state file may hold, with room to spare: {"maintenance":true,"since":<ms>}.
constexpr off_t kMaxStateFileBytes = 4096;

std::string Errno(int error) { return std::strerror(error); }

// Writes all of `data` to `fd`; false with errno set on failure.
bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool FsyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  errno = error;
  return ok;
}

Result<MaintenanceState> ParseState(const std::string& path, const std::string& text) {
  const Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return Status::InvalidArgument("state file " + path + ": not a JSON object; " + kExpectedFile);
  }
  const auto maintenance = json.find("maintenance");
  if (maintenance == json.end() || !maintenance->is_boolean()) {
    return Status::InvalidArgument(
        "state file " + path + ": \"maintenance\" is missing or not true/false; " + kExpectedFile);
  }
  MaintenanceState state;
  state.maintenance = maintenance->get<bool>();
  if (state.maintenance) {
    const auto since = json.find("since");
    if (since == json.end() || !since->is_number_integer() || since->get<int64_t>() < 0) {
      return Status::InvalidArgument("state file " + path +
                                     ": \"since\" is missing or not a non-negative integer; " +
                                     kExpectedFile);
    }
    state.since =
        std::chrono::system_clock::time_point(std::chrono::milliseconds(since->get<int64_t>()));
  }
  return state;
}

// The state file's text, or nullopt when there is none. Only a small regular
// file is read: a FIFO, a device or a symbolic link in its place would block
// the start (before signals are served) or feed it without end; such a file
// is an error naming it, as a corrupt one is.
Result<std::optional<std::string>> ReadStateFile(const std::string& path) {
  const auto refuse = [&path](const std::string& why) {
    return Status::InvalidArgument("state file " + path + ": " + why + "; " + kExpectedFile);
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    if (errno == ELOOP) return refuse("a symbolic link: expected a regular file");
    return refuse("cannot read it (" + Errno(errno) + ")");
  }
  struct stat st {};
  std::string text;
  std::string error;
  if (::fstat(fd, &st) != 0) {
    error = "cannot read it (" + Errno(errno) + ")";
  } else if (!S_ISREG(st.st_mode)) {
    error = "not a regular file: expected a regular file";
  } else if (st.st_size > kMaxStateFileBytes) {
    error = std::to_string(st.st_size) + " bytes: expected at most " +
            std::to_string(kMaxStateFileBytes);
  } else {
    text.resize(static_cast<size_t>(st.st_size));
    const ssize_t n = ::read(fd, text.data(), text.size());
    if (n < 0) error = "cannot read it (" + Errno(errno) + ")";
    text.resize(n < 0 ? 0 : static_cast<size_t>(n));
  }
  ::close(fd);
  if (!error.empty()) return refuse(error);
  return std::optional<std::string>(std::move(text));
}

}  // namespace

MaintenanceStore::MaintenanceStore(std::string state_dir, MaintenanceState state)
    : dir_(std::move(state_dir)),
      path_(dir_.empty() ? "" : dir_ + "/" + kFileName),
      state_(std::move(state)) {}

Result<MaintenanceStore> MaintenanceStore::Open(std::string state_dir) {
  if (state_dir.empty()) return MaintenanceStore("", {});
  struct stat st {};
  if (::stat(state_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      ::access(state_dir.c_str(), W_OK | X_OK) != 0) {
    const int error = errno;
    const std::string why = ::stat(state_dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)
                                ? "not a directory"
                                : Errno(error);
    return Status::InvalidArgument("state_dir = \"" + state_dir + "\": cannot use it (" + why +
                                   "): expected an existing directory that zkelect may write");
  }
  MaintenanceStore store(std::move(state_dir), {});
  const int dir_fd = ::open(store.dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || ::flock(dir_fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (dir_fd >= 0) ::close(dir_fd);
    return Status::Unavailable(
        "state_dir = \"" + store.dir_ + "\": cannot lock it (" +
        (error == EWOULDBLOCK ? std::string("another zkelect uses it") : Errno(error)) +
        "): expected a state_dir of this daemon's own (one per election on a host)");
  }
  store.lock_ = std::shared_ptr<const int>(new int(dir_fd), [](const int* fd) {
    ::close(*fd);
    delete fd;
  });
  Result<std::optional<std::string>> text = ReadStateFile(store.path_);
  if (!text.ok()) return text.status();
  if (!text->has_value()) return store;  // never withdrawn: not in maintenance
  Result<MaintenanceState> state = ParseState(store.path_, **text);
  if (!state.ok()) return state.status();
  store.state_ = *state;
  return store;
}

Status MaintenanceStore::Save(const MaintenanceState& state) {
  if (path_.empty()) {
    state_ = state;
    return Status::Ok();
  }
  Json json = {{"maintenance", state.maintenance}};
  if (state.since) {
    json["since"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(state.since->time_since_epoch())
            .count();
  }
  const std::string temp = path_ + ".tmp";
  const auto fail = [&](const std::string& step) {
    const std::string why = Errno(errno);
    ::unlink(temp.c_str());
    return Status::Unavailable("state file " + path_ + ": cannot " + step + " (" + why +
                               "): expected state_dir to be writable");
  };
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("create " + temp);
  const bool written = WriteAll(fd, json.dump() + "\n") && ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  errno = error;
  if (!written) return fail("write " + temp);
  if (::rename(temp.c_str(), path_.c_str()) != 0) return fail("rename " + temp);
  if (!FsyncPath(dir_, O_RDONLY | O_DIRECTORY)) return fail("fsync " + dir_);
  state_ = state;
  return Status::Ok();
}

}  // namespace zkelect
