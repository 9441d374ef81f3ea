// Signals other than the shutdown ones (issue 20 point 7): SIGHUP reloads
// the configuration (issue 16; reload_test.cc) and never ends the daemon,
// not even a storm of them. And zkelect as PID 1 of a container
// (issue 20 point 6): orphans are reaped, signals still reach the daemon.

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "election_fixture.h"
#include "support/process_state.h"
#include "support/temp_dir.h"

namespace zkelect::test {
namespace {

using std::chrono::seconds;

std::string Describe(const std::vector<ProcessStat>& processes) {
  std::string out;
  for (const ProcessStat& p : processes) {
    out += std::to_string(p.pid) + " (" + p.comm + ") " + p.state + " parent " +
           std::to_string(p.ppid) + "\n";
  }
  return out;
}

// The last pid of "NSpid:" in /proc/<pid>/status: the pid as its own PID
// namespace sees it.
pid_t InnermostPid(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    pid_t inner = 0;
    while (fields >> inner) {
    }
    return inner;
  }
  return 0;
}

class DaemonSignalsTest : public ElectionFixture {
 protected:
  // An on_stop hook that leaves the file `stopped_`.
  std::string StopHookFlag() const {
    return R"(--hooks.on_stop=["/bin/sh", "-c", "touch )" + stopped_ + R"("])";
  }
  // Waits (bounded) until `daemon` logged that reload number 2 was applied.
  static bool AwaitFirstReload(ZkelectProcess& daemon) {
    return WaitUntil(
        [&] {
          return daemon.log_text().find("configuration reloaded (generation 2)") !=
                 std::string::npos;
        },
        seconds(30));
  }

  TempDir dir_{"daemon-signals"};
  const std::string stopped_ = dir_.path() + "/stop-hook-ran";
};

TEST_F(DaemonSignalsTest, SighupKillsTheLeaderWithoutItsStopHook) {
  ZkelectProcess& leader = AddDaemon("node-1", {StopHookFlag()});
  ASSERT_TRUE(leader.Start());
  ASSERT_TRUE(WaitReady(leader, seconds(30)));
  size_t index = 0;
  ASSERT_TRUE(WaitForLeader(seconds(30), &index));

  leader.Signal(SIGHUP);
  ASSERT_TRUE(AwaitFirstReload(leader))
      << "no reload after SIGHUP; running: " << leader.running() << "\n"
      << leader.LogTail();
  EXPECT_TRUE(leader.running()) << leader.LogTail();
  EXPECT_EQ(HttpGet(leader.port(), "/is-leader").status, 200) << leader.LogTail();
  EXPECT_FALSE(std::filesystem::exists(stopped_)) << "the stop hook ran after SIGHUP";
}

// A storm of SIGHUPs (a loop in a script, a flapping config manager) is
// coalesced: it neither kills nor wedges the daemon, which leads on, answers,
// and still leaves in order on SIGTERM.
TEST_F(DaemonSignalsTest, SighupStormNeitherKillsNorWedgesTheDaemon) {
  ZkelectProcess& leader = AddDaemon("node-1", {StopHookFlag()});
  ASSERT_TRUE(leader.Start());
  ASSERT_TRUE(WaitReady(leader, seconds(30)));
  size_t index = 0;
  ASSERT_TRUE(WaitForLeader(seconds(30), &index));

  for (int i = 0; i < 500; ++i) leader.Signal(SIGHUP);
  ASSERT_TRUE(AwaitFirstReload(leader)) << leader.LogTail();
  EXPECT_TRUE(leader.running()) << leader.LogTail();
  EXPECT_EQ(HttpGet(leader.port(), "/is-leader", seconds(30)).status, 200) << leader.LogTail();
  EXPECT_FALSE(std::filesystem::exists(stopped_)) << "the stop hook ran after SIGHUP";

  leader.Terminate();
  const std::optional<ExitStatus> status = leader.WaitExit(seconds(60));
  ASSERT_TRUE(status.has_value()) << "wedged after the storm:\n" << leader.LogTail();
  EXPECT_TRUE(status->exited() && status->exit_code == 0) << status->ToString();
  EXPECT_TRUE(std::filesystem::exists(stopped_)) << leader.LogTail();
}

// Issue 20 point 6: as PID 1 (the container image runs it so), zkelect
// never reaped the orphans of its hooks: `sh -c 'sleep 0.2 & exit 0'` left a
// <defunct> child of zkelect for good. Here zkelect runs as PID 1 of a new
// PID namespace, and an on_start hook leaves a background process behind
// that ends a moment later.
TEST_F(DaemonSignalsTest, ZombiesPileUpWhenZkelectIsPid1) {
  const std::string orphan_done = dir_.path() + "/orphan-done";
  ZkelectOptions options;
  options.id = "node-1";
  options.servers = zk_.connect_string();
  options.election_path = path_;
  options.session_timeout = kSessionTimeoutFlag;
  options.launcher = {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "--kill-child"};
  options.extra_flags = {
      R"(--hooks.on_start=["/bin/sh", "-c", "(sleep 0.2; touch )" + orphan_done + R"() & exit 0"])",
      StopHookFlag()};
  ZkelectProcess daemon(options);
  ASSERT_TRUE(daemon.Start());
  ASSERT_TRUE(WaitReady(daemon, seconds(30)));

  // unshare's one child is PID 1 of the new namespace.
  std::vector<ProcessStat> tree = ProcessTree(daemon.pid());
  ASSERT_GE(tree.size(), 2u) << Describe(tree);
  const pid_t pid1 = tree[1].pid;
  ASSERT_EQ(InnermostPid(pid1), 1) << Describe(tree);
  ASSERT_EQ(tree[1].comm, "zkelect") << Describe(tree);

  ASSERT_EQ(HttpGet(daemon.port(), "/is-leader", seconds(30)).status, 200);
  ASSERT_TRUE(WaitUntil([&] { return std::filesystem::exists(orphan_done); }, seconds(30)))
      << "the hook's background process did not run";
  const auto zombies = [&] {
    std::vector<ProcessStat> found;
    for (const ProcessStat& p : ProcessTree(daemon.pid())) {
      if (p.state == 'Z') found.push_back(p);
    }
    return found;
  };
  EXPECT_TRUE(WaitUntil([&] { return zombies().empty(); }, seconds(30)))
      << "zombies left:\n"
      << Describe(zombies()) << "in:\n"
      << Describe(ProcessTree(daemon.pid()));

  // Signals to PID 1 still stop the daemon in order, stop hook included,
  // and its exit status is PID 1's.
  ::kill(pid1, SIGTERM);
  const std::optional<ExitStatus> status = daemon.WaitExit(seconds(60));
  ASSERT_TRUE(status.has_value()) << daemon.LogTail();
  EXPECT_TRUE(status->exited() && status->exit_code == 0) << status->ToString();
  EXPECT_TRUE(std::filesystem::exists(stopped_)) << daemon.LogTail();
}

}  // namespace
}  // namespace zkelect::test
