#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "zkelect/common/mutex.h"
#include "zkelect/config/config.h"
#include "zkelect/hooks/hook_runner.h"
#include "zkelect/hooks/output_drainer.h"
#include "zkelect/hooks/process_spawner.h"

namespace zkelect {

// The HookRunner of the daemon: runs hook commands strictly one after
// another on its own thread (never on the ZooKeeper or HTTP threads), and
// owns the leader-only child of `zkelect run -- CMD` (design §5, issue 3).
//
// A hook runs as an argv without a shell, in its own process group, with the
// daemon's environment (minus its own settings, see InheritedEnvironment())
// plus the action's. Its output is logged line by line tagged with its name;
// what background processes it left write to the same pipe is logged on
// (OutputDrainer) until they close it. Past hooks.timeout its group gets
// SIGTERM, and SIGKILL hooks.kill_grace later, however much it prints.
//
// Queue order and stale starts: see HookRunner. A child that exits by itself
// is restarted (child.on_exit = restart) one kRestartDelay later, unless a
// kStop is queued by then; the delay never holds up a queued action.
//
// Thread-safe. Callbacks run on the runner thread and must not block.
class HookRunnerImpl final : public HookRunner {
 public:
  // `spawner` must outlive the runner.
  HookRunnerImpl(HooksConfig hooks, ChildConfig child, ProcessSpawner& spawner);
  ~HookRunnerImpl() override;  // Stop()s
  HookRunnerImpl(const HookRunnerImpl&) = delete;
  HookRunnerImpl& operator=(const HookRunnerImpl&) = delete;

  // Called when the leader-only child exits by itself (not when we stop it)
  // and child.on_exit is resign, with the term whose kStart started it. Set
  // before Start().
  void SetChildExitHandler(std::function<void(HookTerm, const ExitStatus&)> handler);

  void Start();

  // A live reload: replaces the hooks and the child's policies (on_exit,
  // stop_grace; its command comes from the command line and stays). A hook
  // running now finishes under the settings it started with; the next one,
  // and has_hook(), use these. Any thread.
  void Reconfigure(HooksConfig hooks, ChildConfig child) EXCLUDES(mu_);

  // Finishes the action running now, drops the queue, stops the child (if
  // still running) and joins the thread. Idempotent.
  void Stop() EXCLUDES(mu_);

  void Run(HookAction action, HookTerm term, std::map<std::string, std::string> env,
           std::function<void(const HookOutcome&)> done) override EXCLUDES(mu_);

  // SIGKILLs the process groups of the hook running now and of the
  // leader-only child, and of any started after this call, for an exit that
  // cannot wait (a second signal). Never signals a group already reaped.
  // Thread-safe; the runner thread reaps them.
  void KillRunning() EXCLUDES(kill_mu_);

  // Before Start(): the runner's thread reads it without a lock.
  void SetStartGate(std::function<bool(HookTerm)> may_start) override {
    start_gate_ = std::move(may_start);
  }
  std::optional<std::string> running() const override EXCLUDES(mu_);
  bool has_hook(HookAction action) const override EXCLUDES(mu_);
  bool has_child() const override EXCLUDES(mu_);

 private:
  struct Job {
    HookAction action;
    HookTerm term = 0;
    std::map<std::string, std::string> env;
    std::function<void(const HookOutcome&)> done;
    bool stale = false;  // a kStart whose term ended while it was queued
  };

  static const std::vector<std::string>& CommandFor(const HooksConfig& hooks, HookAction action);
  HooksConfig hooks() const EXCLUDES(mu_);
  ChildConfig child_config() const EXCLUDES(mu_);
  void Loop() EXCLUDES(mu_);
  // Waits until there is something to do: sets `job` to the next one, or
  // leaves it empty (a restart due, or time to look at the child). False
  // when the runner is stopping.
  bool NextJob(std::optional<Job>* job) EXCLUDES(mu_);
  // Whether a kStop waits in the queue.
  bool StopQueued() const EXCLUDES(mu_);
  HookOutcome Execute(const Job& job);
  // Makes `process` (nullptr: none) the one in `slot` that KillRunning()
  // reaches; kills it at once if KillRunning() has been called already.
  void SetKillable(Process** slot, Process* process) EXCLUDES(kill_mu_);
  HookResult RunHook(const std::string& name, const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env, const HooksConfig& hooks);
  static void LogResult(const HookResult& result);
  std::string StartChild(const std::map<std::string, std::string>& env);
  void StopChild();
  void WatchChild();

  // Constant after construction.
  ProcessSpawner& spawner_;

  mutable Mutex mu_;
  // Replaced by Reconfigure(); the runner thread copies them per action.
  HooksConfig hooks_ GUARDED_BY(mu_);
  ChildConfig child_config_ GUARDED_BY(mu_);
  std::condition_variable wake_;
  std::deque<Job> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::optional<std::string> running_ GUARDED_BY(mu_);
  // The highest term of any kStop queued: a kStart of a term up to it is
  // stale and is dropped.
  HookTerm ended_term_ GUARDED_BY(mu_) = 0;

  // What KillRunning() reaches: the hook running now and the child. Set
  // right after the spawn and cleared before the Process is destroyed.
  Mutex kill_mu_;
  Process* killable_hook_ GUARDED_BY(kill_mu_) = nullptr;
  Process* killable_child_ GUARDED_BY(kill_mu_) = nullptr;
  bool killed_ GUARDED_BY(kill_mu_) = false;

  // Background output of hooks that have exited.
  OutputDrainer drainer_;

  // Set before Start(), read by the runner's thread.
  std::function<bool(HookTerm)> start_gate_;

  // Runner thread only (and Stop() after the join).
  std::function<void(HookTerm, const ExitStatus&)> on_child_exit_;
  std::unique_ptr<Process> child_;
  HookTerm child_term_ = 0;
  bool started_ = false;  // a kStart ran since the last kStop
  std::map<std::string, std::string> child_env_;
  // When the child that exited by itself is due to be restarted.
  std::optional<std::chrono::steady_clock::time_point> restart_at_;
  std::thread thread_;
};

}  // namespace zkelect
