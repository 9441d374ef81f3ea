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
#include "zkelect/hooks/process_spawner.h"

namespace zkelect {

enum class HookAction {
  kStart,   // on_start, then the leader-only child
  kStop,    // stop the leader-only child, then on_stop
  kChange,  // on_change
};

// How one hook command went.
struct HookResult {
  std::string hook;                  // "on_start", "on_stop", "on_change"
  std::optional<ExitStatus> status;  // nullopt when it could not be started
  bool timed_out = false;            // ran past hooks.timeout and was killed
  std::string error;                 // why it could not be started
  std::chrono::milliseconds duration{0};
  bool ok() const { return error.empty() && !timed_out && status && status->ok(); }
  std::string Describe() const;  // "exit status 0", "timed out after 30s", ...
};

// What a queued action did: the hook's result (none when no hook is
// configured for it) and, for kStart, whether the child could be started.
struct HookOutcome {
  std::optional<HookResult> hook;
  std::string child_error;
  bool ok() const { return (!hook || hook->ok()) && child_error.empty(); }
};

// Runs hook commands strictly one after another on its own thread (never on
// the ZooKeeper or HTTP threads), and owns the leader-only child of
// `zkelect run -- CMD` (design §5, issue 3).
//
// A hook runs as an argv without a shell, in its own process group, with the
// daemon's environment plus the action's. Its output is logged line by line
// tagged with its name. Past hooks.timeout its group gets SIGTERM, and
// SIGKILL hooks.kill_grace later.
//
// Thread-safe. Callbacks run on the runner thread and must not block.
class HookRunner {
 public:
  // `spawner` must outlive the runner.
  HookRunner(HooksConfig hooks, ChildConfig child, ProcessSpawner& spawner);
  ~HookRunner();  // Stop()s
  HookRunner(const HookRunner&) = delete;
  HookRunner& operator=(const HookRunner&) = delete;

  // Called when the leader-only child exits by itself (not when we stop it)
  // and child.on_exit is resign. Set before Start().
  void SetChildExitHandler(std::function<void(const ExitStatus&)> handler);

  void Start();

  // Finishes the action running now, drops the queue, stops the child (if
  // still running) and joins the thread. Idempotent.
  void Stop();

  // Queues `action`; `done` runs on the runner thread when it completed.
  // For kStart, the child is started only when the hook succeeded or
  // hooks.start_failure is ignore.
  void Run(HookAction action, std::map<std::string, std::string> env,
           std::function<void(const HookOutcome&)> done);

  // SIGKILLs the process groups of the hook running now and of the
  // leader-only child, for an exit that cannot wait (a second signal).
  // Thread-safe; the runner thread reaps them.
  void KillRunning();

  // The hook command running now, if any (for /status).
  std::optional<std::string> running() const EXCLUDES(mu_);

  bool has_hook(HookAction action) const;
  bool has_child() const { return !child_config_.command.empty(); }

 private:
  struct Job {
    HookAction action;
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
  std::function<void(const ExitStatus&)> on_child_exit_;
  std::unique_ptr<Process> child_;
  std::map<std::string, std::string> child_env_;
  std::thread thread_;
};

}  // namespace zkelect
