#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace zkelect {

// The systemd notify protocol (sd_notify(3)) without libsystemd: one
// datagram per message to the AF_UNIX socket named by $NOTIFY_SOCKET
// (a path, or "@name" for the abstract namespace). Disabled, and every call a
// no-op, when the daemon was not started by systemd with Type=notify.
//
// Thread-safe: each message is one sendto() on a socket made at construction.
class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET, and WATCHDOG_USEC / WATCHDOG_PID (the watchdog is on
  // only when WATCHDOG_PID is unset or is this process).
  static SystemdNotifier FromEnvironment(const std::map<std::string, std::string>& env,
                                         int own_pid);

  SystemdNotifier() = default;  // disabled
  SystemdNotifier(std::string socket_path, std::optional<std::chrono::microseconds> watchdog);
  ~SystemdNotifier();
  SystemdNotifier(SystemdNotifier&& other) noexcept;
  SystemdNotifier& operator=(SystemdNotifier&& other) noexcept;
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  bool enabled() const { return fd_ >= 0; }
  // WatchdogSec= of the unit, when the watchdog is on: ping at least twice
  // that often.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }

  // Sends "READY=1\nSTATUS=<status>", "STOPPING=1\nSTATUS=...", "WATCHDOG=1"
  // or "STATUS=...". Failures are ignored: systemd may be gone (sd_notify
  // does the same).
  void Ready(std::string_view status) const;
  void Stopping(std::string_view status) const;
  void Watchdog() const;
  void Status(std::string_view status) const;

 private:
  void Send(std::string_view message) const;

  int fd_ = -1;
  std::string address_;  // sockaddr_un.sun_path bytes (leading NUL when abstract)
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace zkelect
