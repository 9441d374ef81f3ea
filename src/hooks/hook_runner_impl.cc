#include "zkelect/hooks/hook_runner_impl.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "zkelect/common/duration.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;

// While a child runs, the runner looks at it this often between actions.
constexpr milliseconds kChildPoll{100};
// A child that keeps dying is restarted at most this often.
constexpr milliseconds kRestartDelay{1000};

const char* HookName(HookAction action) {
  switch (action) {
    case HookAction::kStart:
      return "on_start";
    case HookAction::kStop:
      return "on_stop";
    case HookAction::kChange:
      return "on_change";
  }
  return "hook";
}

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

std::string HookResult::Describe() const {
  if (!error.empty()) return "could not start: " + error;
  if (timed_out) return "timed out after " + FormatDuration(duration);
  return status ? status->ToString() : "unknown";
}

HookRunnerImpl::HookRunnerImpl(HooksConfig hooks, ChildConfig child, ProcessSpawner& spawner)
    : hooks_(std::move(hooks)), child_config_(std::move(child)), spawner_(spawner) {}

HookRunnerImpl::~HookRunnerImpl() { Stop(); }

void HookRunnerImpl::SetChildExitHandler(
    std::function<void(HookTerm, const ExitStatus&)> handler) {
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
  if (child_) StopChild();  // the thread is gone; this is the only owner now
}

void HookRunnerImpl::Run(HookAction action, HookTerm term, std::map<std::string, std::string> env,
                         std::function<void(const HookOutcome&)> done) {
  {
    MutexLock lock(&mu_);
    if (stopping_) return;
    queue_.push_back(Job{action, term, std::move(env), std::move(done)});
  }
  wake_.notify_one();
}

void HookRunnerImpl::KillRunning() {
  if (const int pgid = hook_pgid_.load(); pgid > 0) kill(-pgid, SIGKILL);
  if (const int pgid = child_pgid_.load(); pgid > 0) kill(-pgid, SIGKILL);
}

std::optional<std::string> HookRunnerImpl::running() const {
  MutexLock lock(&mu_);
  return running_;
}

bool HookRunnerImpl::has_hook(HookAction action) const {
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

void HookRunnerImpl::Loop() {
  for (;;) {
    Job job;
    {
      MutexLock lock(&mu_);
      while (queue_.empty() && !stopping_) {
        if (child_) {
          lock.WaitUntil(wake_, std::chrono::steady_clock::now() + kChildPoll);
          break;
        }
        lock.Wait(wake_);
      }
      if (stopping_) return;
      if (queue_.empty()) {
        job.done = nullptr;
      } else {
        job = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (job.done) {
      HookOutcome outcome = Execute(job);
      job.done(outcome);  // a handoff waits for this, not for the log line
      if (outcome.hook) LogResult(*outcome.hook);
    }
    WatchChild();
  }
}

const std::vector<std::string>& HookRunnerImpl::CommandFor(HookAction action) const {
  switch (action) {
    case HookAction::kStart:
      return hooks_.on_start;
    case HookAction::kStop:
      return hooks_.on_stop;
    case HookAction::kChange:
      return hooks_.on_change;
  }
  return hooks_.on_change;  // unreachable: every action is listed
}

HookOutcome HookRunnerImpl::Execute(const Job& job) {
  HookOutcome outcome;
  if (job.action == HookAction::kStop && child_) StopChild();  // child first, then on_stop
  const std::vector<std::string>& argv = CommandFor(job.action);
  if (!argv.empty()) outcome.hook = RunHook(HookName(job.action), argv, job.env);
  if (job.action == HookAction::kStart && has_child()) {
    const bool go = !outcome.hook || outcome.hook->ok() ||
                    hooks_.start_failure == HooksConfig::StartFailure::kIgnore;
    if (go) {
      outcome.child_error = StartChild(job.env);
      child_term_ = job.term;
    }
  }
  return outcome;
}

HookResult HookRunnerImpl::RunHook(const std::string& name, const std::vector<std::string>& argv,
                               const std::map<std::string, std::string>& env) {
  HookResult result;
  result.hook = name;
  const auto start = std::chrono::steady_clock::now();
  {
    MutexLock lock(&mu_);
    running_ = name;
  }
  auto log_line = [&name](std::string_view line) { spdlog::info("hook {}: {}", name, line); };
  Result<std::unique_ptr<Process>> spawned = spawner_.Spawn(argv, {env, true});
  if (!spawned.ok()) {
    result.error = spawned.status().message();
  } else {
    Process& process = **spawned;
    hook_pgid_ = process.pid();  // the leader of its own process group
    result.status = process.Wait(hooks_.timeout, log_line);
    if (!result.status) {
      result.timed_out = true;
      spdlog::warn("hook {} still running after {}; sending SIGTERM to its process group", name,
                   FormatDuration(hooks_.timeout));
      result.status = Terminate(process, hooks_.kill_grace, log_line);
    }
  }
  hook_pgid_ = 0;
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
  Result<std::unique_ptr<Process>> spawned = spawner_.Spawn(child_config_.command, {env, false});
  if (!spawned.ok()) {
    spdlog::error("leader-only child: {}", spawned.status().message());
    return spawned.status().message();
  }
  child_ = std::move(spawned).value();
  child_pgid_ = child_->pid();
  child_env_ = env;
  spdlog::info("leader-only child started: {} (pid {})", child_config_.command[0], child_->pid());
  return "";
}

void HookRunnerImpl::StopChild() {
  const int pid = child_->pid();
  const ExitStatus status = Terminate(*child_, child_config_.stop_grace, nullptr);
  spdlog::info("leader-only child {} stopped: {}", pid, status.ToString());
  child_pgid_ = 0;
  child_.reset();
}

// The child exited by itself: restart it or report it (once per exit).
void HookRunnerImpl::WatchChild() {
  if (!child_) return;
  std::optional<ExitStatus> status = child_->TryReap();
  if (!status) return;
  spdlog::warn("leader-only child {} exited by itself: {}", child_->pid(), status->ToString());
  child_pgid_ = 0;
  child_.reset();
  if (child_config_.on_exit == ChildConfig::OnExit::kRestart) {
    std::this_thread::sleep_for(kRestartDelay);
    StartChild(child_env_);
  } else if (on_child_exit_) {
    on_child_exit_(child_term_, *status);
  }
}

}  // namespace zkelect
