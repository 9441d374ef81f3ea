#include "zkelect/client/commands.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_election_control.h"
#include "support/free_port.h"
#include "support/http_probe.h"
#include "support/temp_dir.h"
#include "zkelect/election/election_control.h"
#include "zkelect/election/node_data.h"
#include "zkelect/election/state_board.h"
#include "zkelect/http/api_json.h"
#include "zkelect/http/http_server.h"
#include "zkelect/metrics/metrics.h"

namespace zkelect {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using ResignOutcome = ElectionControl::ResignOutcome;

constexpr char kVersion[] = "9.9.9";
constexpr char kToken[] = "s3cret-token";

using testing::FakeElectionControl;

Snapshot FollowerSnapshot() {
  Snapshot snapshot;
  snapshot.id = "node-a";
  snapshot.role = Role::kFollower;
  snapshot.session.state = "connected";
  snapshot.session.session_id = 0x10000156f9f0001;
  snapshot.session.negotiated_timeout = seconds(4);
  snapshot.session.servers = "127.0.0.1:2181";
  snapshot.election_path = "/demo/e";
  snapshot.own_node = "_c_aaaa-latch-0000000002";
  snapshot.position = 1;
  snapshot.candidates = {"_c_bbbb-latch-0000000001", "_c_aaaa-latch-0000000002"};
  LeaderView leader;
  leader.identity.id = "node-b";
  leader.identity.address = "10.0.0.2:8080";
  leader.node = "_c_bbbb-latch-0000000001";
  leader.epoch = 77;
  leader.since = std::chrono::system_clock::time_point(milliseconds(1'700'000'000'123));
  snapshot.leader = leader;
  snapshot.no_leader_reason.clear();
  snapshot.ready = true;
  return snapshot;
}

Snapshot LeaderSnapshot() {
  Snapshot snapshot = FollowerSnapshot();
  snapshot.role = Role::kLeader;
  snapshot.own_node = "_c_aaaa-latch-0000000003";
  snapshot.position = 0;
  snapshot.candidates = {"_c_aaaa-latch-0000000003"};
  snapshot.leader->identity.id = "node-a";
  snapshot.leader->identity.address = "";
  snapshot.leader->node = "_c_aaaa-latch-0000000003";
  snapshot.leader->epoch = 78;
  TransitionView transition;
  transition.time = std::chrono::system_clock::time_point(milliseconds(1'700'000'001'000));
  transition.from = Role::kFollower;
  transition.to = Role::kLeader;
  transition.reason = Reason::kElected;
  snapshot.last_transition = transition;
  return snapshot;
}

Snapshot NoLeaderSnapshot() {
  Snapshot snapshot;
  snapshot.id = "node-a";
  snapshot.role = Role::kDisconnected;
  snapshot.session.state = "connecting";
  snapshot.election_path = "/demo/e";
  snapshot.no_leader_reason = "no_session";
  return snapshot;
}

// Whether `text` contains `part`, showing `text` when not.
::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// What one command printed and returned.
struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

// Parses `args` (after the program name) as main() does and runs the client
// command with `env` as the whole environment. `default_config` stands for
// /etc/zkelect/zkelect.toml (by default a path that does not exist, so that
// the test machine's file cannot change the results).
Outcome RunCommand(const std::vector<std::string>& args, const Environment& env = {},
                   const std::string& default_config = "/nonexistent/zkelect.toml") {
  CLI::App app;
  app.require_subcommand(1);
  ClientOptions options;
  options.default_config_path = default_config;
  AddClientCommands(app, &options);
  std::vector<const char*> argv = {"zkelect"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  Outcome outcome;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    outcome.code = 2;
    outcome.err = e.what();
    return outcome;
  }
  std::ostringstream out;
  std::ostringstream err;
  outcome.code = RunClientCommand(app, options, env, out, err);
  outcome.out = out.str();
  outcome.err = err.str();
  return outcome;
}

std::string WriteFile(const test::TempDir& dir, const std::string& name,
                      const std::string& content) {
  const std::string path = dir.Sub(name);
  std::ofstream(path) << content;
  return path;
}

class CommandsTest : public ::testing::Test {
 protected:
  ~CommandsTest() override { StopServer(); }

  // `socket_path`: a unix: listener there too.
  void StartServer(const std::string& token = "", const std::string& socket_path = "") {
    HttpConfig config;
    config.listen = {"127.0.0.1:0"};
    if (!socket_path.empty()) config.listen.push_back("unix:" + socket_path);
    config.max_waiters = 4;
    if (!token.empty()) {
      config.token_file = "/etc/zkelect/token";
      config.token = token;
    }
    server_ = std::make_unique<HttpServer>(config, board_, control_, metrics_, kVersion);
    const Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.message();
  }

  void StopServer() {
    board_.Close();
    if (server_) server_->Stop();
  }

  std::string Address() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  // Runs `args` against this test's server.
  Outcome Run(std::vector<std::string> args, const Environment& env = {}) {
    args.push_back("--addr");
    args.push_back(Address());
    return RunCommand(args, env);
  }

  // Waits (bounded) until `count` long-polls are parked in the server.
  bool AwaitParkedWaiters(int count) {
    const auto deadline = steady_clock::now() + seconds(10);
    while (server_->waiters() < count) {
      if (steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(milliseconds(1));
    }
    return true;
  }

  StateBoard board_{FollowerSnapshot()};
  FakeElectionControl control_;
  Metrics metrics_;
  std::unique_ptr<HttpServer> server_;
};

// --- status -----------------------------------------------------------------

TEST_F(CommandsTest, StatusPrintsAlignedLines) {
  control_.SetNodeData("_c_bbbb-latch-0000000001",
                       EncodeNodeData(NodeIdentity{"node-b", "10.0.0.2:8080", {}}));
  control_.SetNodeData("_c_aaaa-latch-0000000002", EncodeNodeData(NodeIdentity{"node-a", "", {}}));
  StartServer();
  const Outcome result = Run({"status"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.out,
            "id:        node-a\n"
            "role:      follower\n"
            "leader:    node-b 10.0.0.2:8080 (epoch 77, node _c_bbbb-latch-0000000001, since "
            "2023-11-14T22:13:20.123Z)\n"
            "session:   connected 0x10000156f9f0001, timeout 4s, servers 127.0.0.1:2181\n"
            "election:  /demo/e, position 1 of 2\n"
            "candidate: node-b 10.0.0.2:8080 (node _c_bbbb-latch-0000000001, leader)\n"
            "candidate: node-a - (node _c_aaaa-latch-0000000002, this node)\n"
            "ready:     yes\n"
            "version:   9.9.9\n");
}

// A node whose data cannot be read (gone, or an ACL that denies us) is still
// listed, by its node name, and says why its id is missing.
TEST_F(CommandsTest, StatusListsACandidateWhoseIdCannotBeRead) {
  control_.SetNodeData("_c_aaaa-latch-0000000002", EncodeNodeData(NodeIdentity{"node-a", "", {}}));
  StartServer();
  const Outcome result = Run({"status"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out,
                       "candidate: ? (node _c_bbbb-latch-0000000001, id unreadable, leader)\n"));
  EXPECT_TRUE(
      Contains(result.out, "candidate: node-a - (node _c_aaaa-latch-0000000002, this node)\n"));
}

TEST_F(CommandsTest, StatusShowsLastTransitionAndNoLeader) {
  StartServer();
  board_.Publish(LeaderSnapshot());
  Outcome result = Run({"status"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out, "leader:    node-a (epoch 78, node _c_aaaa-latch-0000000003"));
  EXPECT_TRUE(
      Contains(result.out, "changed:   2023-11-14T22:13:21.000Z follower -> leader (elected)\n"));

  board_.Publish(NoLeaderSnapshot());
  result = Run({"status"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out, "role:      disconnected\n"));
  EXPECT_TRUE(Contains(result.out, "leader:    none\n"));
  EXPECT_TRUE(Contains(result.out, "session:   connecting\n"));
  EXPECT_TRUE(Contains(result.out, "election:  /demo/e, not a candidate (0 candidates)\n"));
  EXPECT_TRUE(Contains(result.out, "ready:     no\n"));
}

TEST_F(CommandsTest, StatusShowsHooksAndHealthWhenConfigured) {
  Snapshot snapshot = LeaderSnapshot();
  snapshot.health.enabled = true;
  snapshot.health.healthy = false;
  snapshot.health.detail = "exit status 1";
  snapshot.hooks.configured = true;
  snapshot.hooks.running = "on_stop";
  HookResultView last;
  last.hook = "on_start";
  last.reason = "elected";
  last.ok = true;
  last.result = "exit status 0";
  last.duration = milliseconds(1250);
  last.finished = std::chrono::system_clock::time_point(milliseconds(1'700'000'002'000));
  snapshot.hooks.last = last;
  board_.Publish(snapshot);
  StartServer();
  Outcome result = Run({"status"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out, "\nhealth:    unhealthy: exit status 1\n"));
  EXPECT_TRUE(Contains(result.out,
                       "\nhooks:     running on_stop, last on_start (elected) ok: exit status 0 "
                       "in 1s250ms at 2023-11-14T22:13:22.000Z\n"));

  // Neither line without hooks and health.
  board_.Publish(FollowerSnapshot());
  result = Run({"status"});
  EXPECT_FALSE(Contains(result.out, "health:"));
  EXPECT_FALSE(Contains(result.out, "hooks:"));
}

TEST_F(CommandsTest, StatusShowsPriorityAndAPendingPreemption) {
  Snapshot snapshot = LeaderSnapshot();
  snapshot.priority = 3;
  snapshot.preempt.enabled = true;
  snapshot.preempt.delay = std::chrono::seconds(10);
  snapshot.preempt.effective_delay = std::chrono::seconds(20);
  snapshot.preempt.pending = Snapshot::Preemption::Pending{
      "_c_cccc-latch-0000000009", "db-\u202ea1", 10,
      std::chrono::system_clock::time_point(milliseconds(1'700'000'002'000))};
  board_.Publish(snapshot);
  StartServer();
  Outcome result = Run({"status"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out, "\npriority:  3, preemption after 20s; handing over to db-"))
      << result.out;
  EXPECT_TRUE(Contains(result.out, " (priority 10) at 2023-11-14T22:13:22.000Z\n")) << result.out;
  EXPECT_FALSE(Contains(result.out, "\u202e")) << "a bidi override reached the terminal";

  board_.Publish(FollowerSnapshot());  // priority 0, no preemption: no line
  result = Run({"status"});
  EXPECT_FALSE(Contains(result.out, "priority:"));
}

TEST_F(CommandsTest, StatusOfAnObserver) {
  Snapshot observer = FollowerSnapshot();
  observer.role = Role::kObserver;
  observer.campaign = false;
  observer.own_node.reset();
  observer.position.reset();
  observer.candidates = {"_c_bbbb-latch-0000000001"};
  board_.Publish(observer);
  StartServer();
  const Outcome result = Run({"status"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out, "election:  /demo/e, observer (1 candidates)\n"));
}

TEST_F(CommandsTest, StatusJsonPrintsTheBodyAsIsOnOneLine) {
  StartServer();
  const Outcome result = Run({"status", "--json"});
  EXPECT_EQ(result.code, 0) << result.err;
  const StateBoard::View view = board_.Current();
  const CandidateId unreadable{CandidateId::State::kUnreadable, "", ""};  // the fake has no data
  EXPECT_EQ(result.out, StatusBody(*view.snapshot, view.index, kVersion, HttpStats{0, 4},
                                   CandidateIds{unreadable, unreadable}) +
                            "\n");
}

// Ids come from other ZooKeeper clients' data: a terminal must not see their
// control characters.
TEST_F(CommandsTest, HumanOutputEscapesControlCharacters) {
  Snapshot snapshot = FollowerSnapshot();
  snapshot.leader->identity.id = "evil\n\x1b[31mred\xc2\x9b";
  board_.Publish(snapshot);
  control_.SetNodeData("_c_bbbb-latch-0000000001", "evil\n\x1b[31mred\xc2\x9b");  // foreign data
  StartServer();

  Outcome result = Run({"leader"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "evil\\x0a\\x1b[31mred\\x9b 10.0.0.2:8080 epoch 77\n");

  result = Run({"status"});
  EXPECT_TRUE(Contains(result.out, "leader:    evil\\x0a\\x1b[31mred\\x9b 10.0.0.2:8080"));
  EXPECT_TRUE(Contains(result.out, "candidate: evil\\x0a\\x1b[31mred\\x9b - (node "));
  EXPECT_EQ(result.out.find('\x1b'), std::string::npos);

  result = Run({"leader", "--json"});  // JSON escapes them itself
  EXPECT_EQ(json::parse(result.out)["leader"]["id"], "evil\n\x1b[31mred\xc2\x9b");
}

// A foreign id with a bidirectional override (U+202E, "Trojan Source")
// printed raw: the terminal showed the rest of the line reversed, so a
// candidate line could read as another node's. Bidi controls are escaped too.
TEST_F(CommandsTest, HumanOutputEscapesBidiOverridesInIds) {
  const std::string id =
      "node-\xe2\x80\xae"
      "1-edon\xe2\x81\xa6x\xe2\x81\xa9";
  Snapshot snapshot = FollowerSnapshot();
  snapshot.leader->identity.id = id;
  board_.Publish(snapshot);
  control_.SetNodeData("_c_bbbb-latch-0000000001", id);  // foreign data
  StartServer();

  const Outcome result = Run({"status"});
  EXPECT_TRUE(Contains(result.out, "leader:    node-\\u202e1-edon\\u2066x\\u2069 10.0.0.2:8080"))
      << result.out;
  EXPECT_TRUE(Contains(result.out, "candidate: node-\\u202e1-edon\\u2066x\\u2069 - (node "))
      << result.out;
  EXPECT_EQ(result.out.find("\xe2\x80\xae"), std::string::npos);
}

// --- leader -----------------------------------------------------------------

TEST_F(CommandsTest, LeaderPrintsOneLine) {
  StartServer();
  const Outcome result = Run({"leader"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "node-b 10.0.0.2:8080 epoch 77\n");
}

TEST_F(CommandsTest, LeaderOnTheLeaderSaysThisNodeAndDashForNoAddress) {
  board_.Publish(LeaderSnapshot());
  StartServer();
  const Outcome result = Run({"leader"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "node-a - epoch 78 (this node)\n");
}

TEST_F(CommandsTest, NoLeaderExitsOneWithTheReason) {
  board_.Publish(NoLeaderSnapshot());
  StartServer();
  Outcome result = Run({"leader"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.out, "no leader (no_session)\n");

  result = Run({"leader", "--json"});
  EXPECT_EQ(result.code, 1);
  const json body = json::parse(result.out);
  EXPECT_TRUE(body["leader"].is_null());
  EXPECT_EQ(body["reason"], "no_session");
}

TEST_F(CommandsTest, LeaderJsonPrintsTheBody) {
  StartServer();
  const Outcome result = Run({"leader", "--json"});
  EXPECT_EQ(result.code, 0) << result.err;
  const StateBoard::View view = board_.Current();
  EXPECT_EQ(result.out, LeaderBody(*view.snapshot, view.index) + "\n");
}

// --- resign -----------------------------------------------------------------

TEST_F(CommandsTest, ResignSendsTheHoldAndReportsDone) {
  StartServer();
  Outcome result = Run({"resign", "--hold", "1m30s"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out, "resigned"));
  EXPECT_TRUE(Contains(result.out, "after 1m30s"));

  result = Run({"resign", "--json"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(json::parse(result.out), json::parse(R"({"resigned": true, "hold_ms": 0})"));
  EXPECT_EQ(control_.holds(), (std::vector<milliseconds>{seconds(90), milliseconds(0)}));
}

TEST_F(CommandsTest, WithdrawAndJoinPostAndReportDone) {
  StartServer();
  Outcome result = Run({"withdraw"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out, "withdrawn for maintenance"));
  result = Run({"join", "--json"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(json::parse(result.out), json::parse(R"({"maintenance": false})"));
  EXPECT_EQ(control_.maintenance_calls(), (std::vector<bool>{true, false}));
}

// Found by the issue-16 review: a join while the health check failed was
// answered at once (the health gate keeps the node out), and the command said
// "back in the election" of a node that was not.
TEST_F(CommandsTest, JoinWhileTheHealthCheckFailsSaysTheNodeStaysOutUntilItPasses) {
  Snapshot snapshot = FollowerSnapshot();
  snapshot.role = Role::kWithdrawn;
  snapshot.own_node.reset();
  snapshot.position.reset();
  snapshot.health = HealthView{true, false, "exit status 1"};
  board_.Publish(snapshot);
  StartServer();
  const Outcome result = Run({"join"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out, "the health check fails")) << result.out;
  EXPECT_FALSE(Contains(result.out, "back in the election")) << result.out;
}

TEST_F(CommandsTest, WithdrawOnAnObserverAndWithoutTheTokenAreRefused) {
  control_.AnswerWith(ResignOutcome::kObserver);
  StartServer();
  Outcome result = Run({"withdraw"});
  EXPECT_EQ(result.code, 1);
  EXPECT_TRUE(Contains(result.err, "zkelect withdraw: this node is an observer")) << result.err;
  server_.reset();
  StartServer(kToken);
  result = Run({"join"});
  EXPECT_EQ(result.code, 1);
  EXPECT_TRUE(Contains(result.err, "--token-file")) << result.err;
}

TEST_F(CommandsTest, ResignOnAFollowerPrintsTheDaemonsMessage) {
  control_.AnswerWith(ResignOutcome::kNotLeader);
  StartServer();
  Outcome result = Run({"resign"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err,
            "zkelect resign: this node is not the leader (role: follower): expected POST /resign "
            "on the leader\n");

  result = Run({"resign", "--json"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(json::parse(result.out)["error"]["code"], "not_leader");
}

TEST_F(CommandsTest, ResignWithABadHoldIsAUsageErrorAndSendsNothing) {
  StartServer();
  const Outcome result = Run({"resign", "--hold", "5x"});
  EXPECT_EQ(result.code, 2);
  EXPECT_TRUE(Contains(result.err, "--hold = \"5x\": expected a duration"));
  EXPECT_TRUE(control_.holds().empty());
}

TEST_F(CommandsTest, ResignWithoutTheTokenIsRefused) {
  StartServer(kToken);
  const Outcome result = Run({"resign"});
  EXPECT_EQ(result.code, 1);
  EXPECT_TRUE(Contains(result.err, "Authorization: Bearer"));
  EXPECT_TRUE(Contains(result.err, "--token-file"));
  EXPECT_TRUE(control_.holds().empty());
}

TEST_F(CommandsTest, ResignSendsTheTokenFromEachSource) {
  StartServer(kToken);
  const test::TempDir dir("zkelect-client");
  const std::string token_file = WriteFile(dir, "token", std::string(kToken) + "\n");
  const std::string config =
      WriteFile(dir, "zkelect.toml",
                "[http]\nlisten = \"" + Address() + "\"\ntoken_file = \"" + token_file + "\"\n");

  Outcome result = Run({"resign", "--token-file", token_file});
  EXPECT_EQ(result.code, 0) << result.err;
  result = Run({"resign"}, {{"ZKELECT_HTTP_TOKEN_FILE", token_file}});
  EXPECT_EQ(result.code, 0) << result.err;
  // The address comes from the configuration file too.
  result = RunCommand({"resign", "--config", config});
  EXPECT_EQ(result.code, 0) << result.err;
  result = RunCommand({"resign"}, {{"ZKELECT_CONFIG", config}});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(control_.holds().size(), 4u);
}

TEST_F(CommandsTest, UnreadableTokenFileIsAUsageErrorNamingTheFlag) {
  StartServer(kToken);
  const Outcome result = Run({"resign", "--token-file", "/nonexistent/token"});
  EXPECT_EQ(result.code, 2);
  EXPECT_TRUE(Contains(result.err, "\"/nonexistent/token\" (from --token-file)"));
  EXPECT_TRUE(control_.holds().empty());
}

// Read-only commands never need the token, so a probe works without access
// to the secret.
TEST_F(CommandsTest, ReadOnlyCommandsDoNotReadTheTokenFile) {
  StartServer(kToken);
  const Outcome result =
      Run({"check", "ready"}, {{"ZKELECT_HTTP_TOKEN_FILE", "/nonexistent/token"}});
  EXPECT_EQ(result.code, 0) << result.err;
}

// --- wait -------------------------------------------------------------------

TEST_F(CommandsTest, WaitReturnsAtOnceWhenTheConditionHolds) {
  StartServer();
  const Outcome result = Run({"wait", "--follower", "--timeout", "5s"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "role: follower, leader: node-b 10.0.0.2:8080 epoch 77\n");
}

TEST_F(CommandsTest, WaitLeaderReturnsSoonAfterThePublish) {
  StartServer();
  auto waiting = std::async(std::launch::async, [this] {
    return Run({"wait", "--leader", "--timeout", "30s"});
  });
  ASSERT_TRUE(AwaitParkedWaiters(1));
  const auto published = steady_clock::now();
  board_.Publish(LeaderSnapshot());
  ASSERT_EQ(waiting.wait_for(seconds(5)), std::future_status::ready);
  EXPECT_LT(steady_clock::now() - published, seconds(2));
  const Outcome result = waiting.get();
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "role: leader, leader: node-a - epoch 78\n");
}

// Without --timeout the wait has no end of its own: it keeps long-polling.
TEST_F(CommandsTest, WaitWithoutTimeoutWaitsForTheChange) {
  board_.Publish(LeaderSnapshot());
  StartServer();
  auto waiting = std::async(std::launch::async, [this] { return Run({"wait", "--follower"}); });
  ASSERT_TRUE(AwaitParkedWaiters(1));
  board_.Publish(FollowerSnapshot());
  ASSERT_EQ(waiting.wait_for(seconds(5)), std::future_status::ready);
  EXPECT_EQ(waiting.get().code, 0);
}

TEST_F(CommandsTest, WaitChangeIgnoresOtherChangesAndReturnsOnANewLeader) {
  StartServer();
  auto waiting = std::async(std::launch::async, [this] {
    return Run({"wait", "--change", "--timeout", "30s", "--json"});
  });
  ASSERT_TRUE(AwaitParkedWaiters(1));

  // Same leader, other details: the wait goes on (parks again).
  Snapshot unready = FollowerSnapshot();
  unready.ready = false;
  const uint64_t before = board_.Current().index;
  board_.Publish(unready);
  ASSERT_TRUE(test::WaitUntil(
      [&] { return server_->waiters() == 1 && board_.Current().index > before; }, seconds(10)));
  ASSERT_EQ(waiting.wait_for(milliseconds(200)), std::future_status::timeout);

  Snapshot next = FollowerSnapshot();
  next.leader->node = "_c_cccc-latch-0000000004";
  next.leader->epoch = 90;
  board_.Publish(next);
  ASSERT_EQ(waiting.wait_for(seconds(5)), std::future_status::ready);
  const Outcome result = waiting.get();
  EXPECT_EQ(result.code, 0) << result.err;
  const json body = json::parse(result.out);
  EXPECT_EQ(body["leader"]["epoch"], 90);
  EXPECT_EQ(body["index"], board_.Current().index);
}

TEST_F(CommandsTest, WaitChangeCountsTheLeaderGoingAway) {
  StartServer();
  auto waiting = std::async(std::launch::async, [this] {
    return Run({"wait", "--change", "--timeout", "30s"});
  });
  ASSERT_TRUE(AwaitParkedWaiters(1));
  board_.Publish(NoLeaderSnapshot());
  ASSERT_EQ(waiting.wait_for(seconds(5)), std::future_status::ready);
  const Outcome result = waiting.get();
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "role: disconnected, leader: none\n");
}

TEST_F(CommandsTest, WaitTimesOutWithExitOne) {
  StartServer();
  const auto start = steady_clock::now();
  const Outcome result = Run({"wait", "--leader", "--timeout", "300ms"});
  const auto took = steady_clock::now() - start;
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_TRUE(Contains(result.err, "zkelect wait: timed out after 300ms; role: follower"));
  EXPECT_GE(took, milliseconds(300));
  EXPECT_LT(took, seconds(5));
}

TEST_F(CommandsTest, WaitNeedsExactlyOneCondition) {
  StartServer();
  EXPECT_EQ(Run({"wait"}).code, 2);
  EXPECT_EQ(Run({"wait", "--leader", "--follower"}).code, 2);
  EXPECT_EQ(Run({"wait", "--leader", "--change"}).code, 2);
  const Outcome result = Run({"wait", "--leader", "--timeout", "soon"});
  EXPECT_EQ(result.code, 2);
  EXPECT_TRUE(Contains(result.err, "--timeout = \"soon\": expected a duration"));
}

// --- check ------------------------------------------------------------------

TEST_F(CommandsTest, CheckAnswersEachProbe) {
  StartServer();
  struct Case {
    Snapshot snapshot;
    bool responsive;
    std::string probe;
    int code;
    std::string out;
  };
  Snapshot unready = FollowerSnapshot();
  unready.ready = false;
  unready.session.state = "connecting";
  const std::vector<Case> cases = {
      {FollowerSnapshot(), true, "live", 0, "live: yes\n"},
      {FollowerSnapshot(), false, "live", 1, "live: no (unresponsive)\n"},
      {FollowerSnapshot(), true, "ready", 0, "ready: yes\n"},
      {unready, true, "ready", 1, "ready: no (session_connecting)\n"},
      {LeaderSnapshot(), true, "leader", 0, "leader: yes\n"},
      {FollowerSnapshot(), true, "leader", 1, "leader: no (role follower)\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.probe + " -> " + c.out);
    board_.Publish(c.snapshot);
    control_.set_responsive(c.responsive);
    const Outcome result = Run({"check", c.probe});
    EXPECT_EQ(result.code, c.code) << result.err;
    EXPECT_EQ(result.out, c.out);
    EXPECT_EQ(result.err, "");
  }
}

TEST_F(CommandsTest, CheckJsonPrintsTheBody) {
  StartServer();
  const Outcome result = Run({"check", "leader", "--json"});
  EXPECT_EQ(result.code, 1);
  const json body = json::parse(result.out);
  EXPECT_EQ(body["leader"], false);
  EXPECT_EQ(body["role"], "follower");
}

TEST_F(CommandsTest, CheckRejectsAnUnknownProbe) {
  StartServer();
  EXPECT_EQ(Run({"check", "alive"}).code, 2);
  EXPECT_EQ(Run({"check"}).code, 2);
}

// --- finding the daemon -----------------------------------------------------

TEST(CommandsUnreachableTest, EveryCommandExitsOneNamingTheAddress) {
  const std::string address = "127.0.0.1:" + std::to_string(test::PickFreePort());
  const std::vector<std::vector<std::string>> commands = {
      {"status"},        {"leader"},         {"resign"},          {"wait", "--leader"},
      {"check", "live"}, {"check", "ready"}, {"check", "leader"}, {"status", "--json"},
  };
  for (std::vector<std::string> args : commands) {
    SCOPED_TRACE(args.front());
    args.push_back("--addr");
    args.push_back(address);
    const Outcome result = RunCommand(args);
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(result.out, "");
    EXPECT_TRUE(Contains(result.err, "cannot connect to the daemon at " + address));
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  }
}

TEST(CommandsUnreachableTest, TheMessageSaysWhereTheAddressCameFrom) {
  const std::string address = "127.0.0.1:" + std::to_string(test::PickFreePort());
  const Outcome result = RunCommand({"status"}, {{"ZKELECT_HTTP_LISTEN", address}});
  EXPECT_EQ(result.code, 1);
  EXPECT_TRUE(Contains(result.err, address));
  EXPECT_TRUE(Contains(result.err, "address from ZKELECT_HTTP_LISTEN"));
}

TEST_F(CommandsTest, AddressFromTheEnvironmentWithAWildcardHost) {
  StartServer();
  const std::string listen = "0.0.0.0:" + std::to_string(server_->port());
  const Outcome result = RunCommand({"leader"}, {{"ZKELECT_HTTP_LISTEN", listen}});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "node-b 10.0.0.2:8080 epoch 77\n");
}

// Finding 6 of the operations review: with a mounted config that changes
// http.listen, `zkelect check live` probed 127.0.0.1:4040 and the container
// stayed unhealthy forever. The clients read the daemon's default file.
TEST_F(CommandsTest, CommandsTalkOverTheUnixSocketOfAddrOrOfTheConfigFile) {
  test::TempDir dir("commands-unix");
  const std::string socket = dir.Sub("api.sock");
  StartServer("", socket);
  Outcome result = RunCommand({"leader", "--addr", "unix:" + socket}, {});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_TRUE(Contains(result.out, "node-b")) << result.out;
  // The daemon's file lists TCP first: the socket is still the one used.
  const std::string config = WriteFile(
      dir, "zkelect.toml", "[http]\nlisten = [\"" + Address() + "\", \"unix:" + socket + "\"]\n");
  server_->Stop();  // the TCP port would answer too: only the socket file may be used
  result = RunCommand({"check", "live", "--config", config}, {});
  EXPECT_NE(result.code, 0);
  EXPECT_TRUE(Contains(result.err, "unix:" + socket)) << result.err;
}

TEST_F(CommandsTest, ClientCommandsReadTheDaemonsDefaultConfigFile) {
  StartServer("s3cret-token");
  const test::TempDir dir("zkelect-client");
  const std::string token = WriteFile(dir, "token", "s3cret-token\n");
  const std::string config =
      WriteFile(dir, "zkelect.toml",
                "[http]\nlisten = \"" + Address() + "\"\ntoken_file = \"" + token + "\"\n");
  Outcome result = RunCommand({"check", "live"}, {}, config);
  EXPECT_EQ(result.code, 0) << result.err;
  result = RunCommand({"leader"}, {}, config);
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "node-b 10.0.0.2:8080 epoch 77\n");
  result = RunCommand({"resign"}, {}, config);  // with the token of http.token_file
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(control_.holds().size(), 1u);

  // ZKELECT_CONFIG and --config still win, and "" means no file at all.
  const std::string address = "127.0.0.1:" + std::to_string(test::PickFreePort());
  result = RunCommand({"status"}, {{"ZKELECT_HTTP_LISTEN", address}}, config);
  EXPECT_TRUE(Contains(result.err, "cannot connect to the daemon at " + address)) << result.err;
  result = RunCommand({"leader", "--config", ""}, {}, config);
  EXPECT_NE(result.out, "node-b 10.0.0.2:8080 epoch 77\n") << "--config \"\" read the file";
  // A missing default file is no error: the built-in default address.
  result = RunCommand({"leader"}, {}, dir.Sub("missing.toml"));
  EXPECT_NE(result.code, 2) << result.err;
  EXPECT_NE(result.out, "node-b 10.0.0.2:8080 epoch 77\n");
}

// A typo in a daemon's setting (in Kubernetes: a ConfigMap edit, which every
// pod sees at once) failed every client command, the liveness probe `zkelect
// check live` included, while the daemons ran on: the kubelet would restart
// every sidecar. The client reads only the keys it needs.
TEST_F(CommandsTest, ABadDaemonSettingInTheFileDoesNotFailAProbe) {
  StartServer();
  const test::TempDir dir("zkelect-client");
  const std::string config =
      WriteFile(dir, "zkelect.toml",
                "zk.session_timeout = \"10x\"\nsesion_typo = 1\n[http]\nlisten = \"" + Address() +
                    "\"\n[hooks]\non_start = 7\n");
  Outcome result = RunCommand({"check", "live", "--config", config});
  EXPECT_EQ(result.code, 0) << result.err;
  result = RunCommand({"leader", "--config", config});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "node-b 10.0.0.2:8080 epoch 77\n");
}

// Found by the second review: a file that no longer parses still failed a
// probe that names the daemon with --addr (the Kubernetes example's probes
// do): with --addr, and no token needed, the file is not read.
TEST_F(CommandsTest, WithAddrAFileThatDoesNotParseIsNotRead) {
  StartServer();
  const test::TempDir dir("zkelect-client");
  const std::string config =
      WriteFile(dir, "zkelect.toml", "[zk]\nsession_timeout = \"4s\n[http]\nlisten = 7\n");
  Outcome result = RunCommand({"check", "live", "--addr", Address()}, {{"ZKELECT_CONFIG", config}});
  EXPECT_EQ(result.code, 0) << result.err;
  result = RunCommand({"leader", "--config", config, "--addr", Address()});
  EXPECT_EQ(result.code, 0) << result.err;
  result = RunCommand({"check", "live", "--config", config});
  EXPECT_EQ(result.code, 2) << "without --addr the file is what names the daemon";
  EXPECT_TRUE(Contains(result.err, "unterminated")) << result.err;
}

TEST(CommandsConfigTest, BadAddressOrConfigurationIsAUsageError) {
  Outcome result = RunCommand({"status", "--addr", "localhost"});
  EXPECT_EQ(result.code, 2);
  EXPECT_TRUE(Contains(result.err, "--addr = \"localhost\": expected host:port"));

  result = RunCommand({"status"}, {{"ZKELECT_HTTP_LISTEN", "127.0.0.1:0"}});
  EXPECT_EQ(result.code, 2);
  EXPECT_TRUE(Contains(result.err, "http.listen = \"127.0.0.1:0\" (from ZKELECT_HTTP_LISTEN)"));

  result = RunCommand({"status", "--config", "/nonexistent/zkelect.toml"});
  EXPECT_EQ(result.code, 2);
  EXPECT_TRUE(Contains(result.err, "zkelect status: configuration error: config = "));
  EXPECT_TRUE(Contains(result.err, "/nonexistent/zkelect.toml"));

  const test::TempDir dir("zkelect-client");
  const std::string config = WriteFile(dir, "zkelect.toml", "[http]\nlisten = \"nowhere\"\n");
  result = RunCommand({"check", "live", "--config", config});
  EXPECT_EQ(result.code, 2);
  EXPECT_TRUE(Contains(result.err, "http.listen"));
}

// Something else answers on the port: say so instead of printing nonsense.
TEST(CommandsForeignServerTest, AnAnswerThatIsNotZkelectsIsAnError) {
  httplib::Server server;
  server.Get("/status", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("hello", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread listener([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(milliseconds(1));

  const Outcome result = RunCommand({"status", "--addr", "127.0.0.1:" + std::to_string(port)});
  server.stop();
  listener.join();
  EXPECT_EQ(result.code, 1);
  EXPECT_TRUE(Contains(result.err, "is not a JSON object: expected a zkelect daemon there"));
}

// A daemon whose long-polls come back at once with nothing new (as while it
// shuts down) must not make `wait` spin.
TEST(CommandsForeignServerTest, WaitDoesNotSpinOnEarlyAnswers) {
  httplib::Server server;
  std::atomic<int> requests{0};
  server.Get("/status", [&](const httplib::Request&, httplib::Response& res) {
    ++requests;
    res.set_header("X-Zkelect-Index", "5");
    res.set_content(R"({"role": "follower", "leader": null})", "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread listener([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(milliseconds(1));

  const Outcome result = RunCommand(
      {"wait", "--leader", "--timeout", "1s", "--addr", "127.0.0.1:" + std::to_string(port)});
  server.stop();
  listener.join();
  EXPECT_EQ(result.code, 1);
  EXPECT_TRUE(Contains(result.err, "timed out after 1s"));
  EXPECT_LE(requests.load(), 15);
}

}  // namespace
}  // namespace zkelect
