#include "zkelect/election/state_board.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/simulated_clock.h"
#include "support/snapshots.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

Snapshot WithId(const std::string& id) {
  Snapshot snapshot;
  snapshot.id = id;
  return snapshot;
}

TEST(StateBoardTest, StartsAtIndexOneWithTheInitialSnapshot) {
  StateBoard board(WithId("a"));
  const StateBoard::View view = board.Current();
  EXPECT_EQ(view.index, 1u);
  ASSERT_NE(view.snapshot, nullptr);
  EXPECT_EQ(view.snapshot->id, "a");
}

TEST(StateBoardTest, PublishBumpsTheIndexOnlyOnChange) {
  StateBoard board(WithId("a"));
  EXPECT_FALSE(board.Publish(WithId("a")));
  EXPECT_EQ(board.Current().index, 1u);

  EXPECT_TRUE(board.Publish(WithId("b")));
  EXPECT_EQ(board.Current().index, 2u);
  EXPECT_EQ(board.Current().snapshot->id, "b");

  EXPECT_FALSE(board.Publish(WithId("b")));
  EXPECT_EQ(board.Current().index, 2u);
}

TEST(StateBoardTest, OldSnapshotsStayValidAfterPublish) {
  StateBoard board(WithId("a"));
  const StateBoard::View before = board.Current();
  ASSERT_TRUE(board.Publish(WithId("b")));
  EXPECT_EQ(before.snapshot->id, "a");
  EXPECT_EQ(before.index, 1u);
}

TEST(StateBoardTest, WaitForChangeReturnsAtOnceWhenTheIndexIsAlreadyPast) {
  StateBoard board(WithId("a"));
  ASSERT_TRUE(board.Publish(WithId("b")));
  const auto start = steady_clock::now();
  const StateBoard::View view = board.WaitForChange(1, start + seconds(30));
  EXPECT_EQ(view.index, 2u);
  EXPECT_LT(steady_clock::now() - start, seconds(5));
}

TEST(StateBoardTest, WaitForChangeWakesOnPublish) {
  StateBoard board(WithId("a"));
  const auto start = steady_clock::now();
  StateBoard::View seen;
  std::thread waiter([&] { seen = board.WaitForChange(1, start + seconds(30)); });
  ASSERT_TRUE(board.Publish(WithId("b")));
  waiter.join();
  EXPECT_EQ(seen.index, 2u);
  EXPECT_EQ(seen.snapshot->id, "b");
  EXPECT_LT(steady_clock::now() - start, seconds(5));
}

TEST(StateBoardTest, WaitForChangeIgnoresPublishesThatChangeNothing) {
  StateBoard board(WithId("a"));
  const auto start = steady_clock::now();
  StateBoard::View seen;
  std::thread waiter([&] { seen = board.WaitForChange(1, start + milliseconds(200)); });
  EXPECT_FALSE(board.Publish(WithId("a")));
  waiter.join();
  EXPECT_EQ(seen.index, 1u);
  EXPECT_GE(steady_clock::now() - start, milliseconds(200));
}

using test::FollowerOf;

// A leader change moves a follower's index several times (candidates, then
// the leader); a waiter on the leader wakes for the leader only.
TEST(StateBoardTest, LeaderWaiterSleepsThroughChangesThatKeepTheLeader) {
  StateBoard board(FollowerOf("a", {"n-a", "n-f"}));
  const auto start = steady_clock::now();
  StateBoard::View seen;
  std::thread waiter(
      [&] { seen = board.WaitForChange(1, start + seconds(30), StateBoard::Topic::kLeader); });
  ASSERT_TRUE(board.Publish(FollowerOf("a", {"n-a", "n-f", "n-g"})));  // index 2
  ASSERT_TRUE(board.Publish(FollowerOf("a", {"n-f", "n-g"})));         // index 3
  ASSERT_TRUE(board.Publish(FollowerOf("g", {"n-f", "n-g"})));         // index 4
  waiter.join();
  EXPECT_EQ(seen.index, 4u);
  EXPECT_EQ(seen.snapshot->leader->identity.id, "g");
  EXPECT_LT(steady_clock::now() - start, seconds(5));
}

TEST(StateBoardTest, LeaderWaiterWakesWhenThisNodeBecomesTheLeader) {
  StateBoard board(FollowerOf("a", {"n-a", "n-f"}));
  Snapshot leading = FollowerOf("f", {"n-f"});
  leading.role = Role::kLeader;
  Snapshot no_leader = FollowerOf("a", {});
  no_leader.leader.reset();
  no_leader.no_leader_reason = "no_candidates";
  const auto start = steady_clock::now();
  for (const Snapshot& next : {leading, no_leader}) {
    const uint64_t after = board.Current().index;
    StateBoard::View seen;
    std::thread waiter([&] {
      seen = board.WaitForChange(after, start + seconds(30), StateBoard::Topic::kLeader);
    });
    ASSERT_TRUE(board.Publish(next));
    waiter.join();
    EXPECT_EQ(seen.index, after + 1);
  }
  EXPECT_LT(steady_clock::now() - start, seconds(5));
}

TEST(StateBoardTest, RoleWaiterWakesForRoleChangesOnly) {
  StateBoard board(FollowerOf("a", {"n-a", "n-f"}));
  const auto start = steady_clock::now();
  StateBoard::View seen;
  std::thread waiter(
      [&] { seen = board.WaitForChange(1, start + seconds(30), StateBoard::Topic::kRole); });
  ASSERT_TRUE(board.Publish(FollowerOf("g", {"n-g", "n-f"})));  // a new leader, still following
  Snapshot leading = FollowerOf("f", {"n-f"});
  leading.role = Role::kLeader;
  ASSERT_TRUE(board.Publish(leading));
  waiter.join();
  EXPECT_EQ(seen.index, 3u);
  EXPECT_EQ(seen.snapshot->role, Role::kLeader);
  EXPECT_LT(steady_clock::now() - start, seconds(5));
}

TEST(StateBoardTest, TopicWaitReturnsAtOnceWhenItsChangeIsAlreadyPast) {
  StateBoard board(FollowerOf("a", {"n-a", "n-f"}));
  ASSERT_TRUE(board.Publish(FollowerOf("g", {"n-g", "n-f"})));  // index 2: the leader
  ASSERT_TRUE(board.Publish(FollowerOf("g", {"n-g"})));         // index 3: candidates
  const auto start = steady_clock::now();
  EXPECT_EQ(board.WaitForChange(1, start + seconds(30), StateBoard::Topic::kLeader).index, 3u);
  // Nothing for the leader past 2: waits out its deadline.
  EXPECT_EQ(board.WaitForChange(2, start + milliseconds(100), StateBoard::Topic::kLeader).index,
            3u);
  EXPECT_GE(steady_clock::now() - start, milliseconds(100));
  EXPECT_LT(steady_clock::now() - start, seconds(5));
}

TEST(StateBoardTest, CloseWakesWaitersOnEveryTopic) {
  StateBoard board(WithId("a"));
  const auto start = steady_clock::now();
  std::vector<std::thread> waiters;
  for (const StateBoard::Topic topic :
       {StateBoard::Topic::kAny, StateBoard::Topic::kLeader, StateBoard::Topic::kRole}) {
    waiters.emplace_back([&, topic] { board.WaitForChange(1, start + seconds(30), topic); });
  }
  board.Close();
  for (std::thread& waiter : waiters) waiter.join();
  EXPECT_LT(steady_clock::now() - start, seconds(5));
}

TEST(StateBoardTest, WaitForChangeTimesOutWithTheCurrentView) {
  StateBoard board(WithId("a"));
  const auto start = steady_clock::now();
  const StateBoard::View view = board.WaitForChange(1, start + milliseconds(50));
  EXPECT_GE(steady_clock::now() - start, milliseconds(50));
  EXPECT_EQ(view.index, 1u);
  EXPECT_EQ(view.snapshot->id, "a");
}

TEST(StateBoardTest, CloseWakesEveryWaiterAndLaterWaitsReturnAtOnce) {
  StateBoard board(WithId("a"));
  const auto start = steady_clock::now();
  std::vector<std::thread> waiters;
  std::vector<uint64_t> seen(4, 0);
  for (size_t i = 0; i < seen.size(); ++i) {
    waiters.emplace_back([&, i] { seen[i] = board.WaitForChange(1, start + seconds(30)).index; });
  }
  board.Close();
  for (std::thread& waiter : waiters) waiter.join();
  for (const uint64_t index : seen) EXPECT_EQ(index, 1u);

  const StateBoard::View later = board.WaitForChange(1, steady_clock::now() + seconds(30));
  EXPECT_EQ(later.index, 1u);
  EXPECT_LT(steady_clock::now() - start, seconds(5));
}

TEST(StateBoardTest, PublishStillWorksAfterClose) {
  StateBoard board(WithId("a"));
  board.Close();
  EXPECT_TRUE(board.Publish(WithId("b")));
  EXPECT_EQ(board.Current().index, 2u);
}

// Regression: a leader paused (SIGSTOP) past its self-fencing deadline
// answered /is-leader 200 to requests served right after SIGCONT, before its
// election loop had run again.
TEST(StateBoardTest, LeaderSnapshotPastItsLeaseReadsAsDisconnected) {
  testing::SimulatedClock clock;
  StateBoard board(Snapshot{}, &clock);
  Snapshot leader;
  leader.role = Role::kLeader;
  leader.leader = LeaderView{};
  leader.ready = true;
  ASSERT_TRUE(board.Publish(leader, clock.Now() + std::chrono::seconds(2)));
  EXPECT_EQ(board.Current().snapshot->role, Role::kLeader);
  clock.Advance(std::chrono::milliseconds(2001));  // nothing published meanwhile
  const StateBoard::View view = board.Current();
  EXPECT_EQ(view.snapshot->role, Role::kDisconnected);
  EXPECT_FALSE(view.snapshot->leader.has_value());
  EXPECT_FALSE(view.snapshot->ready);
  // A renewed lease, with an unchanged snapshot, brings it back.
  EXPECT_FALSE(board.Publish(leader, clock.Now() + std::chrono::seconds(2)));
  EXPECT_EQ(board.Current().snapshot->role, Role::kLeader);
}

TEST(StateBoardTest, LeaseOnlyConcernsLeaderSnapshots) {
  testing::SimulatedClock clock;
  StateBoard board(Snapshot{}, &clock);
  Snapshot follower;
  follower.role = Role::kFollower;
  board.Publish(follower, clock.Now());
  clock.Advance(std::chrono::seconds(10));
  EXPECT_EQ(board.Current().snapshot->role, Role::kFollower);
}

TEST(StateBoardTest, LastChangesTellWhichTopicsMovedAndTheListenerHearsEachChange) {
  StateBoard board(FollowerOf("a", {"n-a", "n-f"}));
  int heard = 0;
  board.SetChangeListener([&] { ++heard; });
  ASSERT_TRUE(board.Publish(FollowerOf("a", {"n-a", "n-f", "n-g"})));  // index 2: not the leader
  EXPECT_FALSE(board.Publish(FollowerOf("a", {"n-a", "n-f", "n-g"})));
  StateBoard::Changes changes = board.LastChanges();
  EXPECT_TRUE(changes.Past(1, StateBoard::Topic::kAny));
  EXPECT_FALSE(changes.Past(1, StateBoard::Topic::kLeader));
  EXPECT_FALSE(changes.Past(2, StateBoard::Topic::kAny));
  EXPECT_EQ(heard, 1) << "not for a publish that changed nothing";

  ASSERT_TRUE(board.Publish(FollowerOf("g", {"n-f", "n-g"})));  // index 3
  changes = board.LastChanges();
  EXPECT_TRUE(changes.Past(2, StateBoard::Topic::kLeader));
  EXPECT_FALSE(changes.Past(3, StateBoard::Topic::kLeader));

  board.Close();
  EXPECT_EQ(heard, 3);
  EXPECT_TRUE(board.LastChanges().Past(3, StateBoard::Topic::kRole)) << "closed: every wait ends";
  board.SetChangeListener({});
}

}  // namespace
}  // namespace zkelect
