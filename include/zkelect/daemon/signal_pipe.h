#pragma once

#include <initializer_list>
#include <optional>

namespace zkelect {

// The self-pipe trick: the handlers of the given signals only write the
// signal number to a pipe; the main thread waits on the pipe and does the
// work (redis' sigShutdownHandler). Other threads may also Notify() the
// waiter. One instance per process.
class SignalPipe {
 public:
  // Installs handlers for `signals` (e.g. SIGTERM, SIGINT); aborts if a
  // pipe cannot be made, which only happens when the process is out of fds.
  explicit SignalPipe(std::initializer_list<int> signals);
  ~SignalPipe();  // restores default dispositions, closes the pipe
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  // Wakes Wait() with `code` (a value that is not a signal number, e.g. 0).
  // Async-signal-safe and thread-safe.
  void Notify(int code);

  // Blocks up to `timeout_ms` (-1: forever) for the next signal or Notify();
  // nullopt on timeout.
  std::optional<int> Wait(int timeout_ms);

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
};

}  // namespace zkelect
