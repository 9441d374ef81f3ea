#include "zkelect/daemon/systemd_notifier.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <utility>

#include "zkelect/common/control_bytes.h"

namespace zkelect {

SystemdNotifier SystemdNotifier::FromEnvironment(const std::map<std::string, std::string>& env,
                                                 int own_pid) {
  auto socket = env.find("NOTIFY_SOCKET");
  if (socket == env.end() || socket->second.empty()) return SystemdNotifier();
  std::optional<std::chrono::microseconds> watchdog;
  auto usec = env.find("WATCHDOG_USEC");
  auto pid = env.find("WATCHDOG_PID");
  const bool ours = pid == env.end() || pid->second == std::to_string(own_pid);
  if (usec != env.end() && ours) {
    long long value = 0;
    const char* end = usec->second.data() + usec->second.size();
    auto [ptr, error] = std::from_chars(usec->second.data(), end, value);
    if (error == std::errc() && ptr == end && value > 0)
      watchdog = std::chrono::microseconds(value);
  }
  return SystemdNotifier(socket->second, watchdog);
}

SystemdNotifier::SystemdNotifier(std::string socket_path,
                                 std::optional<std::chrono::microseconds> watchdog)
    : watchdog_(watchdog) {
  if (socket_path.empty() || socket_path.size() >= sizeof(sockaddr_un::sun_path)) return;
  if (socket_path[0] == '@') socket_path[0] = '\0';  // abstract namespace
  if (socket_path[0] != '/' && socket_path[0] != '\0') return;
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  address_ = std::move(socket_path);
}

SystemdNotifier::~SystemdNotifier() {
  if (fd_ >= 0) close(fd_);
}

SystemdNotifier::SystemdNotifier(SystemdNotifier&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      address_(std::move(other.address_)),
      watchdog_(other.watchdog_) {}

SystemdNotifier& SystemdNotifier::operator=(SystemdNotifier&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    address_ = std::move(other.address_);
    watchdog_ = other.watchdog_;
  }
  return *this;
}

// A status carries other nodes' ids, which anyone who may write to the
// election path chooses: a newline in it would be a field of its own
// (MAINPID=, WATCHDOG=trigger, ...). Control bytes are escaped.
void SystemdNotifier::Ready(std::string_view status) const {
  Send("READY=1\nSTATUS=" + EscapeControlBytes(status));
}

void SystemdNotifier::Stopping(std::string_view status) const {
  Send("STOPPING=1\nSTATUS=" + EscapeControlBytes(status));
}

void SystemdNotifier::Watchdog() const {
  if (watchdog_) Send("WATCHDOG=1");
}

void SystemdNotifier::Status(std::string_view status) const {
  Send("STATUS=" + EscapeControlBytes(status));
}

void SystemdNotifier::Send(std::string_view message) const {
  if (fd_ < 0) return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, address_.data(), address_.size());
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
  [[maybe_unused]] ssize_t sent = sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL,
                                         reinterpret_cast<const sockaddr*>(&address), length);
}

}  // namespace zkelect
