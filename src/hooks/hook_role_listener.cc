#include "zkelect/hooks/hook_role_listener.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "zkelect/common/clock.h"
#include "zkelect/common/duration.h"
#include "zkelect/common/task_poster.h"
#include "zkelect/hooks/hook_runner.h"
#include "zkelect/metrics/metrics.h"

namespace zkelect {

using std::chrono::milliseconds;

HookRoleListener::HookRoleListener(Options options, HookRunner& runner, TaskPoster& loop,
                                   const Clock& clock, Metrics& metrics)
    : options_(std::move(options)), runner_(runner), loop_(loop), clock_(clock), metrics_(metrics) {
  runner_.SetStartGate([this](HookTerm term) { return MayStart(term); });
}

void HookRoleListener::OnLease(Clock::TimePoint until) {
  lease_.store(until.time_since_epoch().count(), std::memory_order_release);
}

bool HookRoleListener::MayStart(HookTerm term) const {
  return term == leading_term_.load(std::memory_order_acquire) &&
         clock_.Now().time_since_epoch().count() <= lease_.load(std::memory_order_acquire);
}

void HookRoleListener::SetStepAside(std::function<void(Reason)> step_aside) {
  step_aside_ = std::move(step_aside);
}

std::map<std::string, std::string> HookRoleListener::Environment(const char* event, Reason reason,
                                                                 const LeaderView* leader) const {
  std::map<std::string, std::string> env = {
      {"ZKELECT_EVENT", event},
      {"ZKELECT_REASON", std::string(ReasonName(reason))},
      {"ZKELECT_ID", options_.id},
      {"ZKELECT_PRIORITY", std::to_string(options_.priority)},
      {"ZKELECT_ELECTION", options_.election_path},
      {"ZKELECT_LEADER_ID", leader ? leader->identity.id : ""},
      {"ZKELECT_LEADER_ADDRESS", leader ? leader->identity.address : ""},
      {"ZKELECT_LEADER_PRIORITY", leader ? std::to_string(leader->identity.priority) : ""},
      {"ZKELECT_EPOCH", leader ? std::to_string(leader->epoch) : ""},
      {"ZKELECT_PREVIOUS_LEADER_ID", ""},
  };
  return env;
}

void HookRoleListener::OnElected(const LeaderView& self) {
  self_ = self;
  const HookTerm term = ++term_;
  leading_term_.store(term, std::memory_order_release);
  auto env = Environment("start", Reason::kElected, &self);
  if (last_leader_ && last_leader_->node != self.node) {
    env["ZKELECT_PREVIOUS_LEADER_ID"] = last_leader_->identity.id;
  }
  runner_.Run(HookAction::kStart, term, std::move(env), [this, term](const HookOutcome& outcome) {
    loop_.Post([this, term, outcome] {
      if (outcome.skipped) return;  // its term ended before it ran: nothing to undo
      Record(outcome, Reason::kElected);
      // Only this term's failure is a reason to step aside from this term.
      if (!outcome.ok() && options_.resign_on_start_failure && IsCurrent(term) && step_aside_) {
        spdlog::warn("start failed; stepping aside so that another node can lead");
        step_aside_(Reason::kHookFailed);
      }
    });
  });
}

// The budget runs from the demotion, not from when on_stop began: time spent
// behind a running start or on_change and the child's stop_grace count too,
// since the next leader may start from T/2 after our last word with
// ZooKeeper (design §5).
void HookRoleListener::OnDemoted(Reason reason, std::function<void()> stopped) {
  const std::optional<LeaderView> ended = std::exchange(self_, std::nullopt);
  leading_term_.store(0, std::memory_order_release);
  const bool involuntary = reason == Reason::kDisconnected || reason == Reason::kExpired ||
                           reason == Reason::kDeleted || reason == Reason::kUnhealthy;
  const Clock::TimePoint demoted = clock_.Now();
  const milliseconds budget = options_.stop_budget();
  runner_.Run(
      HookAction::kStop, term_, Environment("stop", reason, ended ? &*ended : nullptr),
      [this, reason, involuntary, demoted, budget,
       stopped = std::move(stopped)](const HookOutcome& outcome) {
        const auto took = std::chrono::duration_cast<milliseconds>(clock_.Now() - demoted);
        if (involuntary && took > budget) {
          metrics_.hook_over_budget.Increment({});
          spdlog::warn(
              "the stop finished {} after the involuntary loss of leadership (queue, child and "
              "on_stop), over the {} budget: another node may have started meanwhile",
              FormatDuration(took), FormatDuration(budget));
        }
        loop_.Post([this, outcome, reason, stopped] {
          Record(outcome, reason);
          stopped();
        });
      });
}

void HookRoleListener::OnLeaderChanged(const std::optional<LeaderView>& previous,
                                       const LeaderView& current) {
  last_leader_ = current;
  if (!runner_.has_hook(HookAction::kChange)) return;
  // A change always means someone was elected (design §5's reasons).
  const Reason reason = Reason::kElected;
  auto env = Environment("change", reason, &current);
  if (previous) env["ZKELECT_PREVIOUS_LEADER_ID"] = previous->identity.id;
  runner_.Run(HookAction::kChange, 0, std::move(env), [this, reason](const HookOutcome& outcome) {
    loop_.Post([this, outcome, reason] { Record(outcome, reason); });
  });
}

void HookRoleListener::OnChildExited(HookTerm term, const std::string& status) {
  loop_.Post([this, term, status] {
    if (!IsCurrent(term) || !step_aside_) return;
    spdlog::warn("the leader-only child exited by itself ({}); stepping aside", status);
    step_aside_(Reason::kHookFailed);
  });
}

bool HookRoleListener::IsCurrent(HookTerm term) const { return self_ && term == term_; }

void HookRoleListener::Record(const HookOutcome& outcome, Reason reason) {
  if (!outcome.hook && outcome.child_error.empty()) return;
  HookResultView view;
  view.reason = std::string(ReasonName(reason));
  view.finished = std::chrono::system_clock::now();
  if (outcome.hook) {
    CountRun(*outcome.hook);
    view.hook = outcome.hook->hook;
    view.ok = outcome.hook->ok();
    view.result = outcome.hook->Describe();
    view.duration = outcome.hook->duration;
  }
  if (!outcome.child_error.empty()) {
    if (view.hook.empty()) view.hook = "child";
    view.ok = false;
    view.result = "child could not start: " + outcome.child_error;
  }
  last_ = std::move(view);
}

void HookRoleListener::CountRun(const HookResult& result) {
  std::string outcome = "ok";
  if (!result.status) {
    outcome = "not_started";
  } else if (result.timed_out) {
    outcome = "timeout";
  } else if (!result.ok()) {
    outcome = "failed";
  }
  metrics_.hook_runs.Increment({result.hook, outcome});
  metrics_.hook_duration.Observe({result.hook}, result.duration);
}

HooksView HookRoleListener::View() const {
  HooksView view;
  view.configured = runner_.has_hook(HookAction::kStart) || runner_.has_hook(HookAction::kStop) ||
                    runner_.has_hook(HookAction::kChange) || runner_.has_child();
  view.running = runner_.running();
  view.last = last_;
  return view;
}

}  // namespace zkelect
