#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/sim_context.h"
#include "sim/sim_hook_runner.h"
#include "zkelect/common/clock.h"
#include "zkelect/common/task_poster.h"

namespace zkelect {
class Recipe;
}

namespace zkelect::sim {

class SimZkClient;

// How one simulated daemon is configured (the keys of design §6 that the
// election core sees).
struct DaemonConfig {
  std::string id;
  std::chrono::milliseconds session_timeout{2000};  // requested
  std::chrono::milliseconds hooks_timeout{2000};
  std::chrono::milliseconds kill_grace{500};
  std::chrono::milliseconds stop_grace{300};
  std::chrono::milliseconds recheck_interval{30'000};
  bool child = false;
  bool on_stop = true;  // false: no on_stop (a stop with no child ends at once)
  bool on_change = false;
  bool health_gated = false;
  bool resign_on_start_failure = true;
  int64_t priority = 0;  // election.priority at the first start (Reload changes it)
  bool preempt = false;  // election.preempt at the first start (SetPreempt changes it)
  std::chrono::milliseconds preempt_delay{10'000};
};

// One zkelect process in the simulation: the real Recipe, the real
// HookRoleListener over a SimHookRunner, a StateBoard, and a SimZkClient
// (wired as daemon.cc wires the real ones), driven exactly as
// ElectionLoop drives them: each loop iteration first calls OnWake(), then
// runs one posted task (in order), then publishes MakeSnapshot() with
// LeaseExpiry() to the board; with nothing posted it sleeps until
// NextWakeup() (at most a second). An iteration costs kStepCost of virtual
// time, so a loop that never sleeps still moves the clock (and invariant 7
// sees it).
//
// Process faults: pause/resume (SIGSTOP: nothing of the process runs, its
// hooks do), crash (no stop hook; its hooks and child die with it), start
// (a new process: new recipe, new session), SIGTERM (Shutdown, then exit;
// past the shutdown budget it exits anyway), resign with a hold, health
// verdicts. Reports everything the InvariantChecker needs.
//
// Not thread-safe.
class SimDaemon final : public TaskPoster, public HookObserver {
 public:
  using TimePoint = Clock::TimePoint;
  static constexpr std::chrono::microseconds kStepCost{10};

  // What the Simulation learns of an exit after SIGTERM (invariant 6).
  struct CleanExit {
    int daemon = 0;
    TimePoint sigterm{};
    TimePoint exited{};
    std::chrono::milliseconds budget{0};
    std::vector<int64_t> sessions;
  };

  SimDaemon(int index, DaemonConfig config, SimContext context,
            std::function<void(const CleanExit&)> on_clean_exit);
  ~SimDaemon() override;
  SimDaemon(const SimDaemon&) = delete;
  SimDaemon& operator=(const SimDaemon&) = delete;

  // Process life.
  void Start();
  void Crash();
  void Pause();
  void Resume();
  void Terminate();  // SIGTERM

  // Requests, as the HTTP API and the health monitor post them.
  void Resign(std::chrono::milliseconds hold);
  void SetHealth(bool healthy);
  // POST /withdraw and /join (maintenance). The state is saved first, as
  // MaintenanceControl saves it in state_dir before the loop hears of it, and
  // survives restarts: a process started in maintenance never registers.
  // Join() while not running ends the saved maintenance (the operator's
  // edit of the state file), so that the next start joins.
  void Withdraw();
  void Join();
  bool in_maintenance() const { return maintenance_since_.has_value(); }
  // SIGHUP with a new address and election.priority (a live reload): the
  // recipe rewrites our node. The new priority is the file's: it holds
  // across restarts.
  void Reload(const std::string& address, int64_t priority);
  // election.priority as the configuration file says now.
  int64_t priority() const { return priority_; }
  // SIGHUP with election.preempt turned on or off (the file's, like Reload).
  void SetPreempt(bool preempt);
  bool preempt() const { return preempt_; }
  // election.preempt_delay as the recipe applies it now (longer after
  // preemptions that bounced).
  std::chrono::milliseconds effective_preempt_delay() const;
  // Called after the recipe elected this daemon (before its start hook).
  void SetElectedObserver(std::function<void(int)> observer) { on_elected_ = std::move(observer); }
  // When this daemon last handed over by preemption (its demotion).
  Clock::TimePoint last_preempted() const { return last_preempted_; }

  bool running() const { return process_ != nullptr && !exiting_; }
  bool down() const { return process_ == nullptr; }
  bool paused() const { return paused_; }
  bool terminating() const { return sigterm_.has_value(); }
  const DaemonConfig& config() const { return config_; }
  // Only while running: the parts a fault reaches.
  SimZkClient& zk();
  SimHookRunner& hooks();
  // Leading, and its board answers leader now.
  bool LeadsNow() const;
  // The negotiated timeout (the requested one before a session).
  std::chrono::milliseconds session_timeout() const;
  std::string Describe() const;

  // TaskPoster:
  void Post(std::function<void()> task) override;
  // HookObserver:
  void OnHookBegin(HookAction action, const std::map<std::string, std::string>& env) override;
  void OnHookEnd(HookAction action, const HookOutcome& outcome) override;
  void OnHookSkipped(HookAction action, const std::map<std::string, std::string>& env) override;

 private:
  struct Process;

  void Wake(TimePoint when);
  void Step();
  void Exit(const char* how);
  // The process is gone (crash or exit): the checker hears `how`, and what
  // the process held goes with it.
  void EndProcess(const char* how);
  void Note(const std::string& what);

  const int index_;
  const DaemonConfig config_;
  const SimContext ctx_;
  const std::function<void(const CleanExit&)> on_clean_exit_;
  const std::string name_;
  int64_t priority_;
  bool preempt_;
  std::function<void(int)> on_elected_;
  Clock::TimePoint last_preempted_{};

  std::unique_ptr<Process> process_;
  uint64_t incarnation_ = 0;
  std::deque<std::function<void()>> inbox_;
  TimePoint planned_ = TimePoint::max();  // the pending iteration's time
  bool paused_ = false;
  bool exiting_ = false;
  bool healthy_ = true;
  std::optional<TimePoint> sigterm_;
  int last_role_ = -1;
  // The state_dir file: set from a withdraw until a join, across restarts.
  std::optional<std::chrono::system_clock::time_point> maintenance_since_;
  // A withdraw of this process was answered done, and no join came since
  // (or the process started in maintenance): it must hold no node.
  bool withdrawn_ = false;
};

}  // namespace zkelect::sim
