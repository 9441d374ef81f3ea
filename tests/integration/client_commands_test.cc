// The client subcommands (`zkelect status|leader|resign|wait|check`) and the
// HTTP health check, as real `zkelect` processes talking HTTP to real
// daemons on a real ZooKeeper ensemble.

#include <signal.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "integration/election_fixture.h"
#include "support/child_process.h"
#include "support/free_port.h"
#include "support/temp_dir.h"

namespace zkelect::test {
namespace {

// Bound on one client command (they bound their own requests at 5 s).
constexpr milliseconds kCommandTimeout{20'000};

class ClientCommandsTest : public ElectionFixture {
 protected:
  struct Outcome {
    std::optional<ExitStatus> status;  // nullopt: still running at the deadline (then killed)
    std::string output;                // stdout and stderr
    int exit_code() const { return status && status->exited() ? status->exit_code : -1; }
  };

  // Starts `zkelect <args> --addr 127.0.0.1:<port>` with a clean environment.
  void Spawn(ChildProcess& child, const std::string& output_path, uint16_t port,
             std::vector<std::string> args) {
    ChildSpec spec;
    spec.argv = {ZKELECT_BINARY};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.argv.push_back("--addr=127.0.0.1:" + std::to_string(port));
    spec.stdout_path = output_path;
    spec.drop_env_prefixes = {"ZKELECT_"};
    ASSERT_EQ(child.Spawn(spec), "");
  }

  Outcome Finish(ChildProcess& child, const std::string& output_path) {
    Outcome outcome;
    outcome.status = child.WaitExit(kCommandTimeout);
    if (!outcome.status) child.KillAndWait();
    outcome.output = ReadFileOrEmpty(output_path);
    return outcome;
  }

  // Runs a client command to its end.
  Outcome Run(uint16_t port, std::vector<std::string> args) {
    const std::string output = dir_.Sub("client-" + std::to_string(++runs_));
    ChildProcess child;
    Spawn(child, output, port, std::move(args));
    return Finish(child, output);
  }

  TempDir dir_{"client-commands"};
  int runs_ = 0;
};

TEST_F(ClientCommandsTest, EachCommandAgainstRealDaemons) {
  ASSERT_TRUE(StartDaemons(2));
  size_t leader = 0;
  ASSERT_TRUE(WaitForLeader(seconds(10), &leader));
  const size_t follower = 1 - leader;
  const uint16_t leader_port = daemon(leader).port();
  const uint16_t follower_port = daemon(follower).port();

  Outcome outcome = Run(leader_port, {"check", "leader"});
  EXPECT_EQ(outcome.exit_code(), 0) << outcome.output;
  outcome = Run(follower_port, {"check", "leader"});
  EXPECT_EQ(outcome.exit_code(), 1) << outcome.output;
  for (const char* probe : {"live", "ready"}) {
    outcome = Run(follower_port, {"check", probe});
    EXPECT_EQ(outcome.exit_code(), 0) << probe << ": " << outcome.output;
  }

  outcome = Run(follower_port, {"leader", "--json"});
  ASSERT_EQ(outcome.exit_code(), 0) << outcome.output;
  const nlohmann::json leader_view = nlohmann::json::parse(outcome.output, nullptr, false);
  ASSERT_TRUE(leader_view.is_object()) << outcome.output;
  EXPECT_EQ(leader_view["leader"]["id"], daemon(leader).id()) << outcome.output;

  outcome = Run(leader_port, {"status", "--json"});
  ASSERT_EQ(outcome.exit_code(), 0) << outcome.output;
  const nlohmann::json status = nlohmann::json::parse(outcome.output, nullptr, false);
  ASSERT_TRUE(status.is_object()) << outcome.output;
  EXPECT_EQ(status["role"], "leader") << outcome.output;

  // A long-poll that a resign on the leader ends: the follower takes over.
  const std::string wait_output = dir_.Sub("wait");
  ChildProcess waiter;
  Spawn(waiter, wait_output, follower_port, {"wait", "--leader", "--timeout=30s"});
  outcome = Run(leader_port, {"resign"});
  EXPECT_EQ(outcome.exit_code(), 0) << outcome.output;
  const Outcome waited = Finish(waiter, wait_output);
  EXPECT_EQ(waited.exit_code(), 0) << waited.output;
  outcome = Run(follower_port, {"check", "leader"});
  EXPECT_EQ(outcome.exit_code(), 0) << outcome.output;
}

TEST_F(ClientCommandsTest, UnreachableDaemonIsExitOneWithTheErrno) {
  const uint16_t port = PickFreePort();
  const Outcome outcome = Run(port, {"status"});
  EXPECT_EQ(outcome.exit_code(), 1) << outcome.output;
  EXPECT_NE(outcome.output.find("cannot connect to the daemon at 127.0.0.1:" +
                                std::to_string(port) + " (connection refused)"),
            std::string::npos)
      << outcome.output;
}

// health.http against a real HTTP server (another daemon's /healthz): healthy
// while it answers, unhealthy with the reason once it is gone; the checking
// daemon still stops promptly.
TEST_F(ClientCommandsTest, HttpHealthCheckFollowsARealServer) {
  ASSERT_TRUE(StartDaemons(1));
  const std::string url = "http://127.0.0.1:" + std::to_string(daemon(0).port()) + "/healthz";
  ZkelectProcess& checked =
      AddDaemon("checked", {"--health.http=" + url, "--health.interval=200ms",
                            "--health.timeout=2s", "--health.rise=1", "--health.fall=1"});
  ASSERT_TRUE(checked.Start());
  ASSERT_TRUE(WaitReady(checked, seconds(10)));
  nlohmann::json health = HttpGet(checked.port(), "/status").body["health"];
  EXPECT_EQ(health["healthy"], true) << health.dump();
  EXPECT_EQ(health.value("detail", "").rfind("HTTP 200", 0), 0u) << health.dump();

  daemon(0).Terminate();
  ASSERT_TRUE(daemon(0).WaitExit(seconds(10)).has_value());
  EXPECT_TRUE(WaitUntil(
      [&] {
        health = HttpGet(checked.port(), "/status").body["health"];
        return health.is_object() && health["healthy"] == false;
      },
      seconds(10)))
      << health.dump();
  EXPECT_EQ(health["detail"], "connection refused") << health.dump();

  const Clock::time_point stopping = Clock::now();
  checked.Terminate();
  const std::optional<ExitStatus> exit = checked.WaitExit(seconds(10));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0) << checked.LogTail();
  std::cout << "[ measure  ] daemon with an HTTP health check stopped in " << MillisSince(stopping)
            << " ms\n";
}

// Bug: the runbook checks a reload's outcome and a node's maintenance with
// `zkelect status`, which printed neither (only the JSON had them).
TEST_F(ClientCommandsTest, StatusShowsTheLastReloadAndTheMaintenance) {
  const std::string config = dir_.Sub("zkelect.toml");
  std::ofstream(config) << "[log]\nlevel = \"info\"\n";
  ZkelectProcess& d = AddDaemon("node-1", {"--config=" + config});
  ASSERT_TRUE(d.Start());
  ASSERT_TRUE(WaitReady(d, seconds(10)));

  std::ofstream(config) << "[log]\nlevel = \"inf\"\n";
  d.Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil(
      [&] {
        const nlohmann::json reload = HttpGet(d.port(), "/status").body["config"]["last_reload"];
        return reload.is_object() && reload.value("result", "") == "refused";
      },
      seconds(10)))
      << d.LogTail();
  Outcome outcome = Run(d.port(), {"status"});
  ASSERT_EQ(outcome.exit_code(), 0) << outcome.output;
  EXPECT_NE(outcome.output.find("config:    generation 1, last reload refused at "),
            std::string::npos)
      << outcome.output;
  EXPECT_NE(outcome.output.find("log.level = \"inf\""), std::string::npos) << outcome.output;

  ASSERT_EQ(Run(d.port(), {"withdraw"}).exit_code(), 0);
  outcome = Run(d.port(), {"status"});
  EXPECT_NE(outcome.output.find("withdrawn: for maintenance since 20"), std::string::npos)
      << outcome.output;
}

}  // namespace
}  // namespace zkelect::test
