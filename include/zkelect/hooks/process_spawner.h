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

namespace zkelect {

// How a process ended.
struct ExitStatus {
  int code = -1;   // exit code, when it exited
  int signal = 0;  // the signal that killed it, else 0
  bool ok() const { return signal == 0 && code == 0; }
  std::string ToString() const;  // "exit status 0", "killed by signal 15"
};

// A process started by a ProcessSpawner, leader of its own process group.
// Owned by one thread at a time. Destroying a Process that still runs kills
// its group (SIGKILL) and reaps it: no zombies, no orphans left behind.
class Process {
 public:
  using LineCallback = std::function<void(std::string_view line)>;

  virtual ~Process() = default;
  virtual int pid() const = 0;

  // Waits up to `timeout` for the process to exit, handing every line it
  // writes (stdout and stderr, when captured) to `on_line` as it comes.
  // Returns how it ended, or nullopt if it still runs after `timeout`.
  virtual std::optional<ExitStatus> Wait(std::chrono::milliseconds timeout,
                                         const LineCallback& on_line) = 0;

  // A descriptor that becomes readable when the process exits (a pidfd), or
  // -1 when the kernel has none; then poll TryReap() now and then.
  virtual int exit_fd() const = 0;
  // How it ended, if it has; never blocks.
  virtual std::optional<ExitStatus> TryReap() = 0;

  // Sends `signo` to the whole process group.
  virtual void SignalGroup(int signo) = 0;
};

// Starts commands without a shell: the process-spawning seam, so that tests
// can stand in for it.
class ProcessSpawner {
 public:
  struct Options {
    // Extra environment, on top of (and overriding) the daemon's own.
    std::map<std::string, std::string> env;
    // true: stdout and stderr go to one pipe read by Wait(); false: the
    // process inherits the daemon's stdout and stderr.
    bool capture_output = true;
  };

  virtual ~ProcessSpawner() = default;

  // Starts argv[0] (looked up in PATH when it has no '/') with argv, stdin
  // from /dev/null, in a new process group. Values in `options.env` are
  // passed as they are, except that NUL bytes (which no environment can
  // hold) become U+FFFD. Errors: the command cannot be started (not found,
  // not executable), named with its path.
  virtual Result<std::unique_ptr<Process>> Spawn(const std::vector<std::string>& argv,
                                                 const Options& options) = 0;
};

// ProcessSpawner over posix_spawnp.
class PosixProcessSpawner final : public ProcessSpawner {
 public:
  Result<std::unique_ptr<Process>> Spawn(const std::vector<std::string>& argv,
                                         const Options& options) override;
};

}  // namespace zkelect
