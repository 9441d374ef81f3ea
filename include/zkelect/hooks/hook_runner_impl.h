#pragma once

#include <atomic>
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
#include "zkelect/hooks/process_spawner.h"

namespace zkelect {

// The HookRunner of the daemon: runs hook commands strictly one after
// another on its own thread (never on the ZooKeeper or HTTP threads), and
// owns the leader-only child of `zkelect run -- CMD` (design §5, issue 3).
//
// A hook runs as an argv without a shell, in its own process group, with the
// daemon's environment plus the action's. Its output is logged line by line
// tagged with its name. Past hooks.timeout its group gets SIGTERM, and
// SIGKILL hooks.kill_grace later.
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

  // Finishes the action running now, drops the queue, stops the child (if
  // still running) and joins the thread. Idempotent.
  void Stop();

  void Run(HookAction action, HookTerm term, std::map<std::string, std::string> env,
           std::function<void(const HookOutcome&)> done) override EXCLUDES(mu_);

  // SIGKILLs the process groups of the hook running now and of the
  // leader-only child, for an exit that cannot wait (a second signal).
  // Thread-safe; the runner thread reaps them.
  void KillRunning();

  std::optional<std::string> running() const override EXCLUDES(mu_);
  bool has_hook(HookAction action) const override;
  bool has_child() const override { return !child_config_.command.empty(); }

 private:
  struct Job {
    HookAction action;
    HookTerm term = 0;
    std::map<std::string, std::string> env;
    std::function<void(const HookOutcome&)> done;
  };

  const std::vector<std::string>& CommandFor(HookAction action) const;
  void Loop();
  HookOutcome Execute(const Job& job);
  HookResult RunHook(const std::string& name, const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env);
  static void LogResult(const HookResult& result);
  std::string StartChild(const std::map<std::string, std::string>& env);
  void StopChild();
  void WatchChild();

  // Constant after construction.
  const HooksConfig hooks_;
  const ChildConfig child_config_;
  ProcessSpawner& spawner_;

  mutable Mutex mu_;
  std::condition_variable wake_;
  std::deque<Job> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::optional<std::string> running_ GUARDED_BY(mu_);
  // Process groups to kill on an exit that cannot wait; 0 when none.
  std::atomic<int> hook_pgid_{0};
  std::atomic<int> child_pgid_{0};

  // Runner thread only (and Stop() after the join).
  std::function<void(HookTerm, const ExitStatus&)> on_child_exit_;
  std::unique_ptr<Process> child_;
  HookTerm child_term_ = 0;
  std::map<std::string, std::string> child_env_;
  std::thread thread_;
};

}  // namespace zkelect
