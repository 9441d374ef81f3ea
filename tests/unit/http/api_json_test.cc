#include "zkelect/http/api_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "zkelect/election/snapshot.h"

namespace zkelect {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::system_clock;

// 2024-05-01T12:34:56.789Z
system_clock::time_point May1st() {
  return system_clock::time_point(milliseconds(1'714'566'896'789));
}

LeaderView Leader() {
  LeaderView leader;
  leader.identity.id = "node-b";
  leader.identity.address = "10.0.0.2:8080";
  leader.identity.meta = {{"zone", "eu-1"}};
  leader.identity.priority = 10;
  leader.node = "_c_0f6b-latch-0000000007";
  leader.epoch = 4294967301;
  leader.since = May1st();
  return leader;
}

Snapshot FollowerView() {
  Snapshot snapshot;
  snapshot.id = "node-a";
  snapshot.role = Role::kFollower;
  snapshot.session = {"connected", 0x1000a3b2c0001, milliseconds(10'000), "zk1:2181,zk2:2181"};
  snapshot.election_path = "/zkelect/default";
  snapshot.own_node = "_c_1a2b-latch-0000000009";
  snapshot.position = 1;
  snapshot.candidates = {"_c_0f6b-latch-0000000007", "_c_1a2b-latch-0000000009"};
  snapshot.leader = Leader();
  snapshot.last_transition =
      TransitionView{May1st(), Role::kStarting, Role::kFollower, Reason::kJoined};
  snapshot.recent_transitions = {*snapshot.last_transition};
  snapshot.ready = true;
  return snapshot;
}

Snapshot LeaderSelfView() {
  Snapshot snapshot = FollowerView();
  snapshot.role = Role::kLeader;
  snapshot.own_node = snapshot.leader->node;
  snapshot.position = 0;
  return snapshot;
}

TEST(ApiJsonTest, LeaderBodyWithALeader) {
  const json body = json::parse(LeaderBody(FollowerView(), 12));
  EXPECT_EQ(body, json::parse(R"({
    "leader": {"id": "node-b", "address": "10.0.0.2:8080", "meta": {"zone": "eu-1"},
               "node": "_c_0f6b-latch-0000000007", "epoch": 4294967301,
               "since": "2024-05-01T12:34:56.789Z", "priority": 10},
    "is_self": false, "index": 12})"));
}

TEST(ApiJsonTest, LeaderBodyOnTheLeaderIsSelf) {
  EXPECT_TRUE(json::parse(LeaderBody(LeaderSelfView(), 3))["is_self"].get<bool>());
}

TEST(ApiJsonTest, LeaderBodyIsNotSelfWhileTheRoleSaysOtherwise) {
  Snapshot snapshot = LeaderSelfView();
  snapshot.role = Role::kDisconnected;
  EXPECT_FALSE(json::parse(LeaderBody(snapshot, 3))["is_self"].get<bool>());
}

TEST(ApiJsonTest, LeaderBodyWithoutALeaderGivesTheReason) {
  Snapshot snapshot;
  snapshot.no_leader_reason = "no_candidates";
  EXPECT_EQ(json::parse(LeaderBody(snapshot, 5)),
            json::parse(R"({"leader": null, "reason": "no_candidates", "index": 5})"));
}

TEST(ApiJsonTest, StatusBodyShowsMaintenanceSinceWhen) {
  Snapshot snapshot = FollowerView();
  snapshot.role = Role::kWithdrawn;
  snapshot.maintenance_since =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1714566896789));
  const json body = json::parse(StatusBody(snapshot, 9, "0.1.0"));
  EXPECT_EQ(body["role"], "withdrawn");
  EXPECT_EQ(body["maintenance"],
            json::parse(R"({"active": true, "since": "2024-05-01T12:34:56.789Z"})"));
}

TEST(ApiJsonTest, StatusBodyShowsAPreemptionWaitingForItsDelay) {
  Snapshot view = FollowerView();
  view.preempt.enabled = true;
  view.preempt.delay = std::chrono::seconds(10);
  view.preempt.pending = Snapshot::Preemption::Pending{
      "_c_0f6b-latch-0000000007", "node-b", 10,
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1714566896789))};
  const json body = json::parse(StatusBody(view, 9, "0.1.0"));
  EXPECT_EQ(body["preempt"], json::parse(R"({"enabled": true, "delay_ms": 10000,
    "pending": {"node": "_c_0f6b-latch-0000000007", "id": "node-b", "priority": 10,
                "due": "2024-05-01T12:34:56.789Z"}})"));
}

TEST(ApiJsonTest, StatusBodyShowsTheWholeView) {
  const json body = json::parse(StatusBody(FollowerView(), 9, "0.1.0"));
  EXPECT_EQ(body, json::parse(R"({
    "id": "node-a", "role": "follower", "campaign": true, "priority": 0,
    "preempt": {"enabled": false, "delay_ms": 0, "pending": null},
    "session": {"state": "connected", "id": "0x1000a3b2c0001", "negotiated_timeout_ms": 10000,
                "servers": "zk1:2181,zk2:2181"},
    "election": {"path": "/zkelect/default", "own_node": "_c_1a2b-latch-0000000009",
                 "position": 1,
                 "candidates": ["_c_0f6b-latch-0000000007", "_c_1a2b-latch-0000000009"],
                 "candidate_ids": [
                   {"node": "_c_0f6b-latch-0000000007", "id": null, "address": null,
                    "id_state": "pending"},
                   {"node": "_c_1a2b-latch-0000000009", "id": null, "address": null,
                    "id_state": "pending"}]},
    "leader": {"id": "node-b", "address": "10.0.0.2:8080", "meta": {"zone": "eu-1"},
               "node": "_c_0f6b-latch-0000000007", "epoch": 4294967301,
               "since": "2024-05-01T12:34:56.789Z", "priority": 10},
    "last_transition": {"time": "2024-05-01T12:34:56.789Z", "from": "starting",
                        "to": "follower", "reason": "joined"},
    "recent_transitions": [{"time": "2024-05-01T12:34:56.789Z", "from": "starting",
                            "to": "follower", "reason": "joined"}],
    "hooks": {"configured": false, "running": null, "last": null},
    "health": {"enabled": false},
    "maintenance": {"active": false, "since": null},
    "config": {"generation": 1, "last_reload": null},
    "http": {"waiters": 0, "max_waiters": 0},
    "ready": true, "index": 9, "version": "0.1.0"})"));
}

TEST(ApiJsonTest, StatusBodyNamesEveryCandidateByIdInTheListingsOrder) {
  Snapshot snapshot = FollowerView();
  snapshot.candidates.push_back("_c_9999-latch-0000000010");
  snapshot.candidates.push_back("foreign-0000000011");
  const CandidateIds ids = {
      {CandidateId::State::kKnown, "node-b", "10.0.0.2:8080"},
      {CandidateId::State::kKnown, "node-a", ""},
      {CandidateId::State::kUnreadable, "", ""},
      {CandidateId::State::kNotRead, "", ""},
  };
  const json body = json::parse(StatusBody(snapshot, 9, "0.1.0", {}, ids));
  EXPECT_EQ(body["election"]["candidate_ids"], json::parse(R"([
    {"node": "_c_0f6b-latch-0000000007", "id": "node-b", "address": "10.0.0.2:8080",
     "id_state": "known"},
    {"node": "_c_1a2b-latch-0000000009", "id": "node-a", "address": "", "id_state": "known"},
    {"node": "_c_9999-latch-0000000010", "id": null, "address": null, "id_state": "unreadable"},
    {"node": "foreign-0000000011", "id": null, "address": null, "id_state": "not_read"}])"));
  // Fewer ids than candidates: the rest are pending.
  const json shorter = json::parse(StatusBody(snapshot, 9, "0.1.0", {}, {ids[0]}));
  EXPECT_EQ(shorter["election"]["candidate_ids"][1]["id_state"], "pending");
  EXPECT_EQ(shorter["election"]["candidate_ids"].size(), 4u);
}

TEST(ApiJsonTest, StatusBodyShowsTheLastReload) {
  Snapshot snapshot = FollowerView();
  snapshot.config.generation = 3;
  snapshot.config.last_reload =
      ConfigView::Reload{May1st(), false, "zk.servers = \"zk9:2181\" (running: ...)"};
  const json body = json::parse(StatusBody(snapshot, 9, "0.1.0"));
  EXPECT_EQ(body["config"], json::parse(R"json({"generation": 3, "last_reload": {
    "at": "2024-05-01T12:34:56.789Z", "result": "refused",
    "error": "zk.servers = \"zk9:2181\" (running: ...)"}})json"));
}

TEST(ApiJsonTest, StatusBodyListsRecentTransitionsNewestFirst) {
  Snapshot snapshot = FollowerView();
  snapshot.recent_transitions.push_back(
      TransitionView{May1st(), Role::kFollower, Role::kLeader, Reason::kElected});
  const json body = json::parse(StatusBody(snapshot, 9, "0.1.0"));
  ASSERT_EQ(body["recent_transitions"].size(), 2u);
  EXPECT_EQ(body["recent_transitions"][0]["to"], "leader");
  EXPECT_EQ(body["recent_transitions"][0]["reason"], "elected");
  EXPECT_EQ(body["recent_transitions"][1]["to"], "follower");
}

TEST(ApiJsonTest, StatusBodyShowsHooksAndHealth) {
  Snapshot snapshot = FollowerView();
  snapshot.hooks.configured = true;
  snapshot.hooks.running = "on_stop";
  snapshot.hooks.last = HookResultView{"on_start",
                                       "elected",
                                       false,
                                       "exit status 3",
                                       std::chrono::milliseconds(1500),
                                       snapshot.leader->since};
  snapshot.health = HealthView{true, false, "HTTP 503"};
  const json body = json::parse(StatusBody(snapshot, 9, "0.1.0"));
  EXPECT_EQ(body["hooks"], json::parse(R"({"configured": true, "running": "on_stop",
      "last": {"hook": "on_start", "reason": "elected", "ok": false, "result": "exit status 3",
               "duration_ms": 1500, "finished": "2024-05-01T12:34:56.789Z"}})"));
  EXPECT_EQ(body["health"], json::parse(R"({"enabled": true, "healthy": false,
                                            "detail": "HTTP 503"})"));
}

TEST(ApiJsonTest, StatusBodyOfAFreshDaemonHasNulls) {
  const json body = json::parse(StatusBody(Snapshot{}, 1, "0.1.0"));
  EXPECT_EQ(body["role"], "starting");
  EXPECT_EQ(body["session"]["id"], "0x0");
  EXPECT_TRUE(body["election"]["own_node"].is_null());
  EXPECT_TRUE(body["election"]["position"].is_null());
  EXPECT_EQ(body["election"]["candidates"], json::array());
  EXPECT_TRUE(body["leader"].is_null());
  EXPECT_TRUE(body["last_transition"].is_null());
  EXPECT_EQ(body["recent_transitions"], json::array());
  EXPECT_FALSE(body["ready"].get<bool>());
}

TEST(ApiJsonTest, StatusBodyListsFieldsInTheDocumentedOrder) {
  const std::string body = StatusBody(FollowerView(), 9, "0.1.0");
  EXPECT_EQ(body.rfind("{\"id\":", 0), 0u) << body;
  EXPECT_LT(body.find("\"role\""), body.find("\"session\""));
  EXPECT_LT(body.find("\"ready\""), body.find("\"version\""));
}

TEST(ApiJsonTest, BytesFromZooKeeperAlwaysGiveValidJson) {
  Snapshot snapshot = FollowerView();
  snapshot.leader->identity.id = std::string("evil\"\n\x01\xff\xfe id");
  snapshot.leader->identity.address = std::string("\xc3\x28", 2);  // invalid UTF-8 sequence
  snapshot.leader->identity.meta = {{std::string("k\xff"), std::string("v\x80")}};
  snapshot.candidates.push_back(std::string("bad\xe2\x82node"));
  snapshot.id = std::string("\0nul", 4);

  for (const std::string& text :
       {LeaderBody(snapshot, 1), StatusBody(snapshot, 1, "v"), IsLeaderBody(snapshot, 1)}) {
    EXPECT_TRUE(json::accept(text)) << text;
  }
  const json leader = json::parse(LeaderBody(snapshot, 1));
  EXPECT_EQ(leader["leader"]["id"], "evil\"\n\x01\xef\xbf\xbd\xef\xbf\xbd id");  // U+FFFD twice
  EXPECT_EQ(json::parse(StatusBody(snapshot, 1, "v"))["id"], std::string("\0nul", 4));
}

TEST(ApiJsonTest, IsLeaderBody) {
  EXPECT_EQ(json::parse(IsLeaderBody(LeaderSelfView(), 4)),
            json::parse(R"({"leader": true, "index": 4})"));
  EXPECT_EQ(json::parse(IsLeaderBody(FollowerView(), 4)),
            json::parse(R"({"leader": false, "role": "follower", "index": 4})"));
}

TEST(ApiJsonTest, ReadyBodySaysWhyNot) {
  EXPECT_EQ(json::parse(ReadyBody(FollowerView(), 2)),
            json::parse(R"({"ready": true, "role": "follower", "session": "connected",
                            "index": 2})"));

  Snapshot connecting;
  EXPECT_EQ(json::parse(ReadyBody(connecting, 2))["reason"], "session_connecting");

  Snapshot withdrawn = FollowerView();
  withdrawn.ready = false;
  withdrawn.role = Role::kWithdrawn;
  EXPECT_EQ(json::parse(ReadyBody(withdrawn, 2))["reason"], "withdrawn");

  Snapshot unregistered = FollowerView();
  unregistered.ready = false;
  unregistered.own_node.reset();
  EXPECT_EQ(json::parse(ReadyBody(unregistered, 2))["reason"], "not_registered");
}

TEST(ApiJsonTest, HealthResignedAndErrorBodies) {
  EXPECT_EQ(json::parse(HealthBody(true)), json::parse(R"({"status": "ok"})"));
  EXPECT_EQ(json::parse(HealthBody(false)), json::parse(R"({"status": "unresponsive"})"));
  EXPECT_EQ(json::parse(ResignedBody(milliseconds(5000))),
            json::parse(R"({"resigned": true, "hold_ms": 5000})"));
  EXPECT_EQ(json::parse(ErrorBody("not_leader", "this node is not the leader")),
            json::parse(R"({"error": {"code": "not_leader",
                                      "message": "this node is not the leader"}})"));
  EXPECT_TRUE(json::accept(ErrorBody("bad_request", "wait = \"\xff\"")));
}

TEST(ApiJsonTest, FormatTimestamp) {
  EXPECT_EQ(FormatTimestamp(May1st()), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(FormatTimestamp(system_clock::time_point()), "1970-01-01T00:00:00.000Z");
  // Sub-millisecond parts are cut, not rounded.
  EXPECT_EQ(FormatTimestamp(May1st() + std::chrono::microseconds(999)), "2024-05-01T12:34:56.789Z");
  // A leap day at the end of a century that is a leap year.
  EXPECT_EQ(FormatTimestamp(system_clock::time_point(milliseconds(951'782'400'000))),
            "2000-02-29T00:00:00.000Z");
}

TEST(ApiJsonTest, FormatSessionId) {
  EXPECT_EQ(FormatSessionId(0), "0x0");
  EXPECT_EQ(FormatSessionId(0x1000a3b2c0001), "0x1000a3b2c0001");
  EXPECT_EQ(FormatSessionId(-1), "0xffffffffffffffff");
}

}  // namespace
}  // namespace zkelect
