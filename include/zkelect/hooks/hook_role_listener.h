#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "zkelect/common/clock.h"
#include "zkelect/election/role_listener.h"
#include "zkelect/election/snapshot.h"
#include "zkelect/hooks/hook_runner.h"

namespace zkelect {

class TaskPoster;
struct Metrics;

// The RoleListener of a daemon with hooks (design §5): turns role changes
// into HookRunner actions with the hook environment, and the runner's results
// back into events on the election loop:
//  - elected → on_start (+ the leader-only child) of a new term (counted
//    from 1); a failed start with start_failure = resign asks the recipe to
//    step aside (hook_failed), and so does a child that exits by itself,
//    but only while that term is still ours;
//  - demoted → stop the child, on_stop; `stopped` is posted to the loop when
//    it has finished, so a resign or shutdown deletes the node only then. An
//    involuntary stop that ends later than Options::stop_budget after the
//    demotion is warned about and counted (hook_over_budget);
//  - leader changed → on_change.
// Data that came from ZooKeeper (other nodes' ids) goes only into
// environment variables, never into a command line.
//
// Election loop thread only, except where noted.
class HookRoleListener final : public RoleListener {
 public:
  struct Options {
    std::string id;
    std::string election_path;
    bool resign_on_start_failure = true;
    // The time from an involuntary demotion to the end of its stop (queue,
    // child and on_stop) beyond which the next leader may already have
    // started (design §5): half the NEGOTIATED session timeout. Asked at each
    // demotion, on the loop thread. Over it: a warning and hook_over_budget.
    std::function<std::chrono::milliseconds()> stop_budget = [] {
      return std::chrono::milliseconds(5000);
    };
  };

  // `runner`, `loop`, `clock` and `metrics` must outlive the listener; hook
  // runs are counted in `metrics`; `clock` times the stop budget and the
  // lease. Sets the runner's start gate (MayStart), so it must be made
  // before the runner starts.
  HookRoleListener(Options options, HookRunner& runner, TaskPoster& loop, const Clock& clock,
                   Metrics& metrics);

  // How to step aside after a failed start (or a child that exited): the
  // daemon wires it to Recipe::Resign with the given reason. Loop thread.
  void SetStepAside(std::function<void(Reason)> step_aside);

  // A live reload of hooks.start_failure: whether a failed start steps
  // aside, decided when a start's outcome comes back (a start running now
  // is judged by the value then). Loop thread.
  void SetResignOnStartFailure(bool resign) { options_.resign_on_start_failure = resign; }

  void OnLease(Clock::TimePoint until) override;
  void OnElected(const LeaderView& self) override;
  void OnDemoted(Reason reason, std::function<void()> stopped) override;
  void OnLeaderChanged(const std::optional<LeaderView>& previous,
                       const LeaderView& current) override;

  // The leader-only child started by the kStart of `term` exited by itself.
  // Any thread: posts to the loop, which steps aside only if that term is
  // still ours.
  void OnChildExited(HookTerm term, const std::string& status);

  // Whether the leadership of `term` still holds now: it is the current one
  // and its lease has not run out. Any thread (the runner asks it right
  // before a start begins).
  bool MayStart(HookTerm term) const;

  // Hook state for /status.
  HooksView View() const;

 private:
  std::map<std::string, std::string> Environment(const char* event, Reason reason,
                                                 const LeaderView* leader) const;
  // Whether `term` is the leadership we hold now.
  bool IsCurrent(HookTerm term) const;
  // Keeps `outcome` for /status and counts the run in metrics.
  void Record(const HookOutcome& outcome, Reason reason);
  void CountRun(const HookResult& result);

  Options options_;  // resign_on_start_failure: see SetResignOnStartFailure()
  HookRunner& runner_;
  TaskPoster& loop_;
  const Clock& clock_;
  Metrics& metrics_;

  std::function<void(Reason)> step_aside_;
  std::optional<LeaderView> self_;         // our leadership, while it lasts
  HookTerm term_ = 0;                      // elections so far; self_'s term
  std::optional<LeaderView> last_leader_;  // for ZKELECT_PREVIOUS_LEADER_ID
  std::optional<HookResultView> last_;
  // For MayStart() on the runner's thread: the term we lead (0: none) and its
  // lease, in Clock ticks.
  std::atomic<HookTerm> leading_term_{0};
  std::atomic<Clock::Duration::rep> lease_{0};
};

}  // namespace zkelect
