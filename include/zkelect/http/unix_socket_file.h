#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "zkelect/common/status.h"

namespace zkelect {

// The path of an http.listen value "unix:/path", or nullopt for any other
// form (host:port).
std::optional<std::string_view> UnixListenPath(std::string_view listen);

// A listening Unix-domain socket at a path of the file system, for the HTTP
// API's `unix:` listeners (design §4, "Listeners"), and the socket file it
// leaves there while it lives.
//
// Listen() creates the socket file with exactly `mode` (bind, chmod, then
// listen: nobody can connect before the mode is set). A socket file already
// at the path is taken over only when it is stale: a connect to it is
// refused, so no process listens there (a daemon that was killed leaves one
// behind). It is refused when something answers (another daemon), and when
// the path is anything but a socket (a regular file, a directory: never
// deleted for the user).
//
// The destructor removes the file if it is still the one Listen() made
// (same device and inode): a second daemon that took the path over after
// this one keeps its own. Not thread-safe; the owner's thread only.
class UnixSocketFile {
 public:
  // sockaddr_un's sun_path holds 108 bytes with the terminating NUL.
  static constexpr size_t kMaxPathBytes = 107;

  // Listens at `path` with a backlog of `backlog` and creates its file with
  // permission bits `mode` (owned by the process's user and group). Errors
  // name the path and what was expected: InvalidArgument for a path that is
  // not absolute or too long for sun_path; Unavailable when another process
  // listens there, something else than a socket is there, or the socket
  // cannot be made (a missing directory, permissions).
  static Result<std::unique_ptr<UnixSocketFile>> Listen(const std::string& path, unsigned mode,
                                                        int backlog);

  UnixSocketFile(const UnixSocketFile&) = delete;
  UnixSocketFile& operator=(const UnixSocketFile&) = delete;
  // Closes the listening socket unless taken, and removes the file if it is
  // still ours.
  ~UnixSocketFile();

  // The listening socket (non-blocking, close-on-exec), for the caller to
  // own and close from now on; -1 once taken.
  int TakeSocket();

  const std::string& path() const { return path_; }

 private:
  UnixSocketFile(std::string path, int socket, dev_t device, ino_t inode);

  // Constant after construction.
  const std::string path_;
  const dev_t device_;
  const ino_t inode_;
  int socket_;  // -1 once taken
};

}  // namespace zkelect
