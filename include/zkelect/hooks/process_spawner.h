#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zkelect/common/status.h"
#include "zkelect/hooks/line_buffer.h"

namespace zkelect {

// How a process ended.
struct ExitStatus {
  int code = -1;   // exit code, when it exited
  int signal = 0;  // the signal that killed it, else 0
  bool ok() const { return signal == 0 && code == 0; }
  std::string ToString() const;  // "exit status 0", "killed by signal 15"
};

// A process started by a ProcessSpawner, leader of its own process group.
// Owned by one thread at a time, except SignalGroup(), which another thread
// may call concurrently. Destroying a Process that still runs kills its
// group (SIGKILL) and reaps it: no zombies, no orphans left behind.
class Process {
 public:
  using LineCallback = LineBuffer::LineCallback;

  virtual ~Process() = default;
  virtual int pid() const = 0;

  // Waits up to `timeout` for the process to exit, handing every line it
  // writes (stdout and stderr, when captured) to `on_line` as it comes.
  // Returns how it ended, or nullopt if it still runs after `timeout`. The
  // deadline holds however fast the process writes (each round reads a
  // bounded amount); once the process has exited it does not wait for the
  // end of the output, which a background grandchild may hold open (see
  // ReleaseOutput()).
  virtual std::optional<ExitStatus> Wait(std::chrono::milliseconds timeout,
                                         const LineCallback& on_line) = 0;

  // A descriptor that becomes readable when the process exits (a pidfd), or
  // -1 when the kernel has none; then poll TryReap() now and then.
  virtual int exit_fd() const = 0;
  // How it ended, if it has; never blocks.
  virtual std::optional<ExitStatus> TryReap() = 0;

  // Sends `signo` to the whole process group, unless the process has been
  // reaped (its group id may then belong to someone else). Thread-safe
  // against Wait() and TryReap() on the owning thread.
  virtual void SignalGroup(int signo) = 0;

  // Gives up the read end of the output pipe when writers may still hold it
  // (the process has exited, output not at its end): returns the
  // descriptor, non-blocking, now owned by the caller, and the partial line
  // read so far; -1 when there is nothing left to read. Owning thread.
  virtual int ReleaseOutput(LineBuffer* rest) {
    (void)rest;
    return -1;
  }
};

// Starts commands without a shell: the process-spawning seam, so that tests
// can stand in for it.
class ProcessSpawner {
 public:
  struct Options {
    // Extra environment, on top of (and overriding) the daemon's own minus
    // what is the daemon's alone (see InheritedEnvironment()).
    std::map<std::string, std::string> env;
    // true: stdout and stderr go to one pipe read by Wait(); false: the
    // process inherits the daemon's stdout and stderr.
    bool capture_output = true;
  };

  virtual ~ProcessSpawner() = default;

  // Starts argv[0] (looked up in PATH when it has no '/') with argv, stdin
  // from /dev/null, in a new process group, with SIGKILL as its
  // parent-death signal: it dies with the thread that spawned it (so with
  // the daemon) whatever kills them. Values in `options.env` are
  // passed as they are, except that NUL bytes (which no environment can
  // hold) become U+FFFD. Errors: the command cannot be started (not found,
  // not executable), named with its path.
  virtual Result<std::unique_ptr<Process>> Spawn(const std::vector<std::string>& argv,
                                                 const Options& options) = 0;
};

// The part of the environment `envp` (the daemon's) that commands inherit:
// everything but the daemon's own settings (every ZKELECT_* variable; those
// a hook gets are set by zkelect itself, through Options::env) and what
// systemd addresses to the daemon alone (NOTIFY_SOCKET, WATCHDOG_PID,
// WATCHDOG_USEC). "NAME=value" entries; others are skipped.
std::map<std::string, std::string> InheritedEnvironment(const char* const* envp);

// ProcessSpawner over clone (CLONE_VM | CLONE_VFORK, as posix_spawn) and
// execvpe. Thread-safe: each Spawn() is independent.
class PosixProcessSpawner final : public ProcessSpawner {
 public:
  Result<std::unique_ptr<Process>> Spawn(const std::vector<std::string>& argv,
                                         const Options& options) override;
};

}  // namespace zkelect
