#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/ensemble.h"
#include "sim/event_queue.h"
#include "sim/invariants.h"
#include "sim/sim_clock.h"
#include "sim/sim_daemon.h"
#include "sim/sim_random.h"
#include "sim/trace.h"
#include "zkelect/election/node_data.h"

namespace zkelect::sim {

struct SimOptions {
  uint64_t seed = 1;
  uint64_t max_events = 100'000;  // queue events to run (the run stops earlier on a violation)
  int daemons = 3;                // 3 to 5
  size_t trace_lines = 300;       // kept for the failure report
  // false: the recipes do not check their own invariants (mutation runs:
  // the checks of design §7 must find what a mutant breaks).
  bool recipe_invariants = true;
};

struct SimResult {
  uint64_t seed = 0;
  uint64_t events = 0;
  uint64_t trace_hash = 0;
  std::chrono::nanoseconds simulated{0};
  std::optional<InvariantChecker::Violation> violation;
  std::string trace_tail;  // filled when an invariant broke
  uint64_t faults = 0;
  uint64_t leaderships = 0;  // start hooks begun
};

// One seeded run: a ZooKeeper ensemble (Ensemble over ZkModel), 3 to 5
// complete daemon cores (SimDaemon), foreign clients, and a schedule of
// faults, all in virtual time from one seed. The run alternates fault
// phases (faults of every kind at random instants) with quiet phases (every
// fault healed; invariant 4 then wants a leader within the longest session
// timeout + 2 s). The invariants are checked after every event; the run
// stops at the first broken one. Deterministic: the same options give the
// same events, trace and hash.
//
// Not thread-safe; one Simulation per thread.
class Simulation final : public Ensemble::NodeObserver {
 public:
  explicit Simulation(SimOptions options);
  ~Simulation() override;
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  SimResult Run();

  // Ensemble::NodeObserver:
  void OnNodeRemoved(const std::string& path, const Znode& node, int64_t by, NodeGone how) override;
  void OnNodeWritten(const std::string& path) override;

 private:
  struct Foreign {
    int64_t session = 0;
    std::string kind;
  };

  void Note(const std::string& what) { trace_.Add(what); }
  DaemonConfig DrawConfig(int index);
  std::chrono::milliseconds LongestTimeout() const;

  // Phases.
  void BeginFaultPhase();
  void BeginQuietPhase();
  void InjectFault();
  void HealEverything();
  void AwaitHealed(uint64_t phase);
  void CheckLeader(uint64_t phase, bool retried = false);

  // Faults.
  void ProcessFault(int index);
  void NetworkFault();
  void ForeignFault();
  void HookFault(int index);
  void AddForeignCandidate(const std::string& kind, const std::string& prefix,
                           const std::string& data, bool auth_only);
  void RestartLater(int index);

  // Invariant 9 (design §3 rule 13, without preemption): with no faults, a
  // claim never passes over a zkelect candidate of higher priority that its
  // yield would have elected, when every node and its data were at the
  // quorum well before it.
  void OnElected(int daemon);
  int64_t DrawPriority();
  // The election's children in sequence order, with their owner (a daemon's
  // index, or -1) and their rank as rule 13 reads it (a persistent node's:
  // priority 0, never yielding).
  struct InLine {
    std::string node;
    int owner;
    Rank rank;
  };
  std::vector<InLine> Line() const;
  // Whom a handoff or a yield by line.front() would elect: the first node of
  // the highest priority among those after it, up to the first that never
  // yields. nullptr if none.
  static const InLine* Successor(const std::vector<InLine>& line);
  // Invariant 10 (rule 13 with preemption, in runs where every daemon has
  // it on): with no fault, once the leader has seen a candidate that a
  // handoff would elect, of higher priority, for election.preempt_delay, it
  // hands over within a second more (a priority raised by a reload counts
  // from the reload: the leader's ranks are under data watches). Then the
  // next fault phase.
  void CheckPreferred(uint64_t phase, int attempt);
  // Invariant 11 (rule 13 ahead of time, in the same runs, once invariant 10
  // holds): with no fault, the node next in line is the one the leader's
  // exit would elect once the line has been unchanged for the next in
  // line's settle (half of election.preempt_delay, at most 5 s) and a
  // second more: a node it would yield to has had the time to get its
  // place. Then the next fault phase.
  void CheckNextInLine(uint64_t phase, int attempt);
  void NextFaultPhaseLater(uint64_t phase);

  // Invariant 6.
  void OnCleanExit(const SimDaemon::CleanExit& exit);
  void NoteReachability();
  bool ReachableDuring(int daemon, Clock::TimePoint from, Clock::TimePoint to) const;

  const SimOptions options_;
  SimClock clock_;
  EventQueue queue_;
  SimRandom random_;
  // The uuids of the nodes the daemons create: a stream of their own, so
  // that drawing one moves nothing else, and a seed replays bit for bit.
  SimRandom uuids_;
  // Draws for daemon options added after the seeds of the regression tests
  // were recorded (DrawConfig()).
  SimRandom later_options_;
  Trace trace_;
  std::unique_ptr<Ensemble> ensemble_;
  std::unique_ptr<InvariantChecker> checker_;
  std::vector<std::unique_ptr<SimDaemon>> daemons_;
  std::vector<Foreign> foreign_;
  int64_t admin_session_ = 0;
  uint64_t phase_ = 0;
  bool quiet_ = false;
  Clock::TimePoint quiet_since_{};
  // When each node under the election path was created or last set.
  std::map<std::string, Clock::TimePoint> written_at_;
  std::map<std::string, Clock::TimePoint> created_at_;
  // Preemption for the whole run (half the seeds), with one delay.
  bool preempt_run_ = false;
  std::chrono::milliseconds preempt_delay_{0};
  // Per daemon: its last election, and when preemption was last turned on.
  std::vector<Clock::TimePoint> elected_at_;
  std::vector<Clock::TimePoint> preempt_on_at_;
  uint64_t faults_ = 0;
  uint64_t foreign_count_ = 0;
  // Per daemon: when it could not reach the quorum (network partition,
  // ensemble down, a server cut off), as [from, to) spans; to = max while on.
  std::vector<std::vector<std::pair<Clock::TimePoint, Clock::TimePoint>>> unreachable_;
  std::vector<bool> partitioned_;
};

}  // namespace zkelect::sim
