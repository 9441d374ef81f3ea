#include "zkelect/daemon/maintenance_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

namespace zkelect {
namespace {

using Json = nlohmann::json;

constexpr const char* kExpectedFile =
    R"(expected {"maintenance": true or false, "since": <unix milliseconds>}; fix or remove the file)";

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
  std::ifstream in(store.path_, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return store;  // never withdrawn: not in maintenance
    return Status::InvalidArgument("state file " + store.path_ + ": cannot read it (" +
                                   Errno(errno) + "); " + kExpectedFile);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return Status::InvalidArgument("state file " + store.path_ + ": cannot read it; " +
                                   kExpectedFile);
  }
  Result<MaintenanceState> state = ParseState(store.path_, text.str());
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
