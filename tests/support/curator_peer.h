#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace zkelect::test {

struct CuratorPeerOptions {
  std::string id;             // the latch's id: its node's data, what zkelect shows as its id
  std::string servers;        // ZooKeeper connect string
  std::string election_path;  // the latch path, zkelect's election.path
  int session_timeout_ms = 3000;
  std::string leadership_log;  // where it appends its "start"/"stop" lines (see below)
};

// A real Apache Curator LeaderLatch participant (support/java/CuratorPeer.java
// on Debian's jars, libcurator-recipes-java) as a child `java` process of the
// test, in its own process group, its output in a log file of its own. It
// appends its leaderships to options.leadership_log in the format of
// tests/faults/hook_logger.cc on CLOCK_MONOTONIC ("start begin <ns> <id> -
// elected", "stop end <ns> <id> - shutdown|notLeader"), so that the zkelect
// daemons' hooks can append theirs to the same file.
//
// The participant is compiled (javac) once per test program, at the first
// Start(). A missing JDK or Curator jar fails Start() with the package to
// install: the test dependencies (scripts/install-deps.sh) include them.
//
// Not thread-safe: drive it from the test's main thread. The destructor
// SIGKILLs the process group if it still runs.
class CuratorPeer {
 public:
  explicit CuratorPeer(CuratorPeerOptions options);
  ~CuratorPeer();
  CuratorPeer(const CuratorPeer&) = delete;
  CuratorPeer& operator=(const CuratorPeer&) = delete;

  // Spawns the participant (compiling it first if need be, bounded). Its
  // latch registers asynchronously: wait for its node in ZooKeeper. May be
  // called again once it has exited (a rejoin: a new session, a new node at
  // the back); the output log is appended to.
  ::testing::AssertionResult Start();

  // SIGTERM: the participant stamps its stop if it leads, closes its latch
  // (its node is deleted) and its session, then exits.
  void Terminate() { process_.Signal(SIGTERM); }
  // How it ended, or nullopt if it still runs after `timeout`.
  std::optional<ExitStatus> WaitExit(std::chrono::milliseconds timeout) {
    return process_.WaitExit(timeout);
  }
  bool running() { return process_.running(); }

  const std::string& id() const { return options_.id; }
  // The last `lines` lines of its output (the JVM's and Curator's), for messages.
  std::string LogTail(int lines = 40) const;

 private:
  // Compiles CuratorPeer.java into a directory that lives as long as the test
  // program; sets *classes to it. Only the first call compiles.
  static ::testing::AssertionResult Compile(std::string* classes);

  CuratorPeerOptions options_;
  TempDir dir_;
  std::string log_path_;
  ChildProcess process_;
};

}  // namespace zkelect::test
