#include "sim/invariants.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <utility>

#include "sim/short_name.h"

namespace zkelect::sim {
namespace {

// Design §7 invariant 2's voluntary handoffs: resign, withdraw, shutdown,
// a health withdrawal, a step-aside after a failed start, a preemption.
bool Voluntary(Reason reason) {
  return reason == Reason::kResigned || reason == Reason::kShutdown ||
         reason == Reason::kUnhealthy || reason == Reason::kHookFailed ||
         reason == Reason::kMaintenance || reason == Reason::kPreempted;
}

}  // namespace

InvariantChecker::InvariantChecker(const SimClock& clock, int daemons,
                                   std::function<bool(const std::string&)> node_exists)
    : clock_(clock), node_exists_(std::move(node_exists)), daemons_(static_cast<size_t>(daemons)) {}

std::string InvariantChecker::Now() const {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_.Elapsed()).count();
  return fmt::format("{}.{:06}s", us / 1'000'000, us % 1'000'000);
}

void InvariantChecker::Fail(int invariant, std::string message) {
  if (violation_) return;
  violation_ =
      Violation{invariant, fmt::format("invariant {} at {}: {}", invariant, Now(), message)};
}

// ---------------------------------------------------------------------------
// Process life

void InvariantChecker::OnProcessStart(int d) {
  Daemon& daemon = At(d);
  daemon.last_hook.reset();
  daemon.hook_running = false;  // the hooks of the process before died with it
  daemon.stops_pending = 0;
  daemon.paused = false;
  daemon.board_leader = false;
  daemon.resigning = false;
  daemon.no_lead_until = {};
}

void InvariantChecker::OnPause(int d) {
  Daemon& daemon = At(d);
  daemon.paused = true;
  for (Leadership& lead : daemon.leads) lead.frozen = true;
}

void InvariantChecker::OnResume(int d) {
  At(d).paused = false;
  At(d).first_step_after_resume = true;
}

void InvariantChecker::OnProcessEnd(int d, const char* how) {
  Daemon& daemon = At(d);
  // Its hooks' process groups are killed and the leader-only child gets its
  // parent-death signal: the leadership ends now.
  for (const Leadership& lead : std::exchange(daemon.leads, {})) {
    if (lead.started) EndLeadership(d, lead, how, 0);
  }
  daemon.board_leader = false;
  daemon.stops_pending = 0;
  daemon.paused = false;
  daemon.resigning = false;
}

// ---------------------------------------------------------------------------
// Steps and the board

void InvariantChecker::OnStep(int d) {
  Daemon& daemon = At(d);
  const int64_t second = std::chrono::duration_cast<std::chrono::seconds>(clock_.Elapsed()).count();
  if (second != daemon.wake_second) {
    daemon.wake_second = second;
    daemon.wakeups = 0;
  }
  if (++daemon.wakeups > kMaxWakeupsPerSecond) {
    Fail(7, fmt::format("daemon {} woke more than {} times within one second (a busy loop)", d,
                        kMaxWakeupsPerSecond));
  }
}

void InvariantChecker::AfterStep(int d, bool board_leader, int64_t board_epoch,
                                 std::optional<TimePoint> lease) {
  Daemon& daemon = At(d);
  if (daemon.first_step_after_resume) {
    daemon.first_step_after_resume = false;
    // The pause excuses only a leadership that stopped first thing now.
    for (Leadership& lead : daemon.leads) {
      lead.frozen = lead.frozen && lead.demoted && lead.demoted_at == clock_.Now();
    }
    // Rule 7: a leader that was frozen while another took over stops first
    // thing when it runs again.
    for (const Leadership& lead : daemon.leads) {
      if (lead.overlapped && !lead.demoted) {
        Fail(1, fmt::format("daemon {} (epoch {}) was frozen while another node started to "
                            "lead, and its first step after the resume did not step down",
                            d, lead.epoch));
      }
    }
  }
  const bool claims = board_leader && lease && clock_.Now() < *lease;
  if (claims && (!daemon.board_leader || daemon.board_epoch != board_epoch ||
                 clock_.Now() >= daemon.board_lease)) {
    CheckClaim(d, board_epoch, "its state board answers leader");
  }
  daemon.board_leader = claims;
  daemon.board_epoch = board_epoch;
  daemon.board_lease = lease.value_or(TimePoint{});
}

// ---------------------------------------------------------------------------
// Role changes and hooks

void InvariantChecker::OnElected(int d, int64_t epoch, const std::string& node_path,
                                 int64_t session) {
  Daemon& daemon = At(d);
  if (daemon.maintenance) {
    Fail(5, fmt::format("daemon {} claims the lead (epoch {}) while in maintenance", d, epoch));
  }
  Leadership lead;
  lead.epoch = epoch;
  lead.node_path = node_path;
  lead.session = session;
  lead.removed_by_foreign = std::find(deleted_by_operator_.begin(), deleted_by_operator_.end(),
                                      node_path) != deleted_by_operator_.end();
  if (lead.removed_by_foreign) lead.node_gone = NodeGone::kDeleted;
  daemon.leads.push_back(std::move(lead));
}

void InvariantChecker::OnDemoted(int d, Reason reason, Millis budget, uint64_t warnings) {
  Daemon& daemon = At(d);
  ++daemon.stops_pending;
  // A demotion ends whatever leadership of this daemon still stands.
  for (Leadership& lead : daemon.leads) {
    if (lead.demoted) continue;
    lead.demoted = true;
    lead.demoted_at = clock_.Now();
    lead.voluntary = Voluntary(reason);
    lead.budget = budget;
    lead.warnings_at_demotion = warnings;
  }
}

void InvariantChecker::OnHookSkipped(int d, HookAction action, int64_t epoch) {
  Daemon& daemon = At(d);
  if (action == HookAction::kStop) {
    daemon.stops_pending = std::max(0, daemon.stops_pending - 1);
  } else if (action == HookAction::kStart) {
    auto lead =
        std::find_if(daemon.leads.begin(), daemon.leads.end(),
                     [epoch](const Leadership& l) { return !l.started && l.epoch == epoch; });
    if (lead != daemon.leads.end()) daemon.leads.erase(lead);
  }
}

void InvariantChecker::OnHookBegin(int d, HookAction action, int64_t epoch) {
  Daemon& daemon = At(d);
  if (action == HookAction::kChange) return;
  if (daemon.last_hook == action) {
    Fail(8, fmt::format("daemon {} began two {} hooks without a{} in between", d,
                        action == HookAction::kStart ? "start" : "stop",
                        action == HookAction::kStart ? " stop" : " start"));
    return;
  }
  if (action == HookAction::kStop && !daemon.last_hook) {
    Fail(8, fmt::format("daemon {} began a stop hook without a start before it", d));
    return;
  }
  // One action at a time: a stop begins once the start has ended (the
  // application is not told to stop while it is still being started).
  if (daemon.hook_running) {
    Fail(8, fmt::format("daemon {} began a {} while its {} still ran", d,
                        action == HookAction::kStart ? "start" : "stop",
                        action == HookAction::kStart ? "stop" : "start"));
    return;
  }
  daemon.hook_running = true;
  daemon.last_hook = action;
  if (action == HookAction::kStop) return;

  if (daemon.resigning) {
    Fail(5, fmt::format("daemon {} starts to lead (epoch {}) while its resign is not answered yet",
                        d, epoch));
  } else if (clock_.Now() < daemon.no_lead_until) {
    Fail(5, fmt::format("daemon {} starts to lead (epoch {}) before the hold of its resign ended",
                        d, epoch));
  }
  // Invariant 3. The same node leading again in the same session (after a
  // reconnect, rule 6) keeps its epoch; every other leadership needs a
  // greater one.
  auto lead = std::find_if(daemon.leads.begin(), daemon.leads.end(),
                           [](const Leadership& l) { return !l.started; });
  if (lead == daemon.leads.end() || lead->epoch != epoch) {
    // A start whose leadership is unknown here: check it all the same.
    Leadership stray;
    stray.epoch = epoch;
    lead = daemon.leads.insert(lead, stray);
  }
  const bool same_term =
      last_epoch_daemon_ == d && epoch == last_epoch_ && lead->session == last_epoch_session_;
  if (epoch <= last_epoch_ && !same_term && !lead->removed_by_foreign) {
    Fail(3, fmt::format("daemon {} starts under epoch {}, not above the last leadership's {} "
                        "(daemon {})",
                        d, epoch, last_epoch_, last_epoch_daemon_));
  }
  if (epoch >= last_epoch_) {
    last_epoch_ = epoch;
    last_epoch_daemon_ = d;
    last_epoch_session_ = lead->session;
  }
  lead->started = true;
  ++leaderships_;
  CheckClaim(d, epoch, "its start hook begins");
}

void InvariantChecker::OnHookEnd(int d, HookAction action, uint64_t warnings) {
  Daemon& daemon = At(d);
  if (action == HookAction::kChange) return;
  daemon.hook_running = false;
  if (action != HookAction::kStop) return;
  daemon.stops_pending = std::max(0, daemon.stops_pending - 1);
  if (daemon.leads.empty() || !daemon.leads.front().started) return;
  const Leadership lead = std::move(daemon.leads.front());
  daemon.leads.pop_front();
  EndLeadership(d, lead, "its stop hook ended", warnings);
}

void InvariantChecker::CheckClaim(int later, int64_t epoch, const char* what) {
  // A claim on a node an operator had deleted rests on a view older than
  // the delete (a read answered before it, or by a server cut off from the
  // quorum): the operator's act, like the delete of a leader's node below.
  for (const Leadership& lead : At(later).leads) {
    if (lead.epoch == epoch && lead.removed_by_foreign) return;
  }
  for (int earlier = 0; earlier < static_cast<int>(daemons_.size()); ++earlier) {
    if (earlier == later) continue;
    Daemon& a = At(earlier);
    // An operator deleted the earlier leader's node: nothing can make the
    // next one wait (rule 5 only asks the earlier to step down).
    const bool deleted_by_operator = std::any_of(
        a.leads.begin(), a.leads.end(), [](const Leadership& l) { return l.removed_by_foreign; });
    if (a.board_leader && clock_.Now() < a.board_lease && !deleted_by_operator) {
      Fail(1, fmt::format("daemon {} claims leadership (epoch {}: {}) while daemon {}'s state "
                          "board still answers leader (epoch {}) within its lease",
                          later, epoch, what, earlier, a.board_epoch));
    }
    for (Leadership& lead : a.leads) {
      if (lead.started) CheckAgainst(earlier, lead, later, epoch, what);
    }
  }
}

void InvariantChecker::CheckAgainst(int earlier, Leadership& lead, int later, int64_t epoch,
                                    const char* what) {
  const Daemon& a = At(earlier);
  const std::string claim =
      fmt::format("daemon {} claims leadership (epoch {}: {}) while daemon {} (epoch {})", later,
                  epoch, what, earlier, lead.epoch);
  if (lead.removed_by_foreign) return;  // an operator deleted its node: nothing can wait
  if (a.paused || lead.frozen) {
    lead.overlapped = true;
    if (epoch <= lead.epoch) Fail(1, claim + " is frozen, and the later epoch is not greater");
    return;
  }
  if (!lead.demoted) {
    Fail(1, claim + " still leads: it has not stepped down");
    return;
  }
  if (!lead.node_path.empty() && node_exists_(lead.node_path)) {
    Fail(1, claim + " is still stopping, and its node still exists");
    return;
  }
  if (lead.voluntary && lead.node_gone != NodeGone::kSessionExpired) {
    Fail(2, claim + " is still running the stop hook of a voluntary handoff");
    return;
  }
  lead.pending.push_back(Leadership::Pending{later, epoch, clock_.Now()});
}

void InvariantChecker::EndLeadership(int d, const Leadership& lead, const char* how,
                                     uint64_t warnings) {
  for (const Leadership::Pending& pending : lead.pending) {
    const auto took = clock_.Now() - lead.demoted_at;
    const std::string overlap = fmt::format(
        "daemon {} claimed leadership (epoch {}) at {} ms before daemon {}'s stop ended ({}, {} ms "
        "after its step-down; budget {} ms)",
        pending.later, pending.later_epoch,
        std::chrono::duration_cast<Millis>(pending.at - lead.demoted_at).count(), d, how,
        std::chrono::duration_cast<Millis>(took).count(), lead.budget.count());
    if (took <= lead.budget) {
      Fail(1, overlap + ": the stop was within its budget");
    } else if (!lead.voluntary && warnings <= lead.warnings_at_demotion &&
               std::string_view(how) == "its stop hook ended") {
      Fail(1, overlap + ": the stop exceeded its budget, but no over-budget warning was counted");
    }
  }
}

// ---------------------------------------------------------------------------
// Resign and nodes

void InvariantChecker::OnResignRequested(int d, Millis hold, const std::string& node_path) {
  Daemon& daemon = At(d);
  daemon.resigning = true;
  daemon.resign_hold = hold;
  daemon.resign_node = node_path;
}

void InvariantChecker::OnResignAnswered(int d, ElectionControl::ResignOutcome outcome) {
  Daemon& daemon = At(d);
  if (!daemon.resigning) return;
  daemon.resigning = false;
  if (outcome != ElectionControl::ResignOutcome::kDone) return;
  if (node_exists_(daemon.resign_node)) {
    Fail(5, fmt::format("daemon {}'s resign answered done while its node {} still exists", d,
                        ShortName(daemon.resign_node)));
  }
  // A withdraw that came during the resign ended its hold (seed 912: the
  // resign was answered after the withdraw, and the join that followed
  // rejoined at once, as Recipe::SetMaintenance says).
  if (daemon.maintenance) return;
  daemon.no_lead_until = clock_.Now() + daemon.resign_hold;
}

void InvariantChecker::OnMaintenance(int d, bool on) {
  Daemon& daemon = At(d);
  daemon.maintenance = on;
  // A withdraw ends a resign's hold (Recipe::SetMaintenance): maintenance
  // keeps the node out instead, and a join rejoins at once (seed 501).
  if (on) daemon.no_lead_until = {};
}

void InvariantChecker::OnWithdrawDone(int d, const std::string& node_path) {
  if (!node_path.empty() && node_exists_(node_path)) {
    Fail(5, fmt::format("daemon {}'s withdraw answered done while its node {} still exists", d,
                        ShortName(node_path)));
  }
}

void InvariantChecker::OnNodeRemoved(const std::string& path, const Znode& node, int owner, int by,
                                     NodeGone how) {
  if (how == NodeGone::kDeleted && by < 0) {
    deleted_by_operator_.push_back(path);
    if (deleted_by_operator_.size() > 64) deleted_by_operator_.pop_front();
  }
  if (owner < 0) return;
  Daemon& daemon = At(owner);
  const bool own_act =
      (how == NodeGone::kDeleted && by == owner) || how == NodeGone::kSessionClosed;
  if (own_act && daemon.stops_pending > 0) {
    Fail(2, fmt::format("daemon {} {} its node {} (epoch {}) while its stop hook still runs "
                        "(rule 12)",
                        owner, how == NodeGone::kDeleted ? "deleted" : "closed the session of",
                        ShortName(path), node.czxid));
  }
  for (Leadership& lead : daemon.leads) {
    if (lead.node_path != path) continue;
    lead.node_gone = how;
    lead.removed_by_foreign = how == NodeGone::kDeleted && by < 0;
  }
}

}  // namespace zkelect::sim
