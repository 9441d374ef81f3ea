#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "zkelect/common/clock.h"
#include "zkelect/election/election_control.h"
#include "zkelect/election/snapshot.h"
#include "zkelect/zk/zk_client.h"

namespace zkelect {

struct Metrics;

class RoleListener;

// What a Recipe needs to know about its candidate and election.
struct RecipeOptions {
  NodeIdentity identity;  // published in our node
  std::string election_path;
  bool campaign = true;       // false: observer
  bool health_gated = false;  // true: stay out until SetHealth(true)
  std::chrono::milliseconds recheck_interval{30'000};
  std::string servers;  // for reporting only
};

// The election recipe of design §3: the decision core that owns all election
// state. Pure logic over a ZkClient and a Clock, so unit tests drive it with
// a fake ZooKeeper and simulated time.
//
// Threading: one thread (the election loop) calls every method, and the
// ZkClient delivers completions and events on that same thread. Not
// thread-safe.
//
// Timers: the recipe has no thread of its own. The loop sleeps until
// NextWakeup() (or an event) and calls OnWake() first thing whenever it runs,
// before any event, so a process that was paused checks its self-fencing
// deadline before anything else (rule 7).
class Recipe final : public ZkEventSink {
 public:
  // `zk`, `clock`, `listener` and `metrics` must outlive the recipe; role
  // transitions are counted in `metrics`.
  Recipe(RecipeOptions options, ZkClient& zk, const Clock& clock, RoleListener& listener,
         Metrics& metrics);
  ~Recipe() override;
  Recipe(const Recipe&) = delete;
  Recipe& operator=(const Recipe&) = delete;

  // Opens the first session; the candidacy follows once it connects.
  void Start();

  // Checks deadlines (self-fencing, assumed expiry) and runs due timers
  // (liveness ping, periodic re-check, retries, resign hold, reconnect).
  void OnWake();

  // The earliest time OnWake() has work to do.
  Clock::TimePoint NextWakeup() const;

  // After our delete has handed the lead (or our place in line) on, the next
  // in line lists the children and reads its node. Our own next write, the
  // close of the session on exit or the create of a rejoin, is a quorum
  // write like the delete: sent at once, the ensemble handles it just when it
  // should answer the successor's claim. Nothing waits on that write, so it
  // waits this long.
  static constexpr std::chrono::milliseconds kYieldAfterDelete{20};

  // Steps down if leading: demote (stop hook), then delete our node, then
  // rejoin at the back after `hold` (at least kYieldAfterDelete; rule 12).
  // `done` runs once, on this thread, with the outcome.
  void Resign(std::chrono::milliseconds hold,
              std::function<void(ElectionControl::ResignOutcome)> done,
              Reason reason = Reason::kResigned);

  // Local health gating (issue 3): unhealthy withdraws from the election
  // (demote first if leading, then delete the node) with reason unhealthy;
  // healthy again rejoins. Until the first verdict of an enabled monitor the
  // node stays out. `detail` is shown in /status.
  void SetHealth(bool healthy, std::string detail);

  // Leaves for good: demote if leading, delete our node, close the session
  // (kYieldAfterDelete after the delete), then run `done`. Idempotent; later
  // calls only add their `done`.
  void Shutdown(std::function<void()> done);

  // The current state, for the StateBoard.
  Snapshot MakeSnapshot() const;

  bool leading() const { return leading_; }

  // While leading: the self-fencing deadline (last answer + half the
  // negotiated timeout), after which this node must not claim to lead even
  // if nothing has run since. nullopt when not leading.
  std::optional<Clock::TimePoint> LeaseExpiry() const;

  // ZkEventSink:
  void OnSessionState(SessionState state) override;
  void OnNodeEvent(NodeEventType type, const std::string& path) override;

 private:
  enum class Phase { kIdle, kConnecting, kConnected, kClosed };
  enum class CreateState { kNone, kInFlight, kUncertain };

  // Session.
  void OpenSession();
  void ReopenSession(Reason why);
  void OnConnected();
  void Heard(Clock::TimePoint sent);
  bool Fenced() const;
  std::chrono::milliseconds SessionTimeout() const;

  // Candidacy.
  bool WantCandidacy() const;
  void Join();
  void OnCreated(ZkCode code, const std::string& created_path);
  void OnUncertainNode(const std::string& node, ZkCode code, const NodeStat& stat);
  void EnsureParent();
  void CreateParentStep(size_t end);
  // Deletes our node; `then(deleted)` learns whether this delete removed it.
  void DeleteOwnNode(std::function<void(bool deleted)> then);

  // The view: list children, then read the first (leader) and predecessor.
  // `watch_children`: for a node that will not create one of its own in an
  // election with no candidates, the only way to hear of the first one.
  // The next in line reads its own node together with the listing (see
  // ReadOwnNode), so that a handoff costs it one round trip, not two.
  void Refresh(bool watch_children = false);
  // Reads our node (rule 4: its owner) and watches it (rule 5); the answer
  // goes to OnOwnData with listing `seq`.
  void ReadOwnNode(uint64_t seq);
  // Whether we are second in the last listing: the one a leader's exit elects.
  bool NextInLine() const;
  void OnChildren(uint64_t seq, bool watched, ZkCode code,
                  const std::vector<std::string>& children);
  void OnOwnData(uint64_t seq, ZkCode code, const NodeStat& stat);
  // Reads `node` as the leader and watches it; the answer goes to
  // OnLeaderData with listing `seq`.
  void ReadLeader(uint64_t seq, const std::string& node);
  void OnLeaderData(uint64_t seq, const std::string& node, ZkCode code, const std::string& data,
                    const NodeStat& stat);
  // The leader's node `node` was deleted: a follower that is not next in line
  // reads the new leader instead of listing. Returns false where a listing is
  // due (rule 5).
  bool FollowLeaderExit(const std::string& node);
  void RetryLater();

  // Leadership.
  void BecomeLeader(const NodeStat& own_stat);
  void StepDown(Reason reason, std::function<void()> after_stop);
  void SetLeader(const std::string& node, NodeIdentity identity, int64_t epoch);
  // Tells the listener about a leader it has not been told about yet.
  void AnnounceLeader();

  // Voluntary withdrawal: resign and shutdown share it.
  void Withdraw(Reason reason);
  // `deleted`: our delete removed the node just now (see kYieldAfterDelete).
  void FinishWithdraw(bool deleted);
  // Rule 12's last step on the way out: close the session, then tell the
  // shutdown's waiters.
  void CloseSession();

  // Role bookkeeping: recomputes the role and records a transition.
  Role ComputeRole() const;
  void UpdateRole(Reason why);

  std::string PathOf(const std::string& node) const;
  // Wraps the completion of a request that the ensemble's leader must
  // process (a sync or a write), so that its answer refreshes the liveness
  // clock with the time the request was sent (rule 7). Reads must not: a
  // server cut off from the quorum keeps answering them (and pings) from its
  // own copy while the leader expires our session.
  template <typename Callback>
  auto Confirmed(Callback callback);

  // Constant after construction.
  const RecipeOptions options_;
  ZkClient& zk_;
  const Clock& clock_;
  RoleListener& listener_;
  Metrics& metrics_;

  // Session.
  Phase phase_ = Phase::kIdle;
  bool ever_connected_ = false;
  int64_t session_id_ = 0;         // of the session our state belongs to; 0 if none
  Clock::TimePoint last_heard_{};  // send time of the latest confirmed request
  std::chrono::milliseconds reopen_backoff_{0};

  // Candidacy.
  std::string uuid_;
  std::optional<std::string> own_node_;
  CreateState create_state_ = CreateState::kNone;
  bool parent_in_flight_ = false;
  bool delete_in_flight_ = false;

  // View.
  uint64_t refresh_seq_ = 0;
  uint64_t listed_seq_ = 0;    // the refresh whose listing candidates_ holds
  uint64_t own_read_seq_ = 0;  // the refresh whose read of our node is sent
  std::vector<std::string> candidates_;
  bool candidates_known_ = false;
  // Nodes whose data watch this session holds (a watched read answered, its
  // event not yet fired): a listing does not read them again.
  std::set<std::string> watched_;
  std::optional<LeaderView> leader_;
  // The epoch of the last leader known, kept when leader_ is cleared, for
  // the role-change log line.
  int64_t last_epoch_ = 0;
  bool leading_ = false;

  // Health gating: enabled by the first SetHealth().
  HealthView health_;

  // The last leader announced to the listener (OnLeaderChanged).
  std::optional<LeaderView> announced_leader_;

  // Voluntary withdrawal.
  bool withdrawing_ = false;   // stop or delete of a resign/shutdown under way
  bool stop_pending_ = false;  // ...and its stop has not finished yet
  bool shutting_down_ = false;
  std::chrono::milliseconds resign_hold_{0};
  std::optional<Clock::TimePoint> hold_until_;
  std::optional<Clock::TimePoint> close_at_;  // shutting down: the close waits until then
  std::vector<std::function<void(ElectionControl::ResignOutcome)>> resign_waiters_;
  std::vector<std::function<void()>> shutdown_waiters_;

  // Role.
  Role role_ = Role::kStarting;
  std::optional<TransitionView> last_transition_;
  std::vector<TransitionView> recent_transitions_;  // oldest first, bounded

  // Timers (time_point::max() when off).
  Clock::TimePoint next_ping_ = Clock::TimePoint::max();
  Clock::TimePoint next_recheck_ = Clock::TimePoint::max();
  Clock::TimePoint next_retry_ = Clock::TimePoint::max();
  Clock::TimePoint next_reopen_ = Clock::TimePoint::max();
};

}  // namespace zkelect
