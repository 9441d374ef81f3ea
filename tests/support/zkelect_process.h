#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace zkelect::test {

struct ZkelectOptions {
  std::string id;                               // --id
  std::string servers;                          // --zk.servers (connect string)
  std::string election_path = "/zkelect/test";  // --election.path
  std::string session_timeout = "3s";           // --zk.session_timeout
  std::vector<std::string> extra_flags;  // appended as given, e.g. "--election.campaign=false"
  // Environment of the daemon on top of the test's, after every ZKELECT_*
  // variable of the test's own environment has been removed.
  std::map<std::string, std::string> env;
  // When true, stderr goes to its own file (stderr_text()); otherwise stdout
  // and stderr share the log file.
  bool separate_stderr = false;
  // When false, the standard flags above are not passed at all: only `run`
  // and extra_flags (for configuration-error tests).
  bool standard_flags = true;
  // Words before the binary: a program that runs zkelect, such as
  // {"unshare", "--pid", "--fork", "--kill-child"} (then pid() is that
  // program's).
  std::vector<std::string> launcher;
};

// A real `zkelect run` daemon (the binary named by ZKELECT_BINARY) as a child
// of the test, in its own process group, with an HTTP API on a port the
// kernel picked (--http.listen=127.0.0.1:0), learned from the daemon's log
// line "HTTP API listening on http://127.0.0.1:PORT". Its output goes to a
// log file in a temp dir; ZKELECT_* variables of the test's environment are
// not passed on.
//
// Not thread-safe: drive it from the test's main thread. The destructor
// SIGKILLs the daemon if it still runs.
class ZkelectProcess {
 public:
  explicit ZkelectProcess(ZkelectOptions options);
  ~ZkelectProcess();
  ZkelectProcess(const ZkelectProcess&) = delete;
  ZkelectProcess& operator=(const ZkelectProcess&) = delete;

  // Spawns the daemon and waits (bounded by `timeout`) for its HTTP port.
  // Fails with the log if the daemon exits first or the line never comes.
  // May be called again after the daemon has exited (a restart); the log
  // file is appended to.
  ::testing::AssertionResult Start(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(15000));
  // Spawns the daemon without waiting for anything.
  ::testing::AssertionResult Spawn();
  // Waits for the "HTTP API listening" line of the current run.
  ::testing::AssertionResult WaitListening(std::chrono::milliseconds timeout);

  void Signal(int sig) { process_.Signal(sig); }
  void Terminate() { process_.Signal(SIGTERM); }
  void Kill() { process_.Signal(SIGKILL); }
  void Stop() { process_.Signal(SIGSTOP); }
  void Cont() { process_.Signal(SIGCONT); }
  // How the daemon ended, or nullopt if it still runs after `timeout`.
  std::optional<ExitStatus> WaitExit(std::chrono::milliseconds timeout) {
    return process_.WaitExit(timeout);
  }
  bool running() { return process_.running(); }

  // The HTTP port of the current run (0 before WaitListening succeeded).
  uint16_t port() const { return port_; }
  pid_t pid() const { return process_.pid(); }
  const std::string& id() const { return options_.id; }
  const ZkelectOptions& options() const { return options_; }
  // The daemon's extra environment, to change before Start().
  std::map<std::string, std::string>& mutable_env() { return options_.env; }

  // Everything the daemon wrote so far (stdout and stderr, unless separate).
  std::string log_text() const;
  // What the current run (since the last Spawn()) wrote to the log.
  std::string run_log_text() const;
  // What it wrote to stderr, when options.separate_stderr.
  std::string stderr_text() const;
  // The last `lines` lines of the log, headed by the daemon id, for messages.
  std::string LogTail(int lines = 40) const;
  std::string log_path() const { return log_path_; }

 private:
  ZkelectOptions options_;
  TempDir dir_;
  std::string log_path_;
  std::string stderr_path_;
  std::string config_path_;
  size_t run_log_offset_ = 0;  // where the current run's output starts in the log
  uint16_t port_ = 0;
  ChildProcess process_;
};

}  // namespace zkelect::test
