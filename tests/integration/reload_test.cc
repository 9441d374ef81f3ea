// Live reload (issue 16 point 2, design §6): SIGHUP loads the configuration
// file again and applies what may change without leaving the election;
// a change that needs a restart, or a bad value, refuses the whole reload.
// Real zkelect processes against a real ZooKeeper.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "election_fixture.h"
#include "support/temp_dir.h"

namespace zkelect::test {
namespace {

using nlohmann::json;

class ReloadTest : public ElectionFixture {
 protected:
  // A daemon configured by a file alone (no flags besides the listener):
  // what the file says is what a reload reads again.
  ZkelectProcess& AddFileDaemon(const std::string& id, const std::string& toml) {
    ZkelectOptions options;
    options.id = id;
    options.standard_flags = false;
    options.extra_flags = {"--config=" + ConfigPath(id), "--http.listen=127.0.0.1:0"};
    WriteConfig(id, toml);
    daemons_.push_back(std::make_unique<ZkelectProcess>(options));
    return *daemons_.back();
  }

  std::string ConfigPath(const std::string& id) const { return dir_.Sub(id + ".toml"); }

  // The file of daemon `id`: the keys every test needs, then `toml`.
  void WriteConfig(const std::string& id, const std::string& toml) {
    const std::string tmp = ConfigPath(id) + ".tmp";
    std::ofstream(tmp) << "id = \"" << id << "\"\n"
                       << toml << "\n[zk]\nservers = \""
                       << (zk_servers_.empty() ? zk_.connect_string() : zk_servers_)
                       << "\"\nsession_timeout = \"" << kSessionTimeoutFlag << "\"\n"
                       << zk_extra_ << "\n[election]\npath = \"" << path_ << "\"\n";
    std::filesystem::rename(tmp, ConfigPath(id));
  }

  // Starts `daemon` and waits until it leads.
  ::testing::AssertionResult StartLeading(ZkelectProcess& daemon) {
    if (auto started = daemon.Start(); !started) return started;
    if (auto ready = WaitReady(daemon, seconds(30)); !ready) return ready;
    if (WaitUntil([&] { return HttpGet(daemon.port(), "/is-leader").status == 200; },
                  seconds(30))) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << daemon.id() << " does not lead\n" << daemon.LogTail();
  }

  static json Status(ZkelectProcess& daemon) {
    const HttpReply reply = HttpGet(daemon.port(), "/status");
    return reply.status == 200 ? reply.body : json();
  }

  // Reloads done so far (ok and refused), from /metrics; -1 when /metrics
  // did not answer.
  static int Reloads(ZkelectProcess& daemon) {
    const HttpReply reply = HttpGet(daemon.port(), "/metrics");
    if (reply.status != 200) return -1;
    const std::string body = reply.raw_body;
    int total = 0;
    for (const char* result : {"ok", "refused"}) {
      const std::string series =
          std::string("zkelect_config_reloads_total{result=\"") + result + "\"} ";
      const size_t at = body.find(series);
      if (at != std::string::npos) total += std::atoi(body.c_str() + at + series.size());
    }
    return total;
  }

  // Sends SIGHUP, waits for that reload to be done, and checks that /status
  // shows it with `result` at `generation`. Returns /status's "config".
  json ReloadAndWait(ZkelectProcess& daemon, const std::string& result, uint64_t generation) {
    int before = -1;
    EXPECT_TRUE(WaitUntil([&] { return (before = Reloads(daemon)) >= 0; }, seconds(30)))
        << "/metrics did not answer";
    daemon.Signal(SIGHUP);
    json last;
    const bool seen = WaitUntil(
        [&] {
          if (Reloads(daemon) <= before) return false;
          const json status = Status(daemon);
          if (!status.is_object() || !status["config"]["last_reload"].is_object()) return false;
          last = status["config"];
          return last["last_reload"]["result"] == result && last["generation"] == generation;
        },
        seconds(30));
    EXPECT_TRUE(seen) << "no reload with result " << result << " at generation " << generation
                      << "; last: " << last.dump() << "\n"
                      << daemon.LogTail();
    return last;
  }

  // The leader's epoch and its last transition, which a reload must not change.
  static std::string LeadershipOf(ZkelectProcess& daemon) {
    const json status = Status(daemon);
    return status["leader"]["epoch"].dump() + " " + status["last_transition"].dump();
  }

  TempDir dir_{"reload"};
  std::string zk_servers_;  // empty: the fixture's ensemble
  std::string zk_extra_;    // more keys of [zk]
};

// (a) A reload that changes the on_start hook and the log level while
// leading: no transition, the new log level at once, the new hook at the
// next election.
TEST_F(ReloadTest, HookAndLogLevelChangeWhileLeadingWithoutTransition) {
  const std::string marks = dir_.Sub("starts");
  const auto hooks = [&](const std::string& word, const std::string& level) {
    return "[hooks]\non_start = [\"/bin/sh\", \"-c\", \"echo " + word + " >> " + marks +
           "\"]\n[log]\nlevel = \"" + level + "\"\n";
  };
  ZkelectProcess& node = AddFileDaemon("node-1", hooks("old", "info"));
  ASSERT_TRUE(node.Start());
  ASSERT_TRUE(WaitReady(node, seconds(30)));
  ASSERT_TRUE(WaitUntil([&] { return ReadFileOrEmpty(marks) == "old\n"; }, seconds(30)))
      << node.LogTail();
  const std::string leadership = LeadershipOf(node);

  WriteConfig("node-1", hooks("new", "debug"));
  ReloadAndWait(node, "ok", 2);
  EXPECT_NE(node.log_text().find("configuration reloaded (generation 2): changed hooks.on_start, "
                                 "log.level"),
            std::string::npos)
      << node.LogTail();
  EXPECT_EQ(HttpGet(node.port(), "/is-leader").status, 200);
  EXPECT_EQ(LeadershipOf(node), leadership) << "a reload made a transition";
  EXPECT_EQ(ReadFileOrEmpty(marks), "old\n") << "a reload ran on_start";
  // Debug lines now: every HTTP request logs one at debug.
  EXPECT_TRUE(WaitUntil(
      [&] {
        HttpGet(node.port(), "/healthz");
        return node.log_text().find(" debug ") != std::string::npos;
      },
      seconds(30)))
      << node.LogTail();

  // The next election (a resign, then the rejoin) runs the new hook.
  ASSERT_EQ(HttpPost(node.port(), "/resign", seconds(30)).status, 200) << node.LogTail();
  EXPECT_TRUE(WaitUntil([&] { return ReadFileOrEmpty(marks) == "old\nnew\n"; }, seconds(30)))
      << ReadFileOrEmpty(marks) << node.LogTail();
}

// (b) zk.servers needs a new session: refused, the old one kept, still leading.
TEST_F(ReloadTest, ZkServersChangeIsRefusedAndTheOldOneKept) {
  ZkelectProcess& node = AddFileDaemon("node-1", "");
  ASSERT_TRUE(StartLeading(node));
  const std::string leadership = LeadershipOf(node);
  const std::string old_servers = zk_.connect_string();

  zk_servers_ = "127.0.0.1:1";
  WriteConfig("node-1", "");
  const json config = ReloadAndWait(node, "refused", 1);
  const std::string error = config["last_reload"]["error"];
  EXPECT_NE(error.find("zk.servers = \"127.0.0.1:1\" (running: \"" + old_servers + "\")"),
            std::string::npos)
      << error;
  EXPECT_NE(node.log_text().find("configuration reload refused: zk.servers"), std::string::npos)
      << node.LogTail();
  EXPECT_TRUE(node.running());
  EXPECT_EQ(Status(node)["session"]["servers"], old_servers);
  EXPECT_EQ(HttpGet(node.port(), "/is-leader").status, 200);
  EXPECT_EQ(LeadershipOf(node), leadership);
  EXPECT_NE(HttpGet(node.port(), "/metrics")
                .raw_body.find("zkelect_config_reloads_total{result=\"refused\"} 1"),
            std::string::npos);
}

// (c) A bad value: refused with the loader's one line (key, value, where,
// expectation), and a secret in the refused file is never echoed.
TEST_F(ReloadTest, BadValueIsRefusedWithOneLineAndTheDaemonRunsOn) {
  ZkelectProcess& node = AddFileDaemon("node-1", "");
  ASSERT_TRUE(StartLeading(node));

  WriteConfig("node-1", "[hooks]\ntimeout = \"soon\"\n");
  json config = ReloadAndWait(node, "refused", 1);
  const std::string error = config["last_reload"]["error"];
  EXPECT_NE(error.find("hooks.timeout = \"soon\" (from " + ConfigPath("node-1")), std::string::npos)
      << error;
  EXPECT_NE(error.find("expected a duration"), std::string::npos) << error;

  // zk.auth needs a new session, and its value is a secret.
  zk_extra_ = "auth = \"digest:user:hunter2-secret\"\n";
  WriteConfig("node-1", "");
  config = ReloadAndWait(node, "refused", 1);
  EXPECT_NE(config["last_reload"]["error"].get<std::string>().find("zk.auth = *** (running: \"\")"),
            std::string::npos)
      << config.dump();
  EXPECT_EQ(config.dump().find("hunter2"), std::string::npos) << config.dump();
  EXPECT_EQ(node.log_text().find("hunter2"), std::string::npos) << node.LogTail();

  EXPECT_TRUE(node.running());
  EXPECT_EQ(HttpGet(node.port(), "/is-leader").status, 200);
}

// Bug (CI, 1 in 40 runs of BadValueIsRefusedWithOneLineAndTheDaemonRunsOn):
// zkelect_config_reloads_total moved before /status showed the reload, so a
// client that saw the count move could read the previous reload's outcome.
// Reloads, good and bad in turn; at the first moment each one is counted,
// /status must show it.
TEST_F(ReloadTest, AReloadIsInStatusOnceItIsCounted) {
  ZkelectProcess& node = AddFileDaemon("node-1", "");
  ASSERT_TRUE(StartLeading(node));
  constexpr int kReloads = 80;
  uint64_t generation = 1;
  int behind = 0;
  std::string first_behind;
  for (int i = 1; i <= kReloads; ++i) {
    const bool good = i % 2 == 0;
    WriteConfig("node-1", good ? "" : "[hooks]\ntimeout = \"soon\"\n");
    if (good) ++generation;
    node.Signal(SIGHUP);
    ASSERT_TRUE(WaitUntil([&] { return Reloads(node) >= i; }, seconds(30), milliseconds(1)))
        << "reload " << i << " was never counted\n"
        << node.LogTail();
    const json config = Status(node)["config"];
    if (config["generation"] != generation ||
        config["last_reload"]["result"] != (good ? "ok" : "refused")) {
      if (behind++ == 0) {
        first_behind = "reload " + std::to_string(i) + " (" + (good ? "ok" : "refused") +
                       ", generation " + std::to_string(generation) + "): " + config.dump();
      }
    }
  }
  EXPECT_EQ(behind, 0) << behind << " of " << kReloads
                       << " reloads were counted before /status showed them; first: "
                       << first_behind;
  EXPECT_EQ(Reloads(node), kReloads);
}

// Bug: a reload that dropped http.token_file opened POST /resign, /withdraw
// and /join on loopback to every local user without the warning a start
// gives in that setup; and the warning named /resign alone.
TEST_F(ReloadTest, ReloadThatDropsTheTokenWarnsThatPostEndpointsAreOpen) {
  const std::string kWarning = "are open to every user of this host";
  const std::string token = dir_.Sub("token");
  std::ofstream(token) << "s3cret-token\n";
  ::chmod(token.c_str(), 0600);
  ZkelectProcess& node = AddFileDaemon("node-1", "[http]\ntoken_file = \"" + token + "\"\n");
  ASSERT_TRUE(StartLeading(node));
  EXPECT_EQ(node.log_text().find(kWarning), std::string::npos) << node.LogTail();

  WriteConfig("node-1", "");
  ReloadAndWait(node, "ok", 2);
  const std::string log = node.log_text();
  const size_t warning = log.find(kWarning);
  ASSERT_NE(warning, std::string::npos) << node.LogTail();
  const std::string line = log.substr(log.rfind('\n', warning) + 1);
  EXPECT_NE(line.substr(0, line.find('\n')).find("/withdraw"), std::string::npos) << line;
}

// (d) An address change reaches a follower's /leader through the watch it
// holds on the leader's node, without a leader change.
TEST_F(ReloadTest, AddressChangeReachesAFollowersLeader) {
  ZkelectProcess& leader = AddFileDaemon("node-1", "address = \"10.0.0.1:8080\"\n");
  ASSERT_TRUE(StartLeading(leader));
  ZkelectProcess& follower = AddDaemon("node-2");
  ASSERT_TRUE(follower.Start());
  ASSERT_TRUE(WaitReady(follower, seconds(30)));
  const auto follower_sees = [&](const std::string& address) {
    const HttpReply reply = HttpGet(follower.port(), "/leader");
    json body = reply.body;
    return reply.status == 200 && body.is_object() && body["leader"]["id"] == "node-1" &&
           body["leader"]["address"] == address;
  };
  ASSERT_TRUE(WaitUntil([&] { return follower_sees("10.0.0.1:8080"); }, seconds(30)));
  const std::string leadership = LeadershipOf(leader);

  WriteConfig("node-1", "address = \"10.0.0.2:9090\"\n");
  ReloadAndWait(leader, "ok", 2);
  EXPECT_TRUE(WaitUntil([&] { return follower_sees("10.0.0.2:9090"); }, seconds(30)))
      << HttpGet(follower.port(), "/leader").raw_body << "\n"
      << follower.LogTail();
  EXPECT_EQ(LeadershipOf(leader), leadership);
  // The leader's own view changes when its write is answered, which may come
  // after the follower's watch fired.
  EXPECT_TRUE(WaitUntil([&] { return Status(leader)["leader"]["address"] == "10.0.0.2:9090"; },
                        seconds(30)))
      << Status(leader).dump();
  EXPECT_EQ(LeadershipOf(leader), leadership) << "the answer to the leader's write changed nothing";
}

}  // namespace
}  // namespace zkelect::test
