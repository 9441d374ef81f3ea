#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zkelect/common/clock.h"
#include "zkelect/config/config.h"
#include "zkelect/hooks/hook_runner.h"

namespace zkelect::sim {

class EventQueue;
class SimRandom;
class Trace;

// How a daemon's hooks behave: the simulator changes it to inject slow,
// failing and hanging hooks. Chances are per million runs.
struct HookProfile {
  std::chrono::milliseconds min_duration{1};
  std::chrono::milliseconds max_duration{40};
  uint32_t slow_per_million = 0;  // runs up to `slow_duration` instead
  std::chrono::milliseconds slow_duration{3000};
  uint32_t fail_per_million = 0;        // exits 1
  uint32_t hang_per_million = 0;        // runs until hooks.timeout, then killed
  uint32_t child_exit_per_million = 0;  // per start: the child exits by itself later
};

// Told when a hook command begins and ends (the invariant checker's view of
// "acting as leader": a start's begin to a stop's end).
class HookObserver {
 public:
  virtual ~HookObserver() = default;
  virtual void OnHookBegin(HookAction action, const std::map<std::string, std::string>& env) = 0;
  virtual void OnHookEnd(HookAction action, const HookOutcome& outcome) = 0;
  // The action was dropped without running anything (HookOutcome::skipped).
  virtual void OnHookSkipped(HookAction action, const std::map<std::string, std::string>& env) = 0;
};

// The HookRunner of a simulated daemon (design §5) in virtual time, keeping
// the interface's ordering contract: one action at a time; a kStop goes
// ahead of every queued kStart and kChange (kStops keep their order); a
// queued kStart of a term <= that of a kStop queued after it is skipped, and
// so is a kStop with no kStart run since the last kStop.
// start = on_start, then the leader-only child if the hook succeeded (or
// start_failure is ignore); stop = stop the child (up to stop_grace), then
// on_stop; change = on_change. A hook past hooks.timeout is killed: it ends
// up to kill_grace later, timed out. The child may exit by itself (the
// child-exit handler is told, with the term that started it). `done` runs
// at the action's end from a queue event, never inside Run().
//
// Not thread-safe: the simulator is single-threaded.
class SimHookRunner final : public HookRunner {
 public:
  struct Options {
    HooksConfig hooks;   // only the commands' presence, timeout, kill_grace, start_failure
    bool child = false;  // a leader-only child is configured
    std::chrono::milliseconds stop_grace{500};
    std::string name;  // tags trace lines
  };

  SimHookRunner(Options options, EventQueue& queue, SimRandom& random, Trace& trace,
                HookObserver& observer);
  // The process is gone: its hooks and child die with it; no `done` comes.
  ~SimHookRunner() override;
  SimHookRunner(const SimHookRunner&) = delete;
  SimHookRunner& operator=(const SimHookRunner&) = delete;

  // The leader-only child of the start of `term` exited by itself.
  void SetChildExitHandler(std::function<void(HookTerm, const ExitStatus&)> handler) {
    child_exit_ = std::move(handler);
  }

  // HookRunner:
  void Run(HookAction action, HookTerm term, std::map<std::string, std::string> env,
           std::function<void(const HookOutcome&)> done) override;
  void SetStartGate(std::function<bool(HookTerm)> may_start) override {
    start_gate_ = std::move(may_start);
  }
  std::optional<std::string> running() const override;
  bool has_hook(HookAction action) const override;
  bool has_child() const override { return options_.child; }

  // The daemon's process is stopped (SIGSTOP) or runs again: the runner's
  // thread stops with it, so no new action begins and no `done` is called
  // until the resume; a hook already running is a process of its own and
  // ends when it ends.
  void SetPaused(bool paused);

  // How long until the action running now and every queued one have ended,
  // if each takes its profile's longest (for the liveness deadline).
  std::chrono::nanoseconds Busy() const;

  HookProfile& profile() { return profile_; }

 private:
  struct Job {
    HookAction action;
    HookTerm term;
    std::map<std::string, std::string> env;
    std::function<void(const HookOutcome&)> done;
    bool skipped = false;
  };

  void Next();
  // How long one hook command runs, and how it ends.
  HookResult Draw(const char* name, std::chrono::milliseconds* duration);
  void Finish(uint64_t job_id);
  // The runner's thread learns that `job` ended: its `done`, then the
  // observer.
  void Complete(Job job, HookOutcome outcome);
  void StartChild(HookTerm term);

  const Options options_;
  EventQueue& queue_;
  SimRandom& random_;
  Trace& trace_;
  HookObserver& observer_;
  HookProfile profile_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::function<void(HookTerm, const ExitStatus&)> child_exit_;

  std::deque<Job> queue_jobs_;
  std::optional<Job> current_;
  HookOutcome current_outcome_;
  uint64_t job_id_ = 0;
  Clock::TimePoint current_end_{};
  bool start_pending_ = false;       // an event to begin the next action is queued
  bool started_since_stop_ = false;  // a kStart ran since the last kStop
  bool paused_ = false;
  std::function<bool(HookTerm)> start_gate_;
  std::vector<std::function<void()>> deferred_;  // the runner thread's work after a resume
  bool child_running_ = false;
  uint64_t child_id_ = 0;
};

}  // namespace zkelect::sim
