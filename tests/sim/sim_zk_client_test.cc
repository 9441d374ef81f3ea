#include "sim/sim_zk_client.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "sim/ensemble.h"
#include "sim/event_queue.h"
#include "sim/sim_random.h"
#include "sim/trace.h"
#include "zkelect/common/task_poster.h"

namespace zkelect::sim {
namespace {

using std::chrono::milliseconds;

// The election loop of one daemon, reduced to what the client needs: posted
// tasks run in order as events of their own, and session states and watch
// events are written down.
class Loop final : public TaskPoster, public ZkEventSink {
 public:
  explicit Loop(EventQueue& queue) : queue_(queue) {}
  void Post(std::function<void()> task) override { queue_.After(milliseconds(0), std::move(task)); }
  void OnSessionState(SessionState state) override {
    states.push_back(state);
    log.push_back("state");
  }
  void OnNodeEvent(NodeEventType type, const std::string& path) override {
    events.emplace_back(type, path);
    log.push_back("event " + path);
  }
  std::vector<SessionState> states;
  std::vector<std::pair<NodeEventType, std::string>> events;
  std::vector<std::string> log;

 private:
  EventQueue& queue_;
};

class SimZkClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ensemble.model().Create(admin, "/e", "", false, false, false, nullptr);
    client.SetEventSink(&loop);
  }
  // Runs events until `done` holds (or the agenda runs dry / 60 s pass).
  void RunUntil(const std::function<bool()>& done) {
    const auto deadline = clock.Now() + std::chrono::seconds(60);
    while (!done() && clock.Now() < deadline && queue.RunNext()) {
    }
  }
  void Connect() {
    ASSERT_TRUE(client.Open());
    RunUntil([&] { return !loop.states.empty(); });
    ASSERT_EQ(loop.states.back(), SessionState::kConnected);
  }
  std::string CreateNode() {
    std::string created;
    bool answered = false;
    client.Create("/e/_c_u-latch-", "{}", ZkClient::CreateMode::kEphemeralSequential,
                  [&](ZkCode code, const std::string& path) {
                    EXPECT_EQ(code, ZkCode::kOk);
                    created = path;
                    answered = true;
                  });
    RunUntil([&] { return answered; });
    return created;
  }

  SimClock clock;
  EventQueue queue{clock};
  SimRandom random{42};
  Trace trace{clock, 50};
  Ensemble ensemble{Ensemble::Options{}, queue, random};
  int64_t admin = ensemble.model().OpenSession(milliseconds(10'000), clock.Now());
  Loop loop{queue};
  SimZkClient client{"c", 0, milliseconds(1000), ensemble, queue, random, trace, loop};
};

TEST_F(SimZkClientTest, OpenConnectsANewSessionWithTheNegotiatedTimeout) {
  EXPECT_EQ(client.session_id(), 0);
  Connect();
  EXPECT_NE(client.session_id(), 0);
  EXPECT_EQ(client.negotiated_timeout(), milliseconds(1000));
}

// Defect 6's ground truth: zookeeper_close sends nothing over a dead
// connection, so the node stays until the quorum expires the session.
TEST_F(SimZkClientTest, CloseWhileDisconnectedLeavesTheNodeUntilTheSessionExpires) {
  Connect();
  const std::string node = CreateNode();
  client.SetPartitioned(true);
  RunUntil([&] { return loop.states.back() == SessionState::kConnecting; });
  client.Close();
  EXPECT_NE(ensemble.model().tree().Find(node), nullptr);
  RunUntil([&] { return ensemble.model().tree().Find(node) == nullptr; });
  EXPECT_EQ(ensemble.model().tree().Find(node), nullptr);
}

TEST_F(SimZkClientTest, CloseOverALiveConnectionEndsTheSession) {
  Connect();
  const std::string node = CreateNode();
  const int64_t session = client.session_id();
  client.Close();
  RunUntil([&] { return !ensemble.model().Alive(session); });
  EXPECT_EQ(ensemble.model().tree().Find(node), nullptr);
  EXPECT_LT(clock.Elapsed(), std::chrono::milliseconds(100));  // not by expiry
}

TEST_F(SimZkClientTest, AResetFailsWhatIsInFlightAndReconnectsTheSameSession) {
  Connect();
  const int64_t session = client.session_id();
  std::vector<ZkCode> codes;
  client.Sync("/e", [&](ZkCode code) { codes.push_back(code); });
  client.Reset();
  RunUntil([&] { return loop.states.size() >= 3; });
  ASSERT_EQ(codes, std::vector<ZkCode>{ZkCode::kConnectionLoss});
  EXPECT_EQ(loop.states[1], SessionState::kConnecting);
  EXPECT_EQ(loop.states[2], SessionState::kConnected);
  EXPECT_EQ(client.session_id(), session);
}

TEST_F(SimZkClientTest, AnExpiredSessionIsToldOnReconnectAndNeverConnectedAgain) {
  Connect();
  client.SetPartitioned(true);
  RunUntil([&] { return !ensemble.model().Alive(client.session_id()); });
  client.SetPartitioned(false);
  RunUntil([&] { return loop.states.back() == SessionState::kExpired; });
  EXPECT_EQ(loop.states.back(), SessionState::kExpired);
  const size_t seen = loop.states.size();
  RunUntil([] { return false; });
  EXPECT_EQ(loop.states.size(), seen);
  ZkCode code = ZkCode::kOk;
  client.Sync("/e", [&](ZkCode c) { code = c; });
  RunUntil([&] { return code != ZkCode::kOk; });
  EXPECT_EQ(code, ZkCode::kClosing);
}

TEST_F(SimZkClientTest, AWatchEventComesBeforeTheReplyToALaterRequestThatSeesTheChange) {
  Connect();
  const std::string node = CreateNode();
  bool watched = false;
  client.GetData(node, true, [&](ZkCode code, const std::string&, const NodeStat&) {
    watched = code == ZkCode::kOk;
  });
  RunUntil([&] { return watched; });
  ASSERT_EQ(ensemble.model().Delete(admin, node), ZkCode::kOk);
  client.GetChildren("/e", false, [&](ZkCode, const std::vector<std::string>& children) {
    loop.log.push_back("children " + std::to_string(children.size()));
  });
  RunUntil([&] { return loop.log.back().starts_with("children"); });
  ASSERT_GE(loop.log.size(), 2u);
  EXPECT_EQ(loop.log[loop.log.size() - 2], "event " + node);
  EXPECT_EQ(loop.log.back(), "children 0");
}

TEST_F(SimZkClientTest, AServerCutOffFromTheQuorumAnswersReadsButNeverWrites) {
  Connect();
  const std::string node = CreateNode();
  // Isolate the server this client is connected to: try each, keep the one
  // whose reads still answer while syncs hang.
  bool found = false;
  for (int server = 0; server < 3 && !found; ++server) {
    ensemble.Isolate(server);
    bool synced = false;
    bool read = false;
    client.Sync("/e", [&](ZkCode) { synced = true; });
    client.GetData(node, false,
                   [&](ZkCode c, const std::string&, const NodeStat&) { read = c == ZkCode::kOk; });
    RunUntil([&] { return read; });
    found = read && !synced;
    if (!found) ensemble.Isolate(-1);
  }
  ASSERT_TRUE(found);
  EXPECT_FALSE(client.CanReachQuorum());
}

// A client paused between its connect and the answer (a process stopped
// right after it started) must not be told kConnected for a session that
// the quorum expired meanwhile: the server closes that connection.
TEST_F(SimZkClientTest, SessionExpiredBeforeItsConnectAnswerWasReadIsNeverReportedConnected) {
  ASSERT_TRUE(client.Open());
  // The connect reached the server (the session after the admin's exists),
  // its answer is on the way: the process stops now.
  const int64_t session = admin + 1;
  RunUntil([&] { return ensemble.model().Alive(session); });
  client.SetPaused(true);
  RunUntil([&] { return !ensemble.model().Alive(session); });
  client.SetPaused(false);
  RunUntil([&] { return !loop.states.empty(); });
  ASSERT_EQ(loop.states.front(), SessionState::kConnected);
  EXPECT_TRUE(ensemble.model().Alive(client.session_id()));
}

}  // namespace
}  // namespace zkelect::sim
