#include "zkelect/http/long_poll_hub.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/snapshots.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using Topic = StateBoard::Topic;

using test::FollowerOf;

// A bound in a test only catches a hang (CI runs on a busy 2-core machine
// and under the sanitizers).
constexpr milliseconds kHang{30'000};

// The answer of one parked wait, as the hub gives it.
class Answered {
 public:
  LongPollHub::Answer Callback() {
    return [this](const StateBoard::View& view) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++calls_;
        view_ = view;
        thread_ = std::this_thread::get_id();
        at_ = steady_clock::now();
      }
      done_.notify_all();
    };
  }

  // The view it was answered with, waiting up to `timeout`; nullopt if not.
  std::optional<StateBoard::View> Wait(milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait_for(lock, timeout, [this] { return calls_ > 0; });
    return view_;
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::thread::id thread() {
    std::lock_guard<std::mutex> lock(mu_);
    return thread_;
  }
  steady_clock::time_point at() {
    std::lock_guard<std::mutex> lock(mu_);
    return at_;
  }

 private:
  std::mutex mu_;
  std::condition_variable done_;
  int calls_ = 0;
  std::optional<StateBoard::View> view_;
  std::thread::id thread_;
  steady_clock::time_point at_;
};

class LongPollHubTest : public ::testing::Test {
 protected:
  LongPollHubTest() : board_(FollowerOf("a", {"n-a", "n-f"})), hub_(board_) { hub_.Start(); }

  steady_clock::time_point Later(milliseconds after = milliseconds(30'000)) {
    return steady_clock::now() + after;
  }

  // A record of one wait's answer that lives as long as the hub, which
  // answers what is still parked when the test ends.
  Answered& NewAnswered() { return answered_.emplace_back(); }

  // A change of the leader (index 2), time for the hub to act on it, then a
  // wait for the leader from a caller that read index 1, before the change:
  // the index that wait is answered with (0: none within 5 s).
  uint64_t ChangeThenWaitFromBeforeIt() {
    EXPECT_TRUE(board_.Publish(FollowerOf("g", {"n-f", "n-g"})));
    std::this_thread::sleep_for(milliseconds(50));
    Answered& answered = NewAnswered();
    hub_.Park(Topic::kLeader, 1, Later(), answered.Callback());
    const std::optional<StateBoard::View> view = answered.Wait(kHang);
    return view ? view->index : 0;
  }

  StateBoard board_;
  std::deque<Answered> answered_;  // before hub_: destroyed after it
  LongPollHub hub_;
};

TEST_F(LongPollHubTest, AnswersAWaitWhenItsTopicChanges) {
  Answered& answered = NewAnswered();
  hub_.Park(Topic::kAny, 1, Later(), answered.Callback());
  EXPECT_EQ(hub_.parked(), 1u);
  ASSERT_TRUE(board_.Publish(FollowerOf("a", {"n-a", "n-f", "n-g"})));
  const std::optional<StateBoard::View> view = answered.Wait(kHang);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->index, 2u);
  EXPECT_EQ(view->snapshot->candidates.size(), 3u);
  EXPECT_NE(answered.thread(), std::this_thread::get_id()) << "on the hub's thread";
  EXPECT_EQ(hub_.parked(), 0u);
}

// A leader change moves a follower's index several times; a wait for the
// leader is answered once, with the new leader.
TEST_F(LongPollHubTest, AWaitForTheLeaderSleepsThroughOtherChanges) {
  Answered& answered = NewAnswered();
  hub_.Park(Topic::kLeader, 1, Later(), answered.Callback());
  ASSERT_TRUE(board_.Publish(FollowerOf("a", {"n-a", "n-f", "n-g"})));  // index 2
  ASSERT_TRUE(board_.Publish(FollowerOf("a", {"n-f", "n-g"})));         // index 3
  EXPECT_FALSE(answered.Wait(milliseconds(200))) << "the leader is still a";
  ASSERT_TRUE(board_.Publish(FollowerOf("g", {"n-f", "n-g"})));  // index 4
  const std::optional<StateBoard::View> view = answered.Wait(kHang);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->index, 4u);
  EXPECT_EQ(view->snapshot->leader->identity.id, "g");
  EXPECT_EQ(answered.calls(), 1);
}

// The caller read index 1, then a change came before it parked: the wait is
// over already and must not sleep until the next change or its deadline.
TEST_F(LongPollHubTest, AChangeBeforeTheWaitWasParkedAnswersItAtOnce) {
  Answered& sleeper = NewAnswered();  // keeps the hub asleep until its deadline, 10s from now
  hub_.Park(Topic::kRole, 1, Later(milliseconds(10'000)), sleeper.Callback());
  // The hub acts on the change first (the sleeper is parked), so that only
  // its own record of it (not a pending wake-up, nor a nearer deadline) can
  // tell it that the later wait is over.
  EXPECT_EQ(ChangeThenWaitFromBeforeIt(), 2u);
  EXPECT_EQ(sleeper.calls(), 0);
}

// With nothing parked a change does not wake the hub; the next wait, read
// before that change, still finds it.
TEST_F(LongPollHubTest, AChangeWithNothingParkedIsFoundByTheNextWait) {
  EXPECT_EQ(ChangeThenWaitFromBeforeIt(), 2u);
}

TEST_F(LongPollHubTest, AnswersAtTheDeadlineWithTheViewUnchanged) {
  Answered& answered = NewAnswered();
  const auto parked = steady_clock::now();
  hub_.Park(Topic::kAny, 1, parked + milliseconds(100), answered.Callback());
  const std::optional<StateBoard::View> view = answered.Wait(kHang);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->index, 1u);
  EXPECT_GE(answered.at() - parked, milliseconds(100)) << "not before its deadline";
}

// The hub sleeps until the earliest deadline it knows; a wait parked later
// with an earlier one must wake it.
TEST_F(LongPollHubTest, AnEarlierDeadlineParkedLaterWakesTheHub) {
  Answered& long_wait = NewAnswered();
  Answered& short_wait = NewAnswered();
  hub_.Park(Topic::kAny, 1, Later(), long_wait.Callback());
  std::this_thread::sleep_for(milliseconds(20));  // the hub sleeps for 30s now
  hub_.Park(Topic::kAny, 1, Later(milliseconds(100)), short_wait.Callback());
  EXPECT_TRUE(short_wait.Wait(kHang));
  EXPECT_EQ(long_wait.calls(), 0);
  EXPECT_EQ(hub_.parked(), 1u);
}

TEST_F(LongPollHubTest, ClosingTheBoardAnswersEveryWait) {
  for (const Topic topic : {Topic::kAny, Topic::kLeader, Topic::kRole}) {
    hub_.Park(topic, 1, Later(), NewAnswered().Callback());
  }
  board_.Close();
  for (Answered& one : answered_) {
    const std::optional<StateBoard::View> view = one.Wait(kHang);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->index, 1u);
  }
}

TEST_F(LongPollHubTest, StopAnswersEveryWaitAndLaterOnesAtOnce) {
  for (int i = 0; i < 3; ++i) hub_.Park(Topic::kLeader, 1, Later(), NewAnswered().Callback());
  hub_.Stop();
  for (Answered& one : answered_) EXPECT_EQ(one.calls(), 1) << "answered before Stop() returns";

  Answered& late = NewAnswered();
  hub_.Park(Topic::kLeader, 1, Later(), late.Callback());
  EXPECT_EQ(late.calls(), 1);
  EXPECT_EQ(late.thread(), std::this_thread::get_id()) << "no hub thread any more";
  EXPECT_EQ(hub_.parked(), 0u);
  hub_.Stop();  // idempotent
}

TEST_F(LongPollHubTest, AnAnswerThatThrowsDoesNotKeepTheOthers) {
  Answered& before = NewAnswered();
  Answered& after = NewAnswered();
  hub_.Park(Topic::kAny, 1, Later(), before.Callback());
  hub_.Park(Topic::kAny, 1, Later(),
            [](const StateBoard::View&) { throw std::runtime_error("out of memory, say"); });
  hub_.Park(Topic::kAny, 1, Later(), after.Callback());
  ASSERT_TRUE(board_.Publish(FollowerOf("a", {"n-a", "n-f", "n-g"})));
  EXPECT_TRUE(before.Wait(kHang));
  EXPECT_TRUE(after.Wait(kHang));
  // And the hub still serves.
  Answered& next = NewAnswered();
  hub_.Park(Topic::kAny, 2, Later(), next.Callback());
  ASSERT_TRUE(board_.Publish(FollowerOf("g", {"n-f", "n-g"})));
  EXPECT_TRUE(next.Wait(kHang));
}

TEST(LongPollHubWithoutStartTest, StopAnswersWhatWasParked) {
  StateBoard board(FollowerOf("a", {"n-a", "n-f"}));
  LongPollHub hub(board);
  Answered answered;
  hub.Park(Topic::kAny, 1, steady_clock::now() + seconds(30), answered.Callback());
  hub.Stop();
  EXPECT_EQ(answered.calls(), 1);
}

// A thousand waits and one change: each is answered once, with the change.
TEST_F(LongPollHubTest, AThousandWaitsAreEachAnsweredOnce) {
  constexpr int kWaits = 1000;
  std::mutex mu;
  std::condition_variable all_done;
  int answered = 0;
  int with_change = 0;
  for (int i = 0; i < kWaits; ++i) {
    hub_.Park(Topic::kLeader, 1, Later(), [&](const StateBoard::View& view) {
      {
        std::lock_guard<std::mutex> lock(mu);
        ++answered;
        if (view.snapshot->leader && view.snapshot->leader->identity.id == "g") ++with_change;
      }
      all_done.notify_all();
    });
  }
  EXPECT_TRUE(board_.Publish(FollowerOf("g", {"n-f", "n-g"})));
  std::unique_lock<std::mutex> lock(mu);
  all_done.wait_for(lock, seconds(10), [&] { return answered == kWaits; });
  EXPECT_EQ(answered, kWaits);
  EXPECT_EQ(with_change, kWaits);
  lock.unlock();
  hub_.Stop();
  lock.lock();
  EXPECT_EQ(answered, kWaits) << "none twice";
}

// What a client that went away leaves: its wait is dropped unanswered,
// with what it held, and the others stay.
TEST_F(LongPollHubTest, ACancelledWaitIsDroppedUnanswered) {
  Answered& cancelled = NewAnswered();
  Answered& kept = NewAnswered();
  auto held = std::make_shared<int>(0);
  LongPollHub::Answer answer = cancelled.Callback();
  const LongPollHub::Ticket ticket = hub_.Park(
      Topic::kAny, 1, Later(), [answer, held](const StateBoard::View& view) { answer(view); });
  hub_.Park(Topic::kAny, 1, Later(), kept.Callback());
  EXPECT_EQ(hub_.parked(), 2u);
  std::weak_ptr<int> watch = held;
  held.reset();

  hub_.Cancel(ticket);
  EXPECT_EQ(hub_.parked(), 1u);
  EXPECT_TRUE(watch.expired()) << "what the wait held is released at once";
  hub_.Cancel(ticket);  // again, or an answered one: nothing
  hub_.Cancel(ticket + 100);

  ASSERT_TRUE(board_.Publish(FollowerOf("b", {"n-b", "n-f"})));
  EXPECT_TRUE(kept.Wait(kHang));
  EXPECT_EQ(cancelled.calls(), 0);
}

}  // namespace
}  // namespace zkelect
