#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/sim_clock.h"
#include "sim/zk_model.h"
#include "zkelect/election/election_control.h"
#include "zkelect/election/role.h"
#include "zkelect/hooks/hook_runner.h"

namespace zkelect::sim {

// The eight invariants of design §7, checked as the simulation runs. The
// simulator reports what happens (hooks begin and end, steps, publishes,
// pauses, node removals, resigns); each report is checked at once against
// what came before, and the first broken invariant is kept with a sentence
// naming the daemons, epochs and times involved.
//
// A leadership, for invariants 1-3 and 8, is what an application can see:
// from the start hook's begin to the stop hook's end (the hooks' processes,
// not the recipe's flags), and every instant the state board answers
// "leader" within its lease. Invariants 4 and 6 need the whole world; the
// Simulation decides them and calls Fail().
//
// Not thread-safe.
class InvariantChecker {
 public:
  using TimePoint = Clock::TimePoint;
  using Millis = std::chrono::milliseconds;

  struct Violation {
    int invariant = 0;
    std::string message;
  };

  // No daemon wakes more often than this in any second of virtual time.
  static constexpr int kMaxWakeupsPerSecond = 200;

  // `node_exists` answers whether a znode path exists at the quorum now.
  InvariantChecker(const SimClock& clock, int daemons,
                   std::function<bool(const std::string&)> node_exists);

  // Process life. A crash or exit ends whatever its hooks were doing.
  void OnProcessStart(int d);
  void OnPause(int d);
  void OnResume(int d);
  void OnProcessEnd(int d, const char* how);

  // One election-loop iteration of daemon `d` ran (invariant 7), and what
  // its board answers after it (`lease`: until when it may say leader).
  void OnStep(int d);
  void AfterStep(int d, bool board_leader, int64_t board_epoch, std::optional<TimePoint> lease);

  // The recipe told daemon `d`'s listener: elected on `node_path` under
  // `epoch`, or demoted for `reason`. `budget`: the involuntary stop budget
  // (half the negotiated timeout); `warnings`: the over-budget counter now.
  void OnElected(int d, int64_t epoch, const std::string& node_path, int64_t session);
  void OnDemoted(int d, Reason reason, Millis budget, uint64_t warnings);
  // Hook commands of daemon `d`; `warnings` as above, at the end.
  void OnHookBegin(int d, HookAction action, int64_t epoch);
  void OnHookEnd(int d, HookAction action, uint64_t warnings);
  // The runner dropped an action of `d` without running it.
  void OnHookSkipped(int d, HookAction action, int64_t epoch);

  // Invariant 5: a resign of `d` while it led on `node_path`.
  void OnResignRequested(int d, Millis hold, const std::string& node_path);
  void OnResignAnswered(int d, ElectionControl::ResignOutcome outcome);
  // Maintenance of `d` (saved state: from a withdraw to a join, across
  // restarts): the recipe must not claim meanwhile. A withdraw ends the
  // hold of an earlier resign. A withdraw answered done
  // while `node_path` (its node at the request; empty if none) still exists
  // breaks invariant 5.
  void OnMaintenance(int d, bool on);
  void OnWithdrawDone(int d, const std::string& node_path);

  // A node left the tree; `owner` and `by` are daemon indexes, -1 for a
  // foreign client (or nobody).
  void OnNodeRemoved(const std::string& path, const Znode& node, int owner, int by, NodeGone how);

  // For the invariants decided by the Simulation (4, 6).
  void Fail(int invariant, std::string message);

  const std::optional<Violation>& violation() const { return violation_; }
  // Start hooks begun so far (leaderships, for the run's summary).
  uint64_t leaderships() const { return leaderships_; }

 private:
  // A leadership as the hooks show it.
  struct Leadership {
    int64_t epoch = 0;
    int64_t session = 0;
    std::string node_path;
    bool started = false;  // the start hook began
    bool demoted = false;
    TimePoint demoted_at{};
    bool voluntary = false;
    Millis budget{0};
    uint64_t warnings_at_demotion = 0;
    bool frozen = false;      // it was paused while leading
    bool overlapped = false;  // another claim began while it was frozen
    std::optional<NodeGone> node_gone;
    bool removed_by_foreign = false;
    // Claims of other daemons that began while this one's stop still ran:
    // decided when that stop ends.
    struct Pending {
      int later = 0;
      int64_t later_epoch = 0;
      TimePoint at{};
    };
    std::vector<Pending> pending;
  };
  struct Daemon {
    // Oldest first: a stop may still run when the same node leads again.
    std::deque<Leadership> leads;
    std::optional<HookAction> last_hook;  // kStart or kStop, for invariant 8
    bool hook_running = false;            // a start or stop began and has not ended
    int stops_pending = 0;                // demotions whose stop has not ended
    bool paused = false;
    bool first_step_after_resume = false;
    bool board_leader = false;
    int64_t board_epoch = 0;
    TimePoint board_lease{};
    int64_t wake_second = -1;
    int wakeups = 0;
    bool resigning = false;
    std::string resign_node;
    Millis resign_hold{0};
    TimePoint no_lead_until{};
    bool maintenance = false;
  };

  // A claim of `later` under `epoch` begins now: check every other daemon.
  void CheckClaim(int later, int64_t epoch, const char* what);
  void CheckAgainst(int earlier, Leadership& lead, int later, int64_t epoch, const char* what);
  // `lead` of daemon `d` ended (its stop, or its process): decide the
  // claims that waited for it.
  void EndLeadership(int d, const Leadership& lead, const char* how, uint64_t warnings);
  std::string Now() const;
  Daemon& At(int d) { return daemons_[static_cast<size_t>(d)]; }

  const SimClock& clock_;
  std::function<bool(const std::string&)> node_exists_;
  std::vector<Daemon> daemons_;
  int64_t last_epoch_ = 0;
  int last_epoch_daemon_ = -1;
  int64_t last_epoch_session_ = 0;
  std::optional<Violation> violation_;
  uint64_t leaderships_ = 0;
  // Nodes an operator (a foreign client) deleted lately: a claim on one of
  // them was made on a view older than the delete.
  std::deque<std::string> deleted_by_operator_;
};

}  // namespace zkelect::sim
