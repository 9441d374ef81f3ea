#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace zkelect::test {

struct ZkEnsembleOptions {
  int servers = 3;
  // Small ticks make short session timeouts negotiable: the servers accept
  // timeouts from 2*tick to 20*tick (400ms..4s with the default).
  std::chrono::milliseconds tick{200};
  // Bound of StartAll()'s wait for a serving quorum.
  std::chrono::milliseconds start_deadline{60000};
};

// A real ZooKeeper ensemble (Debian's `zookeeper` package, 3.8) of N servers
// on free loopback ports, each server a child `java` process with its own
// data directory and log file under one temp dir. For integration tests.
//
// Construction only prepares directories, ports and configuration; StartAll()
// starts the servers. The destructor SIGKILLs every server and removes the
// temp dir. Every wait is bounded; failures come back as AssertionResults
// that carry the tail of the server logs, for ASSERT_TRUE(...).
//
// Not thread-safe: drive it from the test's main thread.
class ZkEnsemble {
 public:
  explicit ZkEnsemble(ZkEnsembleOptions options = {});
  ~ZkEnsemble();
  ZkEnsemble(const ZkEnsemble&) = delete;
  ZkEnsemble& operator=(const ZkEnsemble&) = delete;

  // Starts every server that is not running and waits until all of them
  // serve (WaitServing) within options.start_deadline.
  ::testing::AssertionResult StartAll();
  // Stops every running server with SIGTERM (SIGKILL after a grace period).
  void StopAll();

  // Starts server i (0-based) without waiting for it to serve.
  ::testing::AssertionResult Start(int i);
  // SIGTERM to server i and wait for its exit (SIGKILL after 10s).
  void Stop(int i);
  // SIGKILL to server i and wait for its exit.
  void Kill(int i);
  bool running(int i);
  // SIGSTOP to server i's process group: the server stays up and its TCP
  // connections stay open, but it answers nothing until Resume(i).
  void Pause(int i);
  // SIGCONT to server i's process group (after Pause).
  void Resume(int i);

  // Waits until every running server answers `srvr` with a mode of leader,
  // follower or standalone, and a majority of all servers is running. Fails
  // at once if fewer than a majority runs, or if a running server died.
  ::testing::AssertionResult WaitServing(std::chrono::milliseconds timeout);

  // "127.0.0.1:p1,127.0.0.1:p2,..." over all servers, running or not.
  std::string connect_string() const;
  // "127.0.0.1:p" of server i alone.
  std::string server_address(int i) const;
  uint16_t client_port(int i) const { return servers_[Index(i)].client_port; }
  int size() const { return static_cast<int>(servers_.size()); }
  std::chrono::milliseconds tick() const { return options_.tick; }

  // "leader", "follower", "standalone", or "" when server i does not serve.
  std::string Mode(int i) const;
  // Index of the server that is the quorum leader, if one serves.
  std::optional<int> LeaderIndex() const;

  // Sends a four-letter-word command (`ruok`, `srvr`, `mntr`, ...) to
  // 127.0.0.1:port and returns the whole answer, or nullopt on connection
  // failure or when the answer does not complete within `timeout`.
  static std::optional<std::string> FourLetterWord(uint16_t port, const std::string& command,
                                                   std::chrono::milliseconds timeout);

  // The last `lines` lines of every server's log, headed by server number.
  std::string LogTails(int lines = 30) const;

 private:
  struct Server {
    int myid = 0;
    uint16_t client_port = 0;
    uint16_t quorum_port = 0;
    uint16_t election_port = 0;
    std::string dir;
    std::string log_path;
    std::unique_ptr<ChildProcess> process;
    bool wanted = false;  // started by the test and not stopped since
  };

  size_t Index(int i) const;
  void WriteConfig(const Server& server) const;

  ZkEnsembleOptions options_;
  TempDir root_;
  std::vector<Server> servers_;
};

}  // namespace zkelect::test
