#include "zkelect/zk/instrumented_zk_client.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/fake_zk_client.h"
#include "support/simulated_clock.h"
#include "zkelect/election/snapshot.h"
#include "zkelect/metrics/metrics.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;
using testing::FakeZkClient;
using testing::SimulatedClock;

// Records what reaches the sink behind the instrumented client.
class RecordingSink final : public ZkEventSink {
 public:
  void OnSessionState(SessionState state) override { states.push_back(state); }
  void OnNodeEvent(NodeEventType, const std::string& path) override { events.push_back(path); }
  std::vector<SessionState> states;
  std::vector<std::string> events;
};

class InstrumentedZkClientTest : public ::testing::Test {
 protected:
  InstrumentedZkClientTest() { zk_.SetEventSink(&sink_); }

  void OpenAndConnect() {
    ASSERT_TRUE(zk_.Open());
    fake_.Deliver();
  }

  FakeZkClient fake_;
  SimulatedClock clock_;
  Metrics metrics_;
  InstrumentedZkClient zk_{fake_, clock_, metrics_};
  RecordingSink sink_;
};

TEST_F(InstrumentedZkClientTest, CountsRequestsByOperationAndResult) {
  OpenAndConnect();
  std::string created;
  zk_.Create("/e", "", ZkClient::CreateMode::kPersistent,
             [&](ZkCode code, const std::string& path) {
               EXPECT_EQ(code, ZkCode::kOk);
               created = path;
             });
  zk_.GetData("/missing", false, [](ZkCode code, const std::string&, const NodeStat&) {
    EXPECT_EQ(code, ZkCode::kNoNode);
  });
  zk_.GetChildren("/e", false, [](ZkCode, const std::vector<std::string>&) {});
  zk_.Exists("/e", false, [](ZkCode, const NodeStat&) {});
  clock_.Advance(milliseconds(3));
  fake_.Deliver();
  zk_.Delete("/e", [](ZkCode) {});
  fake_.Deliver();

  EXPECT_EQ(created, "/e");  // the caller's callback still runs, with the reply
  EXPECT_EQ(metrics_.zk_requests.Value({"create", "ok"}), 1u);
  EXPECT_EQ(metrics_.zk_requests.Value({"get_data", "no_node"}), 1u);
  EXPECT_EQ(metrics_.zk_requests.Value({"get_children", "ok"}), 1u);
  EXPECT_EQ(metrics_.zk_requests.Value({"exists", "ok"}), 1u);
  EXPECT_EQ(metrics_.zk_requests.Value({"delete", "ok"}), 1u);
  EXPECT_EQ(metrics_.zk_request_duration.Count({"create"}), 1u);
}

TEST_F(InstrumentedZkClientTest, ServerAnswersRefreshTheReplyAgeButLostRequestsDoNot) {
  OpenAndConnect();
  zk_.Exists("/", false, [](ZkCode, const NodeStat&) {});
  fake_.Deliver();
  clock_.Advance(milliseconds(2000));
  fake_.Disconnect();
  zk_.Exists("/", false,
             [](ZkCode code, const NodeStat&) { EXPECT_EQ(code, ZkCode::kConnectionLoss); });
  fake_.Deliver();
  // The loss is no answer from a server: the age keeps growing.
  const std::string text = metrics_.Render(Snapshot{}, 0, clock_.Now());
  EXPECT_NE(text.find("zkelect_last_server_response_age_seconds 2\n"), std::string::npos) << text;
  EXPECT_EQ(metrics_.zk_requests.Value({"exists", "connection_loss"}), 1u);
}

TEST_F(InstrumentedZkClientTest, CountsReconnectsExpirationsAndSessions) {
  OpenAndConnect();
  fake_.Disconnect();
  fake_.Deliver();
  fake_.Reconnect();
  fake_.Deliver();
  fake_.Expire();
  fake_.Deliver();
  zk_.Close();
  OpenAndConnect();  // a new session's first connection is no reconnect

  EXPECT_EQ(metrics_.sessions_opened.Value({}), 2u);
  EXPECT_EQ(metrics_.session_reconnects.Value({}), 1u);
  EXPECT_EQ(metrics_.session_expirations.Value({}), 1u);
  // Every state still reaches the sink behind, in order.
  EXPECT_EQ(sink_.states,
            (std::vector<SessionState>{SessionState::kConnected, SessionState::kConnecting,
                                       SessionState::kConnected, SessionState::kExpired,
                                       SessionState::kConnected}));
}

}  // namespace
}  // namespace zkelect
