// HookRoleListener over a scripted HookRunner: which term an outcome belongs
// to, and how the stop budget is measured.

#include "zkelect/hooks/hook_role_listener.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <vector>

#include "support/simulated_clock.h"
#include "zkelect/common/task_poster.h"
#include "zkelect/hooks/hook_runner.h"
#include "zkelect/metrics/metrics.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;

// A HookRunner whose actions complete when the test says so.
class ScriptedHookRunner final : public HookRunner {
 public:
  struct Job {
    HookAction action;
    HookTerm term;
    std::map<std::string, std::string> env;
    std::function<void(const HookOutcome&)> done;
  };

  void Run(HookAction action, HookTerm term, std::map<std::string, std::string> env,
           std::function<void(const HookOutcome&)> done) override {
    jobs.push_back(Job{action, term, std::move(env), std::move(done)});
  }
  void SetStartGate(std::function<bool(HookTerm)> may_start) override {
    gate = std::move(may_start);
  }
  std::optional<std::string> running() const override { return std::nullopt; }
  bool has_hook(HookAction) const override { return true; }
  bool has_child() const override { return false; }

  // Completes the oldest job still queued with `outcome`.
  void Complete(const HookOutcome& outcome) {
    ASSERT_FALSE(jobs.empty());
    Job job = std::move(jobs.front());
    jobs.pop_front();
    job.done(outcome);
  }

  std::deque<Job> jobs;
  std::function<bool(HookTerm)> gate;
};

// Runs posted tasks at once: the test thread plays the election loop.
class InlineLoop final : public TaskPoster {
 public:
  void Post(std::function<void()> task) override { task(); }
};

HookOutcome HookRan(milliseconds duration, int exit_code = 0) {
  HookResult result;
  result.hook = "on_stop";
  result.status = ExitStatus{exit_code, 0};
  result.duration = duration;
  return HookOutcome{result, "", false};
}

LeaderView Leader(int64_t epoch) {
  LeaderView view;
  view.identity.id = "node-1";
  view.node = "n_" + std::to_string(epoch);
  view.epoch = epoch;
  return view;
}

class HookRoleListenerTest : public ::testing::Test {
 protected:
  HookRoleListenerTest()
      : listener_({"node-1", "/election", true, [this] { return budget_; }}, runner_, loop_, clock_,
                  metrics_) {
    listener_.SetStepAside([this](Reason reason) { step_asides_.push_back(reason); });
  }

  milliseconds budget_{2500};
  ScriptedHookRunner runner_;
  InlineLoop loop_;
  testing::SimulatedClock clock_;
  Metrics metrics_;
  HookRoleListener listener_;
  std::vector<Reason> step_asides_;
};

// Found by the simulator (invariant 3): a daemon paused with its start
// queued began that start at SIGCONT, before its loop could step down, after
// another node had started under a greater epoch. The runner asks the start
// gate right before a start begins: only the current term, within its lease.
TEST_F(HookRoleListenerTest, StartGateRefusesAStartPastItsLeaseOrOfAnEndedTerm) {
  ASSERT_TRUE(runner_.gate);
  listener_.OnLease(clock_.Now() + milliseconds(3000));
  listener_.OnElected(Leader(10));
  const HookTerm term = runner_.jobs.back().term;
  EXPECT_TRUE(runner_.gate(term));
  EXPECT_FALSE(runner_.gate(term + 1));
  clock_.Advance(milliseconds(3001));  // paused past the lease
  EXPECT_FALSE(runner_.gate(term)) << "a start may begin past its lease";
  listener_.OnLease(clock_.Now() + milliseconds(3000));  // heard again
  EXPECT_TRUE(runner_.gate(term));
  listener_.OnDemoted(Reason::kDisconnected, [] {});
  EXPECT_FALSE(runner_.gate(term)) << "a start may begin after its term ended";
}

// Rule 13: hooks learn this node's priority (as last reloaded) and the
// leader's, as published in its node.
TEST_F(HookRoleListenerTest, HooksGetThisNodesAndTheLeadersPriority) {
  listener_.SetPriority(3);
  LeaderView leader = Leader(10);
  leader.identity.priority = 7;
  listener_.OnElected(leader);
  ASSERT_FALSE(runner_.jobs.empty());
  EXPECT_EQ(runner_.jobs.back().env.at("ZKELECT_PRIORITY"), "3");
  EXPECT_EQ(runner_.jobs.back().env.at("ZKELECT_LEADER_PRIORITY"), "7");
  listener_.OnDemoted(Reason::kResigned, [] {});
  EXPECT_EQ(runner_.jobs.back().env.at("ZKELECT_LEADER_PRIORITY"), "7");
}

// Issue 15 defect 4: only the stop hook's own run time was compared, not the
// time it waited behind a running start (or on_change) and the child's stop.
TEST_F(HookRoleListenerTest, StopBudgetCountsFromTheDemotion) {
  listener_.OnElected(Leader(10));
  bool stopped = false;
  listener_.OnDemoted(Reason::kExpired, [&] { stopped = true; });
  clock_.Advance(std::chrono::seconds(4));  // the start hook still runs
  runner_.Complete(HookRan(milliseconds(4000)));
  runner_.Complete(HookRan(milliseconds(100)));  // a quick on_stop, but late
  EXPECT_TRUE(stopped);
  EXPECT_EQ(metrics_.hook_over_budget.Value({}), 1u);
}

// Issue 15 defect 4: an involuntary stop without an on_stop hook (a child's
// stop_grace only) was never measured.
TEST_F(HookRoleListenerTest, OverBudgetStopWithoutAHookIsCounted) {
  listener_.OnElected(Leader(10));
  runner_.Complete(HookOutcome{});
  listener_.OnDemoted(Reason::kDisconnected, [] {});
  clock_.Advance(std::chrono::seconds(3));
  runner_.Complete(HookOutcome{});
  EXPECT_EQ(metrics_.hook_over_budget.Value({}), 1u);
}

TEST_F(HookRoleListenerTest, StopWithinTheBudgetOrVoluntaryIsNotCounted) {
  listener_.OnElected(Leader(10));
  runner_.Complete(HookOutcome{});
  listener_.OnDemoted(Reason::kExpired, [] {});
  clock_.Advance(std::chrono::seconds(2));
  runner_.Complete(HookRan(milliseconds(2000)));
  listener_.OnElected(Leader(11));
  runner_.Complete(HookOutcome{});
  listener_.OnDemoted(Reason::kShutdown, [] {});
  clock_.Advance(std::chrono::seconds(10));
  runner_.Complete(HookRan(milliseconds(10000)));
  EXPECT_EQ(metrics_.hook_over_budget.Value({}), 0u);
}

// Issue 15 defect 4: the budget is half the negotiated session timeout, which
// the daemon supplies through Options::stop_budget when the demotion happens.
TEST_F(HookRoleListenerTest, StopBudgetIsTakenAtTheDemotion) {
  listener_.OnElected(Leader(10));
  runner_.Complete(HookOutcome{});
  budget_ = milliseconds(1000);  // a shorter timeout was negotiated meanwhile
  listener_.OnDemoted(Reason::kExpired, [] {});
  clock_.Advance(milliseconds(1500));
  runner_.Complete(HookOutcome{});
  EXPECT_EQ(metrics_.hook_over_budget.Value({}), 1u);
}

// Issue 15 (small ones): a failed start of an earlier term made the current
// term step aside.
TEST_F(HookRoleListenerTest, FailedStartOfAnEarlierTermDoesNotResignTheCurrentTerm) {
  listener_.OnElected(Leader(10));
  listener_.OnDemoted(Reason::kDisconnected, [] {});
  listener_.OnElected(Leader(12));
  runner_.Complete(HookRan(milliseconds(10), 1));  // term 1's start failed
  EXPECT_TRUE(step_asides_.empty());
  runner_.Complete(HookOutcome{});                 // term 1's stop
  runner_.Complete(HookRan(milliseconds(10), 1));  // term 2's start failed
  EXPECT_EQ(step_asides_, std::vector<Reason>{Reason::kHookFailed});
}

// Issue 15 (small ones), same for the leader-only child.
TEST_F(HookRoleListenerTest, ChildExitOfAnEarlierTermDoesNotResignTheCurrentTerm) {
  listener_.OnElected(Leader(10));
  const HookTerm first = runner_.jobs.back().term;
  listener_.OnDemoted(Reason::kDisconnected, [] {});
  listener_.OnElected(Leader(12));
  const HookTerm second = runner_.jobs.back().term;
  EXPECT_NE(first, second);
  listener_.OnChildExited(first, "exit status 1");
  EXPECT_TRUE(step_asides_.empty());
  listener_.OnChildExited(second, "exit status 1");
  EXPECT_EQ(step_asides_, std::vector<Reason>{Reason::kHookFailed});
}

TEST_F(HookRoleListenerTest, SkippedStartIsNeitherRecordedNorAFailure) {
  listener_.OnElected(Leader(10));
  listener_.OnDemoted(Reason::kDisconnected, [] {});
  HookOutcome skipped;
  skipped.skipped = true;
  runner_.Complete(skipped);
  EXPECT_TRUE(step_asides_.empty());
  EXPECT_FALSE(listener_.View().last.has_value());
}

}  // namespace
}  // namespace zkelect
