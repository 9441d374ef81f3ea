#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "sim/sim_hook_runner.h"
#include "zkelect/common/task_poster.h"
#include "zkelect/election/role_listener.h"
#include "zkelect/metrics/metrics.h"

namespace zkelect::sim {

// TODO(hooks seam): delete this class once HookRunner is an interface
// (/work/wt/HOOK_SEAM.md) and SimDaemon drives the real HookRoleListener
// over SimHookRunner. Until then it does what HookRoleListener does
// (src/hooks/hook_role_listener.cc at 7d3fb03), line for line where the
// election can tell: elected -> start; demoted -> stop, then `stopped`
// posted to the loop; a failed start (start_failure = resign) or a child
// that exited steps aside; an involuntary stop whose hook ran longer than
// `stop_budget` counts a warning (its own run time only, as today).
//
// Election loop only.
class StandInHookListener final : public RoleListener {
 public:
  StandInHookListener(SimHookRunner& runner, TaskPoster& loop, Metrics& metrics,
                      std::chrono::milliseconds stop_budget, bool resign_on_start_failure)
      : runner_(runner),
        loop_(loop),
        metrics_(metrics),
        stop_budget_(stop_budget),
        resign_on_start_failure_(resign_on_start_failure) {}

  void SetStepAside(std::function<void(Reason)> step_aside) { step_aside_ = std::move(step_aside); }

  void OnElected(const LeaderView& self) override {
    self_ = self;
    runner_.Run(HookAction::kStart, {{"ZKELECT_EPOCH", std::to_string(self.epoch)}},
                [this](const HookOutcome& outcome) {
                  loop_.Post([this, ok = outcome.ok()] {
                    if (!ok && resign_on_start_failure_ && self_ && step_aside_) {
                      step_aside_(Reason::kHookFailed);
                    }
                  });
                });
  }

  void OnDemoted(Reason reason, std::function<void()> stopped) override {
    const std::optional<LeaderView> ended = std::exchange(self_, std::nullopt);
    const bool involuntary = reason == Reason::kDisconnected || reason == Reason::kExpired ||
                             reason == Reason::kDeleted || reason == Reason::kUnhealthy;
    runner_.Run(HookAction::kStop,
                {{"ZKELECT_EPOCH", ended ? std::to_string(ended->epoch) : std::string()}},
                [this, involuntary, stopped = std::move(stopped)](const HookOutcome& outcome) {
                  if (involuntary && outcome.hook && outcome.hook->duration > stop_budget_) {
                    metrics_.hook_over_budget.Increment({});
                  }
                  loop_.Post(stopped);
                });
  }

  void OnLeaderChanged(const std::optional<LeaderView>& /*previous*/,
                       const LeaderView& current) override {
    if (!runner_.has_hook(HookAction::kChange)) return;
    runner_.Run(HookAction::kChange, {{"ZKELECT_EPOCH", std::to_string(current.epoch)}},
                [](const HookOutcome&) {});
  }

  void OnChildExited(const std::string& /*status*/) {
    loop_.Post([this] {
      if (self_ && step_aside_) step_aside_(Reason::kHookFailed);
    });
  }

 private:
  SimHookRunner& runner_;
  TaskPoster& loop_;
  Metrics& metrics_;
  const std::chrono::milliseconds stop_budget_;
  const bool resign_on_start_failure_;
  std::function<void(Reason)> step_aside_;
  std::optional<LeaderView> self_;
};

}  // namespace zkelect::sim
