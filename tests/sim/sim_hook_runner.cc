#include "sim/sim_hook_runner.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <utility>

#include "sim/event_queue.h"
#include "sim/sim_random.h"
#include "sim/trace.h"

namespace zkelect::sim {
namespace {}  // namespace

SimHookRunner::SimHookRunner(Options options, EventQueue& queue, SimRandom& random, Trace& trace,
                             HookObserver& observer)
    : options_(std::move(options)),
      queue_(queue),
      random_(random),
      trace_(trace),
      observer_(observer) {}

SimHookRunner::~SimHookRunner() { *alive_ = false; }

bool SimHookRunner::has_hook(HookAction action) const {
  switch (action) {
    case HookAction::kStart:
      return !options_.hooks.on_start.empty();
    case HookAction::kStop:
      return !options_.hooks.on_stop.empty();
    case HookAction::kChange:
      return !options_.hooks.on_change.empty();
  }
  return false;
}

std::optional<std::string> SimHookRunner::running() const {
  if (!current_) return std::nullopt;
  return std::string(HookName(current_->action));
}

void SimHookRunner::Run(HookAction action, HookTerm term, std::map<std::string, std::string> env,
                        std::function<void(const HookOutcome&)> done) {
  Job job{action, term, std::move(env), std::move(done)};
  if (action == HookAction::kStop) {
    // Ahead of every queued start and change; behind the queued stops.
    for (Job& queued : queue_jobs_) {
      if (queued.action == HookAction::kStart && queued.term <= term) queued.skipped = true;
    }
    auto first_other = std::find_if(queue_jobs_.begin(), queue_jobs_.end(), [](const Job& queued) {
      return queued.action != HookAction::kStop;
    });
    queue_jobs_.insert(first_other, std::move(job));
  } else {
    queue_jobs_.push_back(std::move(job));
  }
  // Never inside Run(): the next action begins from an event of its own.
  if (!current_ && !start_pending_) {
    start_pending_ = true;
    queue_.After(Clock::Duration(0), [this, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.expired()) return;
      start_pending_ = false;
      Next();
    });
  }
}

HookResult SimHookRunner::Draw(const char* name, std::chrono::milliseconds* duration) {
  HookResult result;
  result.hook = name;
  result.status = ExitStatus{0, 0};
  *duration = random_.Between(profile_.min_duration, profile_.max_duration);
  if (random_.Chance(profile_.slow_per_million)) {
    *duration = random_.Between(profile_.max_duration, profile_.slow_duration);
  }
  if (random_.Chance(profile_.fail_per_million)) result.status = ExitStatus{1, 0};
  if (*duration > options_.hooks.timeout || random_.Chance(profile_.hang_per_million)) {
    result.timed_out = true;
    result.status = ExitStatus{-1, 15};
    *duration = options_.hooks.timeout +
                random_.Between(std::chrono::milliseconds(0), options_.hooks.kill_grace);
  }
  result.duration = *duration;
  return result;
}

void SimHookRunner::SetPaused(bool paused) {
  paused_ = paused;
  if (paused) return;
  for (auto& work : std::exchange(deferred_, {})) work();
  Next();
}

void SimHookRunner::Next() {
  if (paused_) return;  // the resume calls it
  // Dropped without running anything: a start whose term a later stop
  // ended, and a stop with no start since the last stop (they alternate).
  while (!current_ && !queue_jobs_.empty()) {
    const Job& front = queue_jobs_.front();
    const bool stale_start = front.action == HookAction::kStart &&
                             (front.skipped || (start_gate_ && !start_gate_(front.term)));
    const bool idle_stop = front.action == HookAction::kStop && !started_since_stop_;
    if (!stale_start && !idle_stop) break;
    Job skipped = std::move(queue_jobs_.front());
    queue_jobs_.pop_front();
    trace_.Add(fmt::format("{} hook {} skipped (term {})", options_.name, HookName(skipped.action),
                           skipped.term));
    HookOutcome outcome;
    outcome.skipped = true;
    skipped.done(outcome);
    observer_.OnHookSkipped(skipped.action, skipped.env);
  }
  if (current_ || queue_jobs_.empty()) return;
  current_ = std::move(queue_jobs_.front());
  queue_jobs_.pop_front();
  current_outcome_ = HookOutcome{};
  if (current_->action != HookAction::kChange) {
    started_since_stop_ = current_->action == HookAction::kStart;
  }
  observer_.OnHookBegin(current_->action, current_->env);
  std::chrono::milliseconds total{0};
  if (current_->action == HookAction::kStop && child_running_) {
    child_running_ = false;
    total += random_.Between(std::chrono::milliseconds(0), options_.stop_grace);
  }
  if (has_hook(current_->action)) {
    std::chrono::milliseconds duration;
    current_outcome_.hook = Draw(HookName(current_->action), &duration);
    total += duration;
  }
  trace_.Add(fmt::format("{} hook {} begins ({} ms{})", options_.name, HookName(current_->action),
                         total.count(),
                         current_outcome_.ok() ? "" : ", " + current_outcome_.hook->Describe()));
  const uint64_t id = ++job_id_;
  current_end_ = queue_.clock().Now() + total;
  queue_.At(current_end_, [this, alive = std::weak_ptr<bool>(alive_), id] {
    if (!alive.expired()) Finish(id);
  });
}

void SimHookRunner::Finish(uint64_t job_id) {
  if (!current_ || job_id != job_id_) return;
  Job job = std::move(*current_);
  current_.reset();
  HookOutcome outcome = std::move(current_outcome_);
  if (paused_) {
    // The hook's process ended now; the runner's thread sees it on resume
    // (and only then can the listener count an over-budget stop, so the
    // checker hears of the end then too: a longer stop, never a shorter one).
    deferred_.push_back([this, job = std::move(job), outcome = std::move(outcome)]() mutable {
      Complete(std::move(job), std::move(outcome));
    });
    return;
  }
  Complete(std::move(job), std::move(outcome));
  Next();
}

void SimHookRunner::Complete(Job job, HookOutcome outcome) {
  if (job.action == HookAction::kStart && options_.child) {
    const bool go = !outcome.hook || outcome.hook->ok() ||
                    options_.hooks.start_failure == HooksConfig::StartFailure::kIgnore;
    if (go) StartChild(job.term);
  }
  trace_.Add(fmt::format("{} hook {} ends", options_.name, HookName(job.action)));
  job.done(outcome);  // first: the listener counts an over-budget stop here
  observer_.OnHookEnd(job.action, outcome);
}

void SimHookRunner::StartChild(HookTerm term) {
  if (child_running_) return;
  child_running_ = true;
  const uint64_t id = ++child_id_;
  if (!random_.Chance(profile_.child_exit_per_million)) return;
  const auto after =
      random_.Between(std::chrono::milliseconds(10), std::chrono::milliseconds(3000));
  queue_.After(after, [this, alive = std::weak_ptr<bool>(alive_), id, term] {
    if (alive.expired() || !child_running_ || id != child_id_) return;
    child_running_ = false;
    trace_.Add(fmt::format("{} leader-only child exits by itself", options_.name));
    auto report = [this, term] {
      if (child_exit_) child_exit_(term, ExitStatus{3, 0});
    };
    if (paused_) {
      deferred_.push_back(report);
    } else {
      report();
    }
  });
}

std::chrono::nanoseconds SimHookRunner::Busy() const {
  auto end = current_ ? current_end_ : queue_.clock().Now();
  const auto longest =
      std::max(profile_.max_duration, std::chrono::milliseconds(0)) + options_.stop_grace;
  end += longest * static_cast<int64_t>(queue_jobs_.size());
  return end - queue_.clock().Now();
}

}  // namespace zkelect::sim
