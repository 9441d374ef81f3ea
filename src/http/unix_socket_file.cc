#include "zkelect/http/unix_socket_file.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace zkelect {
namespace {

static_assert(UnixSocketFile::kMaxPathBytes + 1 == sizeof(sockaddr_un::sun_path));

constexpr std::string_view kUnixScheme = "unix:";

sockaddr_un AddressOf(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  return address;
}

int NewUnixSocket() { return ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0); }

std::string Where(const std::string& path) {
  return "http.listen = \"" + std::string(kUnixScheme) + path + "\"";
}

Status SystemError(const std::string& path, std::string_view what, int error) {
  return Status::Unavailable(Where(path) + ": cannot " + std::string(what) + " (" +
                             std::strerror(error) +
                             "): expected a directory that exists and that the daemon's user may "
                             "write (systemd: RuntimeDirectory=zkelect)");
}

// Whether a process accepts connections on the socket file at `path`:
// refused means a stale file (nobody listens); a full backlog (EAGAIN)
// means somebody does. Errors: Unavailable naming the path.
Status CheckNobodyListens(const std::string& path) {
  const int probe = NewUnixSocket();
  if (probe < 0) return SystemError(path, "make a socket", errno);
  const sockaddr_un address = AddressOf(path);
  const int connected =
      ::connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  const int error = connected == 0 ? 0 : errno;
  ::close(probe);
  if (error == ECONNREFUSED) return Status::Ok();
  if (error == 0 || error == EAGAIN || error == EINPROGRESS) {
    return Status::Unavailable(Where(path) +
                               ": another process listens on this socket (another zkelect?): "
                               "expected no listener there; stop it or choose another path");
  }
  return SystemError(path, "check whether the socket file there is in use", error);
}

// Makes room at `path`: nothing there, or a stale socket file, removed.
Status ClearPath(const std::string& path) {
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return SystemError(path, "look at the path", errno);
  }
  if (!S_ISSOCK(existing.st_mode)) {
    return Status::Unavailable(Where(path) +
                               ": a file that is not a socket is in the way: expected a socket "
                               "file or nothing at that path (zkelect does not delete it)");
  }
  if (Status nobody = CheckNobodyListens(path); !nobody.ok()) return nobody;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return SystemError(path, "remove the stale socket file", errno);
  }
  return Status::Ok();
}

}  // namespace

std::optional<std::string_view> UnixListenPath(std::string_view listen) {
  if (!listen.starts_with(kUnixScheme)) return std::nullopt;
  return listen.substr(kUnixScheme.size());
}

Result<std::unique_ptr<UnixSocketFile>> UnixSocketFile::Listen(const std::string& path,
                                                               unsigned mode, int backlog) {
  if (!path.starts_with('/') || path.size() > kMaxPathBytes) {
    return Status::InvalidArgument(Where(path) + ": the path has " + std::to_string(path.size()) +
                                   " bytes: expected an absolute path of at most " +
                                   std::to_string(kMaxPathBytes) + " bytes");
  }
  if (Status cleared = ClearPath(path); !cleared.ok()) return cleared;
  const int fd = NewUnixSocket();
  if (fd < 0) return SystemError(path, "make a socket", errno);
  const sockaddr_un address = AddressOf(path);
  struct stat made {};
  // Before listen() every connect is refused, so the mode is set before
  // anybody can use the socket.
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EADDRINUSE) {  // another daemon took the path meanwhile
      return Status::Unavailable(Where(path) +
                                 ": another process made a socket there meanwhile: expected no "
                                 "listener there");
    }
    return SystemError(path, "bind the socket", error);
  }
  if (::chmod(path.c_str(), mode) != 0 || ::lstat(path.c_str(), &made) != 0 ||
      ::listen(fd, backlog) != 0) {
    const int error = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return SystemError(path, "set up the socket file", error);
  }
  return std::unique_ptr<UnixSocketFile>(new UnixSocketFile(path, fd, made.st_dev, made.st_ino));
}

UnixSocketFile::UnixSocketFile(std::string path, int socket, dev_t device, ino_t inode)
    : path_(std::move(path)), device_(device), inode_(inode), socket_(socket) {}

UnixSocketFile::~UnixSocketFile() {
  if (socket_ >= 0) ::close(socket_);
  struct stat now {};
  if (::lstat(path_.c_str(), &now) == 0 && S_ISSOCK(now.st_mode) && now.st_dev == device_ &&
      now.st_ino == inode_) {
    ::unlink(path_.c_str());
  }
}

int UnixSocketFile::TakeSocket() { return std::exchange(socket_, -1); }

}  // namespace zkelect
