#include "sim/zk_model.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace zkelect::sim {
namespace {

using std::chrono::milliseconds;

struct Recorder final : ZkModel::Listener {
  void OnWatch(int64_t session, NodeEventType type, const std::string& path) override {
    watches.push_back({session, type, path});
  }
  void OnNodeRemoved(const std::string& path, const Znode&, int64_t, NodeGone how) override {
    removed.push_back({path, how});
  }
  void OnSessionExpired(int64_t session) override { expired.push_back(session); }

  struct Watch {
    int64_t session;
    NodeEventType type;
    std::string path;
  };
  std::vector<Watch> watches;
  std::vector<std::pair<std::string, NodeGone>> removed;
  std::vector<int64_t> expired;
};

class ZkModelTest : public ::testing::Test {
 protected:
  static Clock::TimePoint At(int64_t ms) { return Clock::TimePoint(milliseconds(ms)); }

  std::string CreateCandidate(int64_t session) {
    std::string created;
    EXPECT_EQ(model.Create(session, "/e/_c_x-latch-", "{}", true, true, false, &created),
              ZkCode::kOk);
    return created;
  }

  Recorder recorder;
  ZkModel model{milliseconds(100), recorder};
  int64_t admin = model.OpenSession(milliseconds(10'000), At(0));
  void SetUp() override {
    ASSERT_EQ(model.Create(admin, "/e", "", false, false, false, nullptr), ZkCode::kOk);
  }
};

TEST_F(ZkModelTest, SequentialNamesCarryTheParentsTenDigitChildVersion) {
  const int64_t s = model.OpenSession(milliseconds(2000), At(0));
  EXPECT_EQ(CreateCandidate(s), "/e/_c_x-latch-0000000000");
  ASSERT_EQ(model.Delete(s, "/e/_c_x-latch-0000000000"), ZkCode::kOk);
  // A delete moves the child version too: numbers are not contiguous.
  EXPECT_EQ(CreateCandidate(s), "/e/_c_x-latch-0000000002");
}

TEST_F(ZkModelTest, CzxidGrowsAcrossTheEnsembleAndEphemeralsCarryTheirOwner) {
  const int64_t a = model.OpenSession(milliseconds(2000), At(0));
  const int64_t b = model.OpenSession(milliseconds(2000), At(0));
  std::string data;
  NodeStat first, second;
  ASSERT_EQ(model.GetData(a, CreateCandidate(a), false, &data, &first), ZkCode::kOk);
  ASSERT_EQ(model.GetData(a, CreateCandidate(b), false, &data, &second), ZkCode::kOk);
  EXPECT_LT(first.czxid, second.czxid);
  EXPECT_EQ(first.ephemeral_owner, a);
  EXPECT_EQ(second.ephemeral_owner, b);
}

TEST_F(ZkModelTest, TimeoutIsNegotiatedIntoTwoToTwentyTicks) {
  EXPECT_EQ(model.Negotiate(milliseconds(50)), milliseconds(200));
  EXPECT_EQ(model.Negotiate(milliseconds(1500)), milliseconds(1500));
  EXPECT_EQ(model.Negotiate(milliseconds(10'000)), milliseconds(2000));
}

TEST_F(ZkModelTest, SessionExpiresOnTheTickAfterItsTimeoutAndTakesItsEphemerals) {
  const int64_t s = model.OpenSession(milliseconds(1000), At(0));
  const std::string node = CreateCandidate(s);
  model.Touch(s, At(450));  // deadline: the tick boundary after 1450 ms
  ASSERT_EQ(model.NextExpiry(), At(1500));
  model.ExpireDue(At(1499));
  EXPECT_TRUE(model.Alive(s));
  model.ExpireDue(At(1500));
  EXPECT_FALSE(model.Alive(s));
  EXPECT_EQ(model.tree().Find(node), nullptr);
  ASSERT_EQ(recorder.removed.size(), 1u);
  EXPECT_EQ(recorder.removed[0].second, NodeGone::kSessionExpired);
  EXPECT_EQ(recorder.expired, std::vector<int64_t>{s});
}

TEST_F(ZkModelTest, ClosingASessionDeletesItsEphemerals) {
  const int64_t s = model.OpenSession(milliseconds(1000), At(0));
  const std::string node = CreateCandidate(s);
  model.CloseSession(s);
  EXPECT_EQ(model.tree().Find(node), nullptr);
  EXPECT_TRUE(recorder.expired.empty());
}

TEST_F(ZkModelTest, PinnedSessionsNeverExpireUntilUnpinned) {
  const int64_t s = model.OpenSession(milliseconds(1000), At(0));
  model.SetPinned(s, true, At(0));
  model.ExpireDue(At(60'000));
  EXPECT_TRUE(model.Alive(s));
  model.SetPinned(s, false, At(60'000));
  model.ExpireDue(At(61'100));
  EXPECT_FALSE(model.Alive(s));
}

TEST_F(ZkModelTest, DataWatchFiresOnceOnDeletionAndChildWatchOnTheParent) {
  const int64_t owner = model.OpenSession(milliseconds(2000), At(0));
  const int64_t watcher = model.OpenSession(milliseconds(2000), At(0));
  const std::string node = CreateCandidate(owner);
  std::string data;
  NodeStat stat;
  std::vector<std::string> children;
  ASSERT_EQ(model.GetData(watcher, node, true, &data, &stat), ZkCode::kOk);
  ASSERT_EQ(model.Exists(watcher, node, true, &stat), ZkCode::kOk);  // same table: one event
  ASSERT_EQ(model.GetChildren(watcher, "/e", true, &children), ZkCode::kOk);
  ASSERT_EQ(model.Delete(owner, node), ZkCode::kOk);
  ASSERT_EQ(recorder.watches.size(), 2u);
  EXPECT_EQ(recorder.watches[0].type, NodeEventType::kDeleted);
  EXPECT_EQ(recorder.watches[0].path, node);
  EXPECT_EQ(recorder.watches[1].type, NodeEventType::kChildrenChanged);
  EXPECT_EQ(recorder.watches[1].path, "/e");
  // One-shot: the next change fires nothing.
  CreateCandidate(owner);
  EXPECT_EQ(recorder.watches.size(), 2u);
}

TEST_F(ZkModelTest, ExistsWatchesAMissingPathForItsCreation) {
  const int64_t s = model.OpenSession(milliseconds(2000), At(0));
  NodeStat stat;
  ASSERT_EQ(model.Exists(s, "/f", true, &stat), ZkCode::kNoNode);
  ASSERT_EQ(model.Create(admin, "/f", "", false, false, false, nullptr), ZkCode::kOk);
  ASSERT_EQ(recorder.watches.size(), 1u);
  EXPECT_EQ(recorder.watches[0].type, NodeEventType::kCreated);
}

TEST_F(ZkModelTest, FailedReadsSetNoWatch) {
  const int64_t owner = model.OpenSession(milliseconds(2000), At(0), /*has_auth=*/true);
  const int64_t reader = model.OpenSession(milliseconds(2000), At(0));
  std::string secret;
  ASSERT_EQ(model.Create(owner, "/e/_c_y-latch-", "{}", true, true, /*auth_only=*/true, &secret),
            ZkCode::kOk);
  std::string data;
  NodeStat stat;
  EXPECT_EQ(model.GetData(reader, secret, true, &data, &stat), ZkCode::kNoAuth);
  EXPECT_EQ(model.GetData(owner, secret, false, &data, &stat), ZkCode::kOk);
  EXPECT_EQ(model.GetData(reader, "/e/missing", true, &data, &stat), ZkCode::kNoNode);
  ASSERT_EQ(model.Exists(reader, secret, false, &stat), ZkCode::kOk);  // no ACL on exists
  model.CloseSession(owner);
  ASSERT_EQ(model.Create(admin, "/e/missing", "", false, false, false, nullptr), ZkCode::kOk);
  EXPECT_TRUE(recorder.watches.empty());
}

TEST_F(ZkModelTest, ANodeWithChildrenCannotBeDeleted) {
  CreateCandidate(model.OpenSession(milliseconds(2000), At(0)));
  EXPECT_EQ(model.Delete(admin, "/e"), ZkCode::kNotEmpty);
  EXPECT_EQ(model.Delete(admin, "/nothing"), ZkCode::kNoNode);
}

TEST_F(ZkModelTest, AStaleServerAnswersFromItsCopyAndItsWatchFiresIfTheQuorumMovedOn) {
  const int64_t owner = model.OpenSession(milliseconds(2000), At(0));
  const int64_t reader = model.OpenSession(milliseconds(2000), At(0));
  const std::string node = CreateCandidate(owner);
  const ZnodeTree stale = model.tree();
  ASSERT_EQ(model.Delete(owner, node), ZkCode::kOk);
  std::string data;
  NodeStat stat;
  EXPECT_EQ(model.GetData(reader, node, true, &data, &stat, &stale), ZkCode::kOk);
  ASSERT_EQ(recorder.watches.size(), 1u);
  EXPECT_EQ(recorder.watches[0].type, NodeEventType::kDeleted);
}

}  // namespace
}  // namespace zkelect::sim
