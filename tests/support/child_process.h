#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace zkelect::test {

// How a child process ended.
struct ExitStatus {
  int exit_code = -1;  // 0..255 when the process exited, -1 when a signal ended it
  int signal = 0;      // the terminating signal, 0 when the process exited

  bool exited() const { return signal == 0; }
  bool operator==(const ExitStatus&) const = default;
  std::string ToString() const;
};

// What to run and where its output goes.
struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is an absolute path; executed directly, no shell
  std::string stdout_path;        // stdout (and stderr unless stderr_path is set), appended
  std::string stderr_path;        // optional: a separate file for stderr, appended
  std::string working_dir;        // optional
  // Environment changes on top of the test's own environment: a value sets the
  // variable, std::nullopt removes it. Variables whose name starts with one of
  // `drop_env_prefixes` are removed first (keeps children hermetic).
  std::map<std::string, std::optional<std::string>> env;
  std::vector<std::string> drop_env_prefixes;
};

// One child process of the test, started in its own process group, reaped by
// this object. The child gets PR_SET_PDEATHSIG=SIGKILL so that it does not
// outlive a crashed test (note: tied to the thread that called Spawn, so
// spawn from the test's main thread). stdin is /dev/null; signal mask and
// dispositions are reset to defaults.
//
// Not thread-safe: one thread drives a ChildProcess. The destructor SIGKILLs
// the whole process group if the child is still running and reaps it.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts the child. Returns an empty string on success, otherwise a message
  // that names the program and the failing step (e.g. exec's errno). Must not
  // be called while a previous child is still running.
  std::string Spawn(const ChildSpec& spec);

  // True once spawned and until its exit has been observed by Poll/WaitExit.
  bool running();

  // Sends `sig` to the child process itself (not its group). No-op when not running.
  void Signal(int sig);
  // Sends `sig` to the child's whole process group. No-op when not running.
  void SignalGroup(int sig);

  // Waits up to `timeout` for the child to end. Returns its status, or
  // std::nullopt if it is still running at the deadline. Once the exit is
  // observed, later calls return the same status at once.
  std::optional<ExitStatus> WaitExit(std::chrono::milliseconds timeout);

  // SIGTERM, then SIGKILL (to the group) if it has not ended after `grace`.
  // Returns how it ended.
  std::optional<ExitStatus> TerminateAndWait(std::chrono::milliseconds grace);

  // SIGKILL to the process group and reap. Returns how it ended.
  std::optional<ExitStatus> KillAndWait();

  // The pid of the last spawned child, 0 before the first Spawn.
  pid_t pid() const { return pid_; }
  // The last observed exit status, if any.
  std::optional<ExitStatus> exit_status() const { return exit_status_; }

 private:
  // Non-blocking reap; updates exit_status_. True when the child has ended.
  bool Poll();

  pid_t pid_ = 0;
  bool spawned_ = false;
  std::optional<ExitStatus> exit_status_;
};

}  // namespace zkelect::test
