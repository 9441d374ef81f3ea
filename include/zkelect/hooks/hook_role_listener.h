#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "zkelect/election/role_listener.h"
#include "zkelect/election/snapshot.h"

namespace zkelect {

class HookRunner;
class TaskPoster;
struct HookResult;
struct Metrics;
struct HookOutcome;

// The RoleListener of a daemon with hooks (design §5): turns role changes
// into HookRunner actions with the hook environment, and the runner's results
// back into events on the election loop:
//  - elected → on_start (+ the leader-only child); a failed start with
//    start_failure = resign asks the recipe to step aside (hook_failed);
//  - demoted → stop the child, on_stop; `stopped` is posted to the loop when
//    it has finished, so a resign or shutdown deletes the node only then;
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
    // Beyond this, a stop hook after an involuntary loss may overlap the
    // next leader's start (design §5): logged as a warning.
    std::chrono::milliseconds stop_budget{5000};
  };

  // `runner`, `loop` and `metrics` must outlive the listener; hook runs
  // are counted in `metrics`.
  HookRoleListener(Options options, HookRunner& runner, TaskPoster& loop, Metrics& metrics);

  // How to step aside after a failed start (or a child that exited): the
  // daemon wires it to Recipe::Resign with the given reason. Loop thread.
  void SetStepAside(std::function<void(Reason)> step_aside);

  void OnElected(const LeaderView& self) override;
  void OnDemoted(Reason reason, std::function<void()> stopped) override;
  void OnLeaderChanged(const std::optional<LeaderView>& previous,
                       const LeaderView& current) override;

  // The leader-only child exited by itself. Any thread: posts to the loop.
  void OnChildExited(const std::string& status);

  // Hook state for /status.
  HooksView View() const;

 private:
  std::map<std::string, std::string> Environment(const char* event, Reason reason,
                                                 const LeaderView* leader) const;
  // Keeps `outcome` for /status and counts the run in metrics.
  void Record(const HookOutcome& outcome, Reason reason);
  void CountRun(const HookResult& result);

  const Options options_;
  HookRunner& runner_;
  TaskPoster& loop_;
  Metrics& metrics_;

  std::function<void(Reason)> step_aside_;
  std::optional<LeaderView> self_;         // our leadership, while it lasts
  std::optional<LeaderView> last_leader_;  // for ZKELECT_PREVIOUS_LEADER_ID
  std::optional<HookResultView> last_;
};

}  // namespace zkelect
