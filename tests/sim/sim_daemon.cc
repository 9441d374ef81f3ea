#include "sim/sim_daemon.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "sim/event_queue.h"
#include "sim/invariants.h"
#include "sim/short_name.h"
#include "sim/sim_random.h"
#include "sim/sim_zk_client.h"
#include "sim/trace.h"
#include "zkelect/election/candidate_names.h"
#include "zkelect/election/recipe.h"
#include "zkelect/election/state_board.h"
#include "zkelect/hooks/hook_role_listener.h"
#include "zkelect/metrics/metrics.h"

namespace zkelect::sim {
namespace {

constexpr std::chrono::seconds kMaxSleep{1};  // ElectionLoop's heartbeat
constexpr const char* kElectionPath = "/zkelect/sim";

// Tells the invariant checker about role changes before the hooks hear.
class ObservedListener final : public RoleListener {
 public:
  ObservedListener(RoleListener& inner, std::function<void(const LeaderView&)> elected,
                   std::function<void(Reason)> demoted)
      : inner_(inner), elected_(std::move(elected)), demoted_(std::move(demoted)) {}

  void OnLease(Clock::TimePoint until) override { inner_.OnLease(until); }
  void OnElected(const LeaderView& self) override {
    elected_(self);
    inner_.OnElected(self);
  }
  void OnDemoted(Reason reason, std::function<void()> stopped) override {
    demoted_(reason);
    inner_.OnDemoted(reason, std::move(stopped));
  }
  void OnLeaderChanged(const std::optional<LeaderView>& previous,
                       const LeaderView& current) override {
    inner_.OnLeaderChanged(previous, current);
  }

 private:
  RoleListener& inner_;
  std::function<void(const LeaderView&)> elected_;
  std::function<void(Reason)> demoted_;
};

// The recipe's own invariant check, once it has one (issue 15, point 2): a
// compile-time probe, so this builds before and after that change.
template <typename R>
void CheckRecipe(const R& recipe, InvariantChecker& checker, int index) {
  if constexpr (requires { recipe.CheckInvariants(); }) {
    using Result = decltype(recipe.CheckInvariants());
    if constexpr (std::is_void_v<Result>) {
      recipe.CheckInvariants();
    } else if constexpr (requires(Result r) {
                           r.ok();
                           r.message();
                         }) {
      const auto result = recipe.CheckInvariants();
      if (!result.ok()) {
        checker.Fail(0, fmt::format("daemon {}: Recipe::CheckInvariants: {}", index,
                                    std::string(result.message())));
      }
    } else if constexpr (std::is_convertible_v<Result, bool>) {
      if (!recipe.CheckInvariants()) {
        checker.Fail(0, fmt::format("daemon {}: Recipe::CheckInvariants failed", index));
      }
    }
  }
}

std::chrono::milliseconds ShutdownBudget(const DaemonConfig& config) {
  // As daemon.cc: hooks.timeout + kill_grace + stop_grace + session timeout + 5 s.
  return config.hooks_timeout + config.kill_grace + config.stop_grace + config.session_timeout +
         std::chrono::seconds(5);
}

}  // namespace

// Everything one process owns, in construction order (destroyed in reverse:
// the recipe first, the ZooKeeper client last).
struct SimDaemon::Process {
  Process(SimDaemon& daemon, int index, const DaemonConfig& config, const SimContext& ctx)
      : zk(daemon.name_, index, config.session_timeout, ctx.ensemble, ctx.queue, ctx.random,
           ctx.trace, daemon),
        runner(RunnerOptions(daemon.name_, config), ctx.queue, ctx.random, ctx.trace, daemon),
        hooks(ListenerOptions(config, zk), runner, daemon, ctx.clock, metrics),
        observed(
            hooks,
            [&daemon, index, ctx, this](const LeaderView& self) {
              ctx.checker.OnElected(index, self.epoch, std::string(kElectionPath) + "/" + self.node,
                                    zk.session_id());
              daemon.Note(fmt::format("elected (epoch {}, priority {})", self.epoch,
                                      self.identity.priority));
              if (daemon.on_elected_) daemon.on_elected_(index);
            },
            [&daemon, index, ctx, this](Reason reason) {
              ctx.checker.OnDemoted(index, reason, zk.negotiated_timeout() / 2,
                                    metrics.hook_over_budget.Value({}));
              daemon.Note(fmt::format("demoted ({})", ReasonName(reason)));
              if (reason == Reason::kPreempted) daemon.last_preempted_ = ctx.clock.Now();
            }),
        board(InitialSnapshot(config), &ctx.clock),
        recipe(Options(config, ctx, daemon.maintenance_since_, daemon.priority_, daemon.preempt_),
               zk, ctx.clock, observed, metrics) {
    hooks.SetPriority(daemon.priority_);
    hooks.SetStepAside([this](Reason reason) {
      recipe.Resign(
          std::chrono::seconds(1), [](ElectionControl::ResignOutcome) {}, reason);
    });
    runner.SetChildExitHandler([this](HookTerm term, const ExitStatus& status) {
      hooks.OnChildExited(term, status.ToString());
    });
  }

  // As daemon.cc wires it: the budget is half the negotiated timeout.
  static HookRoleListener::Options ListenerOptions(const DaemonConfig& config,
                                                   const SimZkClient& zk) {
    HookRoleListener::Options options;
    options.id = config.id;
    options.election_path = kElectionPath;
    options.resign_on_start_failure = config.resign_on_start_failure;
    options.stop_budget = [&zk] { return zk.negotiated_timeout() / 2; };
    return options;
  }

  static SimHookRunner::Options RunnerOptions(const std::string& name, const DaemonConfig& config) {
    SimHookRunner::Options options;
    options.hooks.on_start = {"start"};
    if (config.on_stop) options.hooks.on_stop = {"stop"};
    if (config.on_change) options.hooks.on_change = {"change"};
    options.hooks.timeout = config.hooks_timeout;
    options.hooks.kill_grace = config.kill_grace;
    options.hooks.start_failure = config.resign_on_start_failure
                                      ? HooksConfig::StartFailure::kResign
                                      : HooksConfig::StartFailure::kIgnore;
    options.child = config.child;
    options.stop_grace = config.stop_grace;
    options.name = name;
    return options;
  }

  static RecipeOptions Options(
      const DaemonConfig& config, const SimContext& ctx,
      std::optional<std::chrono::system_clock::time_point> maintenance_since, int64_t priority,
      bool preempt) {
    RecipeOptions options;
    options.identity.priority = priority;
    options.preempt = preempt;
    options.preempt_delay = config.preempt_delay;
    options.maintenance_since = maintenance_since;
    // The recipe aborts on a broken invariant of its own: say which seed
    // replays it, and what the world did, first.
    options.on_broken_invariant = [ctx, id = config.id](std::string_view what) {
      std::fprintf(stderr, "seed %llu: %s's Recipe::CheckInvariants: %.*s\n%s",
                   static_cast<unsigned long long>(ctx.seed), id.c_str(),
                   static_cast<int>(what.size()), what.data(), ctx.trace.Tail().c_str());
    };
    options.check_invariants = ctx.recipe_invariants;
    options.new_uuid = [&uuids = ctx.uuids] {
      const uint64_t high = uuids.Next();  // drawn in order (arguments are not)
      return UuidFromBits(high, uuids.Next());
    };
    options.identity.id = config.id;
    options.identity.address = config.id + ":8080";
    options.election_path = kElectionPath;
    options.health_gated = config.health_gated;
    options.recheck_interval = config.recheck_interval;
    options.servers = "sim";
    return options;
  }

  static Snapshot InitialSnapshot(const DaemonConfig& config) {
    Snapshot initial;
    initial.id = config.id;
    initial.election_path = kElectionPath;
    return initial;
  }

  Metrics metrics;
  SimZkClient zk;
  SimHookRunner runner;
  HookRoleListener hooks;
  ObservedListener observed;
  StateBoard board;
  Recipe recipe;
};

SimDaemon::SimDaemon(int index, DaemonConfig config, SimContext context,
                     std::function<void(const CleanExit&)> on_clean_exit)
    : index_(index),
      config_(std::move(config)),
      ctx_(context),
      on_clean_exit_(std::move(on_clean_exit)),
      name_(fmt::format("d{}", index)),
      priority_(config_.priority),
      preempt_(config_.preempt) {}

SimDaemon::~SimDaemon() = default;

void SimDaemon::Note(const std::string& what) { ctx_.trace.Add(name_ + " " + what); }

SimZkClient& SimDaemon::zk() { return process_->zk; }
SimHookRunner& SimDaemon::hooks() { return process_->runner; }

std::chrono::milliseconds SimDaemon::session_timeout() const {
  return process_ ? process_->zk.negotiated_timeout() : config_.session_timeout;
}

bool SimDaemon::LeadsNow() const {
  if (!running() || paused_ || !process_->recipe.leading()) return false;
  const auto view = process_->board.Current();
  return view.snapshot->role == Role::kLeader;
}

std::string SimDaemon::Describe() const {
  if (!process_) return name_ + " down";
  const Snapshot s = process_->recipe.MakeSnapshot();
  return fmt::format("{} {}{}{} priority {} session {} {} node {} candidates {}", name_,
                     RoleName(s.role), paused_ ? " paused" : "", sigterm_ ? " terminating" : "",
                     s.priority, s.session.state, s.session.session_id,
                     s.own_node ? ShortName(*s.own_node) : "-", s.candidates.size());
}

// ---------------------------------------------------------------------------
// Process life

void SimDaemon::Start() {
  if (process_) return;
  ++incarnation_;
  paused_ = false;
  exiting_ = false;
  sigterm_.reset();
  inbox_.clear();
  planned_ = TimePoint::max();
  last_role_ = -1;
  ctx_.checker.OnProcessStart(index_);
  withdrawn_ = in_maintenance();
  ctx_.checker.OnMaintenance(index_, in_maintenance());
  process_ = std::make_unique<Process>(*this, index_, config_, ctx_);
  Note("process starts");
  Post([this] { process_->recipe.Start(); });
  if (config_.health_gated) {
    const auto first_verdict =
        ctx_.random.Between(std::chrono::milliseconds(50), std::chrono::milliseconds(500));
    ctx_.queue.After(first_verdict, [this, incarnation = incarnation_] {
      if (incarnation == incarnation_ && running()) SetHealth(healthy_);
    });
  }
}

void SimDaemon::Crash() {
  if (!process_) return;
  Note("crashes");
  EndProcess("its process crashed");
}

void SimDaemon::EndProcess(const char* how) {
  ctx_.checker.OnProcessEnd(index_, how);
  process_.reset();
  inbox_.clear();
  ++incarnation_;
  paused_ = false;
  exiting_ = false;
  sigterm_.reset();
}

void SimDaemon::Pause() {
  if (!running() || paused_) return;
  Note("paused (SIGSTOP)");
  paused_ = true;
  process_->zk.SetPaused(true);
  process_->runner.SetPaused(true);
  ctx_.checker.OnPause(index_);
}

void SimDaemon::Resume() {
  if (!process_ || !paused_) return;
  Note("resumed (SIGCONT)");
  paused_ = false;
  ctx_.checker.OnResume(index_);
  Wake(ctx_.clock.Now());  // OnWake() first, before what queued up
  process_->zk.SetPaused(false);
  // Which of the loop's and the hook runner's threads runs first after
  // SIGCONT is the kernel's choice: draw it.
  if (ctx_.random.Below(2) == 0) {
    process_->runner.SetPaused(false);
  } else {
    ctx_.queue.After(Clock::Duration(0), [this, incarnation = incarnation_] {
      if (incarnation == incarnation_ && process_ && !paused_) process_->runner.SetPaused(false);
    });
  }
}

void SimDaemon::Terminate() {
  if (!running() || sigterm_) return;
  Note("SIGTERM");
  sigterm_ = ctx_.clock.Now();
  Post([this, incarnation = incarnation_] {
    process_->recipe.Shutdown([this, incarnation] {
      // Never destroy the recipe inside its own call: exit right after.
      exiting_ = true;
      ctx_.queue.After(Clock::Duration(0), [this, incarnation] {
        if (incarnation == incarnation_) Exit("its process exited after leaving the election");
      });
    });
  });
  ctx_.queue.After(ShutdownBudget(config_), [this, incarnation = incarnation_] {
    if (incarnation == incarnation_ && process_) Exit("its process exited at the shutdown budget");
  });
}

void SimDaemon::Exit(const char* how) {
  Note(how);
  CleanExit exit;
  exit.daemon = index_;
  exit.sigterm = sigterm_.value_or(ctx_.clock.Now());
  exit.exited = ctx_.clock.Now();
  exit.budget = ShutdownBudget(config_);
  exit.sessions = process_->zk.sessions();
  EndProcess(how);
  on_clean_exit_(exit);
}

void SimDaemon::Resign(std::chrono::milliseconds hold) {
  if (!running()) return;
  Post([this, hold] {
    Recipe& recipe = process_->recipe;
    if (recipe.leading()) {
      const Snapshot s = recipe.MakeSnapshot();
      ctx_.checker.OnResignRequested(index_, hold,
                                     std::string(kElectionPath) + "/" + s.own_node.value_or(""));
    }
    Note(fmt::format("POST /resign?hold={}ms", hold.count()));
    recipe.Resign(hold, [this](ElectionControl::ResignOutcome outcome) {
      static constexpr const char* kOutcomes[] = {"done",      "not_leader", "observer",
                                                  "not_saved", "cancelled",  "shutting_down"};
      Note(fmt::format("resign answered {}", kOutcomes[static_cast<int>(outcome)]));
      ctx_.checker.OnResignAnswered(index_, outcome);
    });
  });
}

void SimDaemon::Withdraw() {
  if (!running()) return;
  if (!maintenance_since_) maintenance_since_ = ctx_.clock.WallNow();
  // The checker hears of it when the loop does, in the loop's order: a join
  // saved after this withdraw but run by the loop after it must not be
  // overtaken (found by the simulator, seed 17: a withdraw posted while
  // paused, then a join, left the checker in maintenance after the join).
  Post([this, since = *maintenance_since_] {
    ctx_.checker.OnMaintenance(index_, true);
    Recipe& recipe = process_->recipe;
    const Snapshot s = recipe.MakeSnapshot();
    const std::string node =
        s.own_node ? std::string(kElectionPath) + "/" + *s.own_node : std::string();
    Note("POST /withdraw");
    recipe.SetMaintenance(true, since, [this, node](ElectionControl::ResignOutcome outcome) {
      Note(fmt::format("withdraw answered {}", static_cast<int>(outcome)));
      if (outcome != ElectionControl::ResignOutcome::kDone) return;
      ctx_.checker.OnWithdrawDone(index_, node);
      withdrawn_ = in_maintenance();
    });
  });
}

void SimDaemon::Join() {
  maintenance_since_.reset();
  withdrawn_ = false;
  if (!running()) {
    ctx_.checker.OnMaintenance(index_, false);  // the next start reads the saved state
    return;
  }
  Post([this] {
    ctx_.checker.OnMaintenance(index_, false);
    Note("POST /join");
    process_->recipe.SetMaintenance(
        false, ctx_.clock.WallNow(), [this](ElectionControl::ResignOutcome outcome) {
          Note(fmt::format("join answered {}", static_cast<int>(outcome)));
        });
  });
}

void SimDaemon::Reload(const std::string& address, int64_t priority) {
  if (!running()) return;
  priority_ = priority;
  Post([this, address, priority] {
    Note(fmt::format("SIGHUP: address {}, priority {}", address, priority));
    process_->hooks.SetPriority(priority);
    process_->recipe.Reconfigure(address, {{"reload", address}}, priority,
                                 config_.recheck_interval);
  });
}

std::chrono::milliseconds SimDaemon::effective_preempt_delay() const {
  if (!process_) return config_.preempt_delay;
  return process_->recipe.MakeSnapshot().preempt.effective_delay;
}

void SimDaemon::SetPreempt(bool preempt) {
  preempt_ = preempt;
  if (!running()) return;
  Post([this, preempt] {
    Note(fmt::format("SIGHUP: preempt {}", preempt));
    process_->recipe.SetPreemption(preempt, config_.preempt_delay);
  });
}

void SimDaemon::SetHealth(bool healthy) {
  healthy_ = healthy;
  if (!running() || !config_.health_gated) return;
  Post([this, healthy] {
    Note(healthy ? "health check passes" : "health check fails");
    process_->recipe.SetHealth(healthy, healthy ? "ok" : "failing");
  });
}

// ---------------------------------------------------------------------------
// The loop

void SimDaemon::Post(std::function<void()> task) {
  if (!running()) return;
  inbox_.push_back(std::move(task));
  if (!paused_) Wake(ctx_.clock.Now());
}

void SimDaemon::Wake(TimePoint when) {
  if (when >= planned_) return;
  planned_ = when;
  ctx_.queue.At(when, [this, incarnation = incarnation_, when] {
    if (incarnation != incarnation_ || planned_ != when) return;
    planned_ = TimePoint::max();
    Step();
  });
}

void SimDaemon::Step() {
  if (!running() || paused_) return;
  const TimePoint now = ctx_.clock.Now();
  ctx_.checker.OnStep(index_);
  Recipe& recipe = process_->recipe;
  // Deadlines first (rule 7), then one event, then publish: ElectionLoop::Run.
  recipe.OnWake();
  if (!inbox_.empty()) {
    std::function<void()> task = std::move(inbox_.front());
    inbox_.pop_front();
    task();
  }
  if (!process_) return;
  Snapshot snapshot = recipe.MakeSnapshot();
  if (withdrawn_ && snapshot.own_node) {
    ctx_.checker.Fail(5, fmt::format("daemon {} holds node {} while in maintenance (withdraw "
                                     "answered done, no join since)",
                                     index_, ShortName(*snapshot.own_node)));
  }
  const std::optional<TimePoint> lease = recipe.LeaseExpiry();
  const int role = static_cast<int>(snapshot.role);
  if (role != last_role_) {
    Note(fmt::format("role {}", RoleName(snapshot.role)));
    last_role_ = role;
  }
  process_->board.Publish(std::move(snapshot), lease);
  const auto view = process_->board.Current();
  const bool board_leader = view.snapshot->role == Role::kLeader;
  const int64_t epoch = board_leader && view.snapshot->leader ? view.snapshot->leader->epoch : 0;
  ctx_.checker.AfterStep(index_, board_leader, epoch, lease);
  CheckRecipe(recipe, ctx_.checker, index_);
  if (exiting_) return;
  if (!inbox_.empty()) {
    Wake(now + kStepCost);
  } else {
    Wake(std::clamp<TimePoint>(recipe.NextWakeup(), now + kStepCost, now + kMaxSleep));
  }
}

// ---------------------------------------------------------------------------
// Hooks

namespace {
int64_t EpochOf(const std::map<std::string, std::string>& env) {
  auto it = env.find("ZKELECT_EPOCH");
  return it != env.end() && !it->second.empty() ? std::stoll(it->second) : 0;
}
}  // namespace

void SimDaemon::OnHookBegin(HookAction action, const std::map<std::string, std::string>& env) {
  ctx_.checker.OnHookBegin(index_, action, EpochOf(env));
}

void SimDaemon::OnHookSkipped(HookAction action, const std::map<std::string, std::string>& env) {
  ctx_.checker.OnHookSkipped(index_, action, EpochOf(env));
}

void SimDaemon::OnHookEnd(HookAction action, const HookOutcome& /*outcome*/) {
  if (!process_) return;
  ctx_.checker.OnHookEnd(index_, action, process_->metrics.hook_over_budget.Value({}));
}

}  // namespace zkelect::sim
