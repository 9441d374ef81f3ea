// ZkClientImpl against a real ZooKeeper server: the adapter's own promises
// (design §2, issue point 3) that the recipe's unit tests take for granted.

#include "zkelect/zk/zk_client_impl.h"

#include <gtest/gtest.h>
#include <zookeeper/zookeeper.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "support/zk_ensemble.h"
#include "support/zk_test_client.h"
#include "zkelect/common/task_poster.h"
#include "zkelect/config/config.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;

// Stands in for the election loop: the test thread pumps posted tasks.
class PumpedLoop final : public TaskPoster {
 public:
  void Post(std::function<void()> task) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

  // Runs posted tasks until `done()` or `timeout`; returns done().
  bool RunUntil(const std::function<bool()>& done, milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (!cv_.wait_until(lock, deadline, [this] { return !tasks_.empty(); })) return done();
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
};

class SessionRecorder final : public ZkEventSink {
 public:
  void OnSessionState(SessionState state) override {
    if (state == SessionState::kConnected) ++connected;
  }
  void OnNodeEvent(NodeEventType, const std::string& path) override { events.push_back(path); }
  int connected = 0;
  std::vector<std::string> events;
};

class ZkClientImplTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ensemble_ = new test::ZkEnsemble(test::ZkEnsembleOptions{.servers = 1});
    ASSERT_TRUE(ensemble_->StartAll());
  }
  static void TearDownTestSuite() {
    delete ensemble_;
    ensemble_ = nullptr;
  }

  ZkConfig Config(std::string digest = "") const {
    ZkConfig config;
    config.servers = ensemble_->connect_string();
    config.session_timeout = milliseconds(4000);
    config.digest_auth = std::move(digest);
    return config;
  }

  static test::ZkEnsemble* ensemble_;
  PumpedLoop loop_;
  SessionRecorder sink_;
};

test::ZkEnsemble* ZkClientImplTest::ensemble_ = nullptr;

TEST_F(ZkClientImplTest, CallbacksRunOnlyWherePosted) {
  ZkClientImpl zk(Config(), loop_);
  zk.SetEventSink(&sink_);
  ASSERT_TRUE(zk.Open());
  ASSERT_TRUE(loop_.RunUntil([&] { return sink_.connected == 1; }, milliseconds(10000)));
  EXPECT_NE(zk.session_id(), 0);
  EXPECT_GT(zk.negotiated_timeout().count(), 0);
  std::optional<ZkCode> code;
  zk.Exists("/", false, [&](ZkCode c, const NodeStat&) { code = c; });
  EXPECT_FALSE(code.has_value()) << "never inline";
  ASSERT_TRUE(loop_.RunUntil([&] { return code.has_value(); }, milliseconds(5000)));
  EXPECT_EQ(*code, ZkCode::kOk);
}

TEST_F(ZkClientImplTest, StaleRepliesOfAClosedHandleAreDropped) {
  ZkClientImpl zk(Config(), loop_);
  zk.SetEventSink(&sink_);
  ASSERT_TRUE(zk.Open());
  ASSERT_TRUE(loop_.RunUntil([&] { return sink_.connected == 1; }, milliseconds(10000)));
  std::atomic<int> stale_replies{0};
  for (int i = 0; i < 20; ++i) {
    zk.GetChildren("/", false, [&](ZkCode, const std::vector<std::string>&) { ++stale_replies; });
  }
  // Let some replies arrive at the loop's door, then replace the handle.
  std::this_thread::sleep_for(milliseconds(50));
  zk.Close();
  ASSERT_TRUE(zk.Open());
  bool fresh = false;
  ASSERT_TRUE(loop_.RunUntil([&] { return sink_.connected == 2; }, milliseconds(10000)));
  zk.Exists("/", false, [&](ZkCode, const NodeStat&) { fresh = true; });
  ASSERT_TRUE(loop_.RunUntil([&] { return fresh; }, milliseconds(5000)));
  loop_.RunUntil([] { return false; }, milliseconds(200));
  EXPECT_EQ(stale_replies.load(), 0);
}

// Regression (HooksTest.LeaderOnlyChild under ASan in CI): a ping issued just
// before shutdown was still in flight when the handle closed. The library
// queues the completions of such requests for a completion thread that it has
// already stopped, so they never ran and their contexts leaked. Close() now
// lets the replies of a live connection arrive first.
TEST_F(ZkClientImplTest, ClosingWithRequestsInFlightWaitsForTheirReplies) {
  ZkClientImpl zk(Config(), loop_);
  zk.SetEventSink(&sink_);
  ASSERT_TRUE(zk.Open());
  ASSERT_TRUE(loop_.RunUntil([&] { return sink_.connected == 1; }, milliseconds(10000)));
  for (int i = 0; i < 500; ++i) {
    zk.Sync("/", [](ZkCode) {});
    zk.Exists("/", false, [](ZkCode, const NodeStat&) {});
  }
  EXPECT_GT(zk.requests_in_flight(), 0U);
  zk.Close();
  EXPECT_EQ(zk.requests_in_flight(), 0U);
  EXPECT_EQ(zk.requests_abandoned(), 0U) << "every reply arrived before the handle closed";
}

TEST_F(ZkClientImplTest, DigestAuthCreatesUnderCreatorAclThatOthersCanOnlyRead) {
  ZkClientImpl zk(Config("elector:s3cret"), loop_);
  zk.SetEventSink(&sink_);
  ASSERT_TRUE(zk.Open());
  ASSERT_TRUE(loop_.RunUntil([&] { return sink_.connected == 1; }, milliseconds(10000)));
  std::optional<ZkCode> created;
  zk.Create("/guarded", "payload", ZkClient::CreateMode::kPersistent,
            [&](ZkCode c, const std::string&) { created = c; });
  ASSERT_TRUE(loop_.RunUntil([&] { return created.has_value(); }, milliseconds(5000)));
  ASSERT_EQ(*created, ZkCode::kOk);
  std::optional<ZkCode> child_code;
  std::string child;
  zk.Create("/guarded/candidate-", "me", ZkClient::CreateMode::kEphemeralSequential,
            [&](ZkCode c, const std::string& path) {
              child_code = c;
              child = path;
            });
  ASSERT_TRUE(loop_.RunUntil([&] { return child_code.has_value(); }, milliseconds(5000)));
  ASSERT_EQ(*child_code, ZkCode::kOk);

  auto other = test::ZkTestClient::Connect(ensemble_->connect_string(), milliseconds(10000));
  ASSERT_NE(other, nullptr);
  std::string data;
  EXPECT_EQ(other->Get("/guarded", &data), ZOK) << "world may read";
  EXPECT_EQ(data, "payload");
  EXPECT_EQ(other->Create("/guarded/child", "", 0), ZNOAUTH) << "only the creator writes";
  EXPECT_EQ(other->Delete(child), ZNOAUTH) << "nobody else can delete a candidate";
  EXPECT_EQ(other->Get(child, &data), ZOK);
  EXPECT_EQ(data, "me");
}

}  // namespace
}  // namespace zkelect
