#include "zkelect/hooks/hook_runner_impl.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "zkelect/common/duration.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;

// While a child runs, the runner looks at it this often between actions.
constexpr milliseconds kChildPoll{100};
// A child that keeps dying is restarted at most this often.
constexpr milliseconds kRestartDelay{1000};

milliseconds Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
}

// Ends `process`: SIGTERM to its group, SIGKILL after `grace`. Returns how it
// ended.
ExitStatus Terminate(Process& process, milliseconds grace, const Process::LineCallback& on_line) {
  process.SignalGroup(SIGTERM);
  if (auto status = process.Wait(grace, on_line)) return *status;
  process.SignalGroup(SIGKILL);
  return process.Wait(milliseconds(5000), on_line).value_or(ExitStatus{-1, SIGKILL});
}

}  // namespace

HookRunnerImpl::HookRunnerImpl(HooksConfig hooks, ChildConfig child, ProcessSpawner& spawner)
    : spawner_(spawner), hooks_(std::move(hooks)), child_config_(std::move(child)) {}

HookRunnerImpl::~HookRunnerImpl() { Stop(); }

void HookRunnerImpl::SetChildExitHandler(std::function<void(HookTerm, const ExitStatus&)> handler) {
  on_child_exit_ = std::move(handler);
}

void HookRunnerImpl::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void HookRunnerImpl::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The thread stopped the child itself: the child's parent-death signal is
  // that thread's exit. Without a thread (never started), stop it here.
  if (child_) StopChild();
  drainer_.Stop();
}

void HookRunnerImpl::Run(HookAction action, HookTerm term, std::map<std::string, std::string> env,
                         std::function<void(const HookOutcome&)> done) {
  {
    MutexLock lock(&mu_);
    if (stopping_) return;
    Job job{action, term, std::move(env), std::move(done)};
    if (action == HookAction::kStop) {
      // Ahead of every queued start and change, behind the queued stops.
      ended_term_ = std::max(ended_term_, term);
      const auto first_other = std::find_if(queue_.begin(), queue_.end(), [](const Job& queued) {
        return queued.action != HookAction::kStop;
      });
      queue_.insert(first_other, std::move(job));
    } else {
      queue_.push_back(std::move(job));
    }
  }
  wake_.notify_one();
}

void HookRunnerImpl::KillRunning() {
  MutexLock lock(&kill_mu_);
  killed_ = true;
  for (Process* process : {killable_hook_, killable_child_}) {
    if (process != nullptr) process->SignalGroup(SIGKILL);
  }
}

void HookRunnerImpl::SetKillable(Process** slot, Process* process) {
  MutexLock lock(&kill_mu_);
  *slot = process;
  if (process != nullptr && killed_) process->SignalGroup(SIGKILL);
}

std::optional<std::string> HookRunnerImpl::running() const {
  MutexLock lock(&mu_);
  return running_;
}

void HookRunnerImpl::Reconfigure(HooksConfig hooks, ChildConfig child) {
  MutexLock lock(&mu_);
  child.command = child_config_.command;  // from the command line: never reloaded
  hooks_ = std::move(hooks);
  child_config_ = std::move(child);
}

HooksConfig HookRunnerImpl::hooks() const {
  MutexLock lock(&mu_);
  return hooks_;
}

ChildConfig HookRunnerImpl::child_config() const {
  MutexLock lock(&mu_);
  return child_config_;
}

bool HookRunnerImpl::has_child() const {
  MutexLock lock(&mu_);
  return !child_config_.command.empty();
}

bool HookRunnerImpl::has_hook(HookAction action) const {
  MutexLock lock(&mu_);
  switch (action) {
    case HookAction::kStart:
      return !hooks_.on_start.empty();
    case HookAction::kStop:
      return !hooks_.on_stop.empty();
    case HookAction::kChange:
      return !hooks_.on_change.empty();
  }
  return false;
}

bool HookRunnerImpl::StopQueued() const {
  MutexLock lock(&mu_);
  return std::any_of(queue_.begin(), queue_.end(),
                     [](const Job& job) { return job.action == HookAction::kStop; });
}

bool HookRunnerImpl::NextJob(std::optional<Job>* job) {
  MutexLock lock(&mu_);
  if (queue_.empty() && !stopping_) {
    // Idle: until woken, and with a child, until the next look at it or
    // its restart, whichever comes first.
    if (child_ || restart_at_) {
      auto until = std::chrono::steady_clock::now() + kChildPoll;
      if (restart_at_) until = std::min(until, *restart_at_);
      lock.WaitUntil(wake_, until);
    } else {
      lock.Wait(wake_);
    }
  }
  if (stopping_) return false;
  if (queue_.empty()) return true;
  *job = std::move(queue_.front());
  queue_.pop_front();
  (*job)->stale = (*job)->action == HookAction::kStart && (*job)->term <= ended_term_;
  return true;
}

void HookRunnerImpl::Loop() {
  for (;;) {
    std::optional<Job> job;
    if (!NextJob(&job)) break;
    if (job) {
      HookOutcome outcome = Execute(*job);
      job->done(outcome);  // a handoff waits for this, not for the log line
      if (outcome.hook) LogResult(*outcome.hook);
    } else if (restart_at_ && std::chrono::steady_clock::now() >= *restart_at_) {
      restart_at_.reset();
      StartChild(child_env_);
    }
    WatchChild();
  }
  if (child_) StopChild();
}

const std::vector<std::string>& HookRunnerImpl::CommandFor(const HooksConfig& hooks,
                                                           HookAction action) {
  switch (action) {
    case HookAction::kStart:
      return hooks.on_start;
    case HookAction::kStop:
      return hooks.on_stop;
    case HookAction::kChange:
      return hooks.on_change;
  }
  return hooks.on_change;  // unreachable: every action is listed
}

HookOutcome HookRunnerImpl::Execute(const Job& job) {
  HookOutcome outcome;
  if (job.stale) {
    spdlog::info("on_start of leadership term {} dropped: that term ended before it could run",
                 job.term);
    outcome.skipped = true;
    return outcome;
  }
  if (job.action == HookAction::kStart && start_gate_ && !start_gate_(job.term)) {
    // The process was paused (or the loop late) with this start queued: its
    // lease ran out before it could begin, and the loop steps down when it runs.
    spdlog::info("on_start of leadership term {} dropped: its lease ran out before it began",
                 job.term);
    outcome.skipped = true;
    return outcome;
  }
  if (job.action == HookAction::kStop && !started_) {
    // Its start was dropped (or never queued): the application was never
    // told to start, so it is not told to stop (start and stop alternate).
    spdlog::info("on_stop of leadership term {} skipped: no start ran since the last stop",
                 job.term);
    outcome.skipped = true;
    return outcome;
  }
  if (job.action == HookAction::kStart) started_ = true;
  if (job.action == HookAction::kStop) started_ = false;
  if (job.action != HookAction::kChange) restart_at_.reset();  // the action decides now
  if (job.action == HookAction::kStop && child_) StopChild();  // child first, then on_stop
  // The hooks as configured now: a reload during this hook takes effect at the next.
  const HooksConfig hooks = this->hooks();
  const std::vector<std::string>& argv = CommandFor(hooks, job.action);
  if (!argv.empty()) outcome.hook = RunHook(HookName(job.action), argv, job.env, hooks);
  if (job.action == HookAction::kStart && has_child()) {
    const bool go = !outcome.hook || outcome.hook->ok() ||
                    hooks.start_failure == HooksConfig::StartFailure::kIgnore;
    if (go) {
      outcome.child_error = StartChild(job.env);
      child_term_ = job.term;
    }
  }
  return outcome;
}

HookResult HookRunnerImpl::RunHook(const std::string& name, const std::vector<std::string>& argv,
                                   const std::map<std::string, std::string>& env,
                                   const HooksConfig& hooks) {
  HookResult result;
  result.hook = name;
  const auto start = std::chrono::steady_clock::now();
  {
    MutexLock lock(&mu_);
    running_ = name;
  }
  LineBuffer::LineCallback log_line = [name](std::string_view line) {
    spdlog::info("hook {}: {}", name, line);
  };
  Result<std::unique_ptr<Process>> spawned = spawner_.Spawn(argv, {env, true});
  if (!spawned.ok()) {
    result.error = spawned.status().message();
  } else {
    Process& process = **spawned;
    SetKillable(&killable_hook_, &process);
    result.status = process.Wait(hooks.timeout, log_line);
    if (!result.status) {
      result.timed_out = true;
      spdlog::warn("hook {} still running after {}; sending SIGTERM to its process group", name,
                   FormatDuration(hooks.timeout));
      result.status = Terminate(process, hooks.kill_grace, log_line);
    }
    SetKillable(&killable_hook_, nullptr);
    // Whatever it left running still writes to the pipe: read on.
    LineBuffer rest;
    if (const int fd = process.ReleaseOutput(&rest); fd >= 0) {
      drainer_.Adopt(fd, std::move(rest), std::move(log_line));
    }
  }
  result.duration = Since(start);
  {
    MutexLock lock(&mu_);
    running_.reset();
  }
  return result;
}

void HookRunnerImpl::LogResult(const HookResult& result) {
  if (result.ok()) {
    spdlog::info("hook {} finished: {} in {}", result.hook, result.Describe(),
                 FormatDuration(result.duration));
  } else {
    spdlog::warn("hook {} failed: {} (after {})", result.hook, result.Describe(),
                 FormatDuration(result.duration));
  }
}

std::string HookRunnerImpl::StartChild(const std::map<std::string, std::string>& env) {
  if (child_) return "";
  const std::vector<std::string> command = child_config().command;
  Result<std::unique_ptr<Process>> spawned = spawner_.Spawn(command, {env, false});
  if (!spawned.ok()) {
    spdlog::error("leader-only child: {}", spawned.status().message());
    return spawned.status().message();
  }
  child_ = std::move(spawned).value();
  SetKillable(&killable_child_, child_.get());
  child_env_ = env;
  spdlog::info("leader-only child started: {} (pid {})", command[0], child_->pid());
  return "";
}

void HookRunnerImpl::StopChild() {
  const int pid = child_->pid();
  const ExitStatus status = Terminate(*child_, child_config().stop_grace, nullptr);
  spdlog::info("leader-only child {} stopped: {}", pid, status.ToString());
  SetKillable(&killable_child_, nullptr);
  child_.reset();
}

// The child exited by itself: schedule its restart or report it (once per
// exit). Not restarted when a stop is queued: that stop would only stop it.
void HookRunnerImpl::WatchChild() {
  if (!child_) return;
  std::optional<ExitStatus> status = child_->TryReap();
  if (!status) return;
  spdlog::warn("leader-only child {} exited by itself: {}", child_->pid(), status->ToString());
  SetKillable(&killable_child_, nullptr);
  child_.reset();
  if (child_config().on_exit == ChildConfig::OnExit::kRestart) {
    if (StopQueued()) {
      spdlog::info("not restarting the leader-only child: a stop is queued");
    } else {
      restart_at_ = std::chrono::steady_clock::now() + kRestartDelay;
    }
  } else if (on_child_exit_) {
    on_child_exit_(child_term_, *status);
  }
}

}  // namespace zkelect
