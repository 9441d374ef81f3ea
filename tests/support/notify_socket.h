#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace zkelect::test {

// A bound AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET:
// a path, or "@name" for the abstract namespace. Removes its path at the end.
class NotifySocket {
 public:
  explicit NotifySocket(std::string path);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  bool bound() const { return bound_; }
  const std::string& path() const { return path_; }

  // The next datagram, or nullopt after `timeout`.
  std::optional<std::string> Receive(std::chrono::milliseconds timeout);

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

}  // namespace zkelect::test
