#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "zkelect/common/clock.h"
#include "zkelect/election/election_control.h"
#include "zkelect/election/node_data.h"
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
  // Rule 13 with preemption: a leader hands over (reason kPreempted) once
  // the candidate a handoff would elect has a higher priority than ours and
  // has been registered for `preempt_delay`.
  bool preempt = false;
  std::chrono::milliseconds preempt_delay{10'000};
  std::string servers;  // for reporting only
  // Set: start in maintenance since then (persisted by an earlier run): the
  // node never registers until SetMaintenance(false). Ignored by observers.
  std::optional<std::chrono::system_clock::time_point> maintenance_since;
  // Runs when an invariant is broken, after the recent events were logged
  // and before the process aborts (a simulator prints its seed and its own
  // trace here). Must not throw.
  std::function<void(std::string_view what)> on_broken_invariant;
  // false: broken invariants are not checked (mutation testing, where the
  // simulator's own checks of design §7 must find what a mutant breaks).
  bool check_invariants = true;
  // Draws the uuid of each node we create (rule 1); empty: NewUuid(). A
  // simulator draws them from its seed, so that a seed replays bit for bit.
  std::function<std::string()> new_uuid;
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
  // `done` runs once, on this thread, with the outcome: kDone only once
  // ZooKeeper confirmed that the node is gone (our delete answered, or the
  // server expired the session); a delete that cannot be sent waits for a
  // reconnect.
  void Resign(std::chrono::milliseconds hold,
              std::function<void(ElectionControl::ResignOutcome)> done,
              Reason reason = Reason::kResigned);

  // Local health gating (issue 3): unhealthy withdraws from the election
  // (demote first if leading, then delete the node) with reason unhealthy;
  // healthy again rejoins. Until the first verdict of an enabled monitor the
  // node stays out. `detail` is shown in /status.
  void SetHealth(bool healthy, std::string detail);

  // Maintenance (design §4 POST /withdraw, /join). `on`: leave the
  // election and stay out, following the leader like an observer; a leader
  // hands over first (stop hook, then delete, rule 12). `done` gets kDone
  // once ZooKeeper confirmed the node gone (at once when it was out
  // already). `since` is reported in /status; a repeated withdraw keeps the
  // first one. `on` false: rejoin at the back (health-gated if unhealthy);
  // kDone once registered (at once while gated, or when not in
  // maintenance and not campaigning); a withdraw or resign still under way
  // is answered kCancelled (its node was not deleted). An observer gets kObserver, a
  // shutdown under way kShuttingDown. Composes with a resign under way
  // (its waiters are answered when the node is gone), a hold (ended), and
  // health (kept out; the verdict applies on join).
  void SetMaintenance(bool on, std::chrono::system_clock::time_point since,
                      std::function<void(ElectionControl::ResignOutcome)> done);

  // A live reload (design §6): publishes `address`, `meta` and `priority`
  // (the id never changes) by rewriting our node's data, one set at a time,
  // at once when our node is registered and connected, otherwise with the
  // next create; followers see it through the data watch they hold on the
  // leader, the leader's own view changes once the set is confirmed.
  // `recheck_interval` applies from the next re-check. Never changes the
  // role or our place in line; a new priority counts from our next claim
  // (rule 13: a leader is never displaced by it).
  void Reconfigure(std::string address, std::map<std::string, std::string> meta, int64_t priority,
                   std::chrono::milliseconds recheck_interval);

  // A live reload of election.preempt and election.preempt_delay. A leader
  // that turns preemption on starts watching the candidates; a candidate
  // already seen keeps the time it was first seen.
  void SetPreemption(bool preempt, std::chrono::milliseconds delay);

  // Leaves for good: demote if leading, delete our node once the stop hook
  // ended, close the session (kYieldAfterDelete after the delete), then run
  // `done`. While disconnected it waits for the library's word: a reconnect
  // (then the delete goes out) or an expiry (the node is gone). It does not
  // give the session up on its own (rule 8's assumed expiry): an ensemble
  // that restarts keeps the session, and its node, for a whole timeout more.
  // The caller bounds the wait (the daemon's shutdown budget). Idempotent;
  // later calls only add their `done`.
  void Shutdown(std::function<void()> done);

  // ElectionControl::ReadNodeData: one GetData without watch per node while
  // the session is connected; otherwise `done(node, nullopt)` at once.
  void ReadNodeData(
      const std::vector<std::string>& nodes,
      const std::function<void(const std::string&, std::optional<std::string>)>& done);

  // The current state, for the StateBoard.
  Snapshot MakeSnapshot() const;

  bool leading() const { return leadership_ == Leadership::kLeading; }

  // While leading: the self-fencing deadline (last answer + half the
  // negotiated timeout), after which this node must not claim to lead even
  // if nothing has run since. nullopt when not leading.
  std::optional<Clock::TimePoint> LeaseExpiry() const;

  // ZkEventSink:
  void OnSessionState(SessionState state) override;
  void OnNodeEvent(NodeEventType type, const std::string& path) override;

  // Checks that the state machines below are in a legal combination (the
  // table next to them). A broken invariant is a bug: it logs the recent
  // event trace and aborts. Runs after every step; public for tests.
  void CheckInvariants() const;

  // The recent events, oldest first, one line each (for failure reports).
  std::vector<std::string> Trace() const;

 private:
  // ---- The state: four small machines, not a set of flags. ----
  //
  // Session: the handle and what we know of it.
  enum class SessionPhase {
    kIdle,        // no handle: before Start(), or waiting for next_reopen_
    kConnecting,  // a handle, not connected (first connect or reconnecting)
    kConnected,   // requests flow (the server may still be silent: Fenced())
    kClosed,      // closed on the way out; final
  };
  // Our candidate node in this session.
  enum class NodePhase {
    kNone,            // we hold no node (that we know of)
    kCreatingParent,  // creating the election path (rule 9), then kCreating
    kCreating,        // our create is in flight
    kUncertain,       // a create's outcome is unknown: looking for our uuid (rule 3)
    kRegistered,      // own_node_ is ours
    kDeleting,        // our delete of own_node_ is in flight
  };
  // Leadership. Every stop, voluntary or not, passes through kStopping until
  // the listener says the application stopped.
  enum class Leadership {
    kNone,
    kLeading,   // claimed (rule 4); the start hook went out
    kStopping,  // demoted; the stop hook of term_ still runs
  };
  // What this node wants. Precedence on a change: shutdown > maintenance >
  // resign/hold > unhealthy > campaign.
  enum class Intent {
    kObserve,      // campaign = false: never a node of our own
    kCampaign,     // be a candidate
    kUnhealthy,    // health-gated and not (yet) healthy: stay out
    kResign,       // leave now (resign, a failed start); then kHold
    kHold,         // out until hold_until_
    kMaintenance,  // POST /withdraw: out (a leader hands over first) until POST /join
    kShutdown,     // leave for good, then close the session
  };
  // Legal combinations, checked by CheckInvariants():
  //  - kLeading: node kRegistered, session kConnected, intent kCampaign, and
  //    leader_ is our own node.
  //  - A delete of ours (node kDeleting, or stale_delete_in_flight_) only
  //    with leadership kNone: nothing is deleted while a stop runs (rule 12).
  //  - own_node_ is set exactly in kRegistered and kDeleting.
  //  - hold_until_ is set exactly in intent kHold.
  //  - resign_waiters_ only in intent kResign, kMaintenance (a withdraw
  //    came during the resign) or kShutdown.
  //  - maintenance_since_ is set exactly in intent kMaintenance, which
  //    never leads (leading needs kCampaign) and never creates a node.
  //  - withdraw_waiters_ only in intent kMaintenance or kShutdown, and only
  //    while something of ours is left to delete or a stop runs.
  //  - join_waiters_ only in intent kCampaign, and only while unregistered.
  //  - close_at_ only in intent kShutdown, with no node and no stop.
  //  - session kClosed: intent kShutdown, node kNone, leadership not kLeading.
  //  - intent kObserve exactly when options_.campaign is false (until shutdown).
  //  - claim_ only while registered and not leading; a yield of our place
  //    (rule 13) is a delete of ours, so only with leadership kNone.
  //  - ranks_ only while registered and not stopping, and while leading only
  //    with options_.preempt; preempt_at_ only while leading with it.

  // One step of the loop: every entry point (public call, ZooKeeper reply or
  // event, stop continuation) opens one. When the outermost step ends,
  // Advance() runs, then the invariants are checked.
  class Step;
  friend class Step;
  // Records an event in the trace ring.
  void Note(const char* what, int64_t a = 0, int64_t b = 0) const;
  // Wraps a ZooKeeper completion as an entry point.
  template <typename Callback>
  auto Reply(const char* what, Callback callback);
  // Reply() for a request that the ensemble's leader must process (a sync
  // or a write): its answer refreshes the liveness clock with the time the
  // request was sent (rule 7). Reads must not: a server cut off from the
  // quorum keeps answering them (and pings) from its own copy while the
  // leader expires our session.
  template <typename Callback>
  auto Confirmed(const char* what, Callback callback);

  // Does what the state asks for next: steps down, deletes, joins, finishes
  // a withdrawal or a shutdown. Idempotent.
  void Advance();
  bool WantsNode() const;
  // The intent once a hold ends (or health changes while campaigning).
  Intent CampaignIntent() const;
  void SetIntent(Intent next);

  // Session.
  void OpenSession();
  // The handle is finished: closes it; `node_gone` when the server said so
  // (expiry), otherwise our node may outlive it (kept in stale_).
  void DropSession(Reason why, bool node_gone);
  void OnConnected();
  void Heard(Clock::TimePoint sent);
  bool Fenced() const;
  // Rule 8: silent for a whole timeout, the server has expired us; drops the
  // session (and returns true) unless a stop runs (rule 12: the close would
  // delete our node) or we are on the way out.
  bool AssumeExpired();
  std::chrono::milliseconds SessionTimeout() const;

  // Candidacy.
  void Join();
  void OnCreated(ZkCode code, const std::string& created_path);
  void OnUncertainNode(const std::string& node, ZkCode code, const NodeStat& stat);
  void EnsureParent();
  void CreateParentStep(size_t end);
  void DeleteOwnNode();
  // Deletes the first named node of stale_ (one at a time).
  void DeleteStaleNode();
  // A listing tells which stale nodes exist: names them, forgets the others.
  void MatchStaleNodes();
  // A delete of `node` failed: Advance() sends it again after kRetryDelay
  // (or a reconnect).
  void DeleteFailed(const std::string& node, ZkCode code);
  void ForgetOwnNode();
  // Rewrites our registered node when options_.identity differs from what
  // it holds (Reconfigure()); one set in flight at a time.
  void Publish();

  // The view: list children, then read the first (leader) and predecessor.
  // `watch_children`: for a node that will not create one of its own in an
  // election with no candidates, the only way to hear of the first one.
  // The next in line reads its own node together with the listing (see
  // ReadOwnNode), so that a handoff costs it one round trip, not two.
  // `leader_gone`: the leader's node was deleted; if we were next in line,
  // the reads of a claim (rule 13) go out with the listing.
  void Refresh(bool watch_children = false, bool leader_gone = false);
  // Reads our node (rule 4: its owner) and watches it (rule 5); the answer
  // goes to OnOwnData with listing `seq`.
  void ReadOwnNode(uint64_t seq);
  // Whether we are second in the last listing: the one a leader's exit elects.
  bool NextInLine() const;
  void OnChildren(uint64_t seq, bool watched, ZkCode code,
                  const std::vector<std::string>& children);
  void OnOwnData(uint64_t seq, ZkCode code, const NodeStat& stat);
  // What a read of another candidate's node (answered kOk or kNoAuth) tells
  // rule 13: its rank, and its id for log lines.
  struct RankedRead {
    Rank rank;
    std::string id;
    int64_t ctime_ms = 0;  // the node's creation time (NodeStat::ctime_ms)
  };
  static RankedRead RankRead(const std::string& node, ZkCode code, const std::string& data,
                             const NodeStat& stat);
  // Claims (BecomeLeader) once our node's read of listing `claim_->seq` and
  // every rank are in, or yields our place to a candidate of higher
  // priority: deletes our node, and Advance() rejoins at the back.
  void ClaimOrYield();
  // Rule 13 ahead of time: the next in line yields while the leader still
  // leads when its yield would elect a higher priority, so that the
  // leader's exit elects the right node at once: a chain of yields then
  // runs among the nodes behind the leader, each one waking only the node
  // after it, instead of through every follower's view of the leader.
  void ConsiderYield();
  // Deletes our node for `to` (the successor of Successor()); Advance()
  // rejoins at the back. `when` for the log line.
  void YieldPlace(const std::string& to, const char* when);
  // Reads `node` as the leader and watches it; the answer goes to
  // OnLeaderData with listing `seq`.
  void ReadLeader(uint64_t seq, const std::string& node);
  void OnLeaderData(uint64_t seq, const std::string& node, ZkCode code, const std::string& data,
                    const NodeStat& stat);
  // Rule 13: the ranks of the candidates after us, kept by the node about to
  // lead, the next in line (the heir) and the leader with preemption, and by
  // nobody else (followers read nothing more: no herd). The listing (under a
  // children watch) tells who joined or left; a node not yet ranked is read
  // once, with a data watch, so that a priority changed by a reload is read
  // again as soon as it is set, and a rank is as fresh as any later listing
  // (a watch event comes before the answer to a later request). The
  // re-check reads them all again in case a watch was lost.
  bool KeepsRanks() const;
  void RankPeers();
  void ReadRank(const std::string& node);
  // Reads again, in line order, each ranked node whose last read went out
  // before `before` and has no read in flight.
  void ReadRanksSentBefore(Clock::TimePoint before);
  void OnRankData(uint64_t generation, const std::string& node, Clock::TimePoint sent, ZkCode code,
                  RankedRead read);
  // A rank changed: the leader considers preemption, the claim completes,
  // the heir considers a yield.
  void OnRanks();
  // Whether a children event concerns us: the leader with preemption and the
  // next in line rank every join, and a node that holds none waits for the
  // first candidate of an empty election. A children watch left from an
  // earlier place in line tells nothing now: every former next in line
  // would list at the next change, a herd.
  bool WantsJoins() const;
  // A watch fired on `node`: whether the view cares (the leader, our node,
  // our predecessor, a rank). Other events come from watches of an earlier
  // place in line (a rank read by a former heir) and tell nothing.
  bool Follows(const std::string& node) const;
  // Whom a handoff (or a yield) of ours would elect, by `ranks` of the other
  // candidates in candidates_: the first node of the highest priority after
  // us, up to the first node that never yields. nullopt while a rank is
  // unknown, or with no other.
  struct PeerRank;
  std::optional<std::string> Successor(const std::map<std::string, PeerRank>& ranks) const;
  // Hands over (Resign with reason kPreempted) when the successor outranks
  // us and has been registered for the delay, confirmed by reads sent after
  // the delay ended; otherwise sets preempt_at_ to when to look again.
  void ConsiderPreemption();
  void StopRanking();
  // Watches our predecessor (rule 5) with a data watch.
  void WatchPredecessor(const std::string& node);
  // A watched read failed with `code`, other than NoNode: a node we may not
  // read (NOAUTH) is watched by exists instead; anything else is retried.
  void OnWatchedReadFailed(uint64_t seq, const std::string& node, ZkCode code, bool as_leader);
  // The leader's node `node` was deleted: a follower that is not next in line
  // reads the new leader instead of listing. Returns false where a listing is
  // due (rule 5).
  bool FollowLeaderExit(const std::string& node);
  void RetryLater();

  // Leadership.
  void BecomeLeader(const NodeStat& own_stat);
  // Leading -> stopping: the stop hook goes out; OnStopped() follows.
  void StepDown(Reason reason);
  void OnStopped(uint64_t term);
  void SetLeader(const std::string& node, NodeIdentity identity, int64_t epoch);
  // Tells the listener about a leader it has not been told about yet.
  void AnnounceLeader();

  // Answers join waiters once registered (or no longer campaigning).
  void AnswerJoinWaiters();

  // The intent to leave has been carried out (no node, no stop): answers
  // resign waiters and starts the hold, or closes the session on shutdown.
  void FinishLeaving();
  // Rule 12's last step on the way out: close the session, then tell the
  // shutdown's waiters.
  void CloseSession();

  // Role bookkeeping: recomputes the role and records a transition.
  Role ComputeRole() const;
  void UpdateRole(Reason why);

  std::string PathOf(const std::string& node) const;
  // Aborts through InvariantBroken() when !ok (and invariants are checked).
  void Expect(bool ok, const char* what) const;
  [[noreturn]] void InvariantBroken(const char* what) const;

  // Constant after construction, except identity.address, identity.meta,
  // identity.priority and recheck_interval (Reconfigure()).
  RecipeOptions options_;
  ZkClient& zk_;
  const Clock& clock_;
  RoleListener& listener_;
  Metrics& metrics_;

  // The four machines.
  SessionPhase phase_ = SessionPhase::kIdle;
  NodePhase node_ = NodePhase::kNone;
  Leadership leadership_ = Leadership::kNone;
  Intent intent_ = Intent::kCampaign;

  // Session.
  bool ever_connected_ = false;
  int64_t session_id_ = 0;         // of the session our state belongs to; 0 if none
  Clock::TimePoint last_heard_{};  // send time of the latest confirmed request
  std::chrono::milliseconds reopen_backoff_{0};

  // Candidacy.
  std::string uuid_;
  std::optional<std::string> own_node_;
  // The data our node was created with or last set to (EncodeNodeData), and
  // whether a set of it is in flight (Publish()).
  std::string published_;
  bool publish_in_flight_ = false;
  Clock::TimePoint publish_not_before_{};  // after a failed set
  // Nodes of ours from sessions we gave up without the server's word (assumed
  // expiry, auth failure), known by uuid (a create whose answer was lost has
  // no name yet): such a node may live on until the server expires the
  // session (an ensemble that restarts gives it a fresh timeout), so the next
  // session finds it in a listing and deletes it. A resign, or a shutdown, is
  // done only once none is left. Oldest first, at most kMaxStaleNodes.
  struct StaleNode {
    std::string uuid;
    std::optional<std::string> name;  // once a listing showed it
  };
  std::vector<StaleNode> stale_;
  bool stale_delete_in_flight_ = false;
  Clock::TimePoint delete_not_before_{};  // after a failed delete
  // Our delete succeeded at this time: the next write waits kYieldAfterDelete.
  std::optional<Clock::TimePoint> deleted_at_;

  // View.
  uint64_t refresh_seq_ = 0;
  uint64_t listed_seq_ = 0;  // the refresh whose listing candidates_ holds
  // A listing under a children watch that is not answered yet: a children
  // event that comes meanwhile is of a change it shows (the event came
  // first), and it arms the watch again, so that event needs no listing.
  std::optional<uint64_t> watched_listing_out_;
  uint64_t own_read_seq_ = 0;  // the refresh whose read of our node is sent
  std::vector<std::string> candidates_;
  bool candidates_known_ = false;
  // Nodes whose watch this session holds (a watched read answered, its
  // event not yet fired): a listing does not read them again.
  std::set<std::string> watched_;
  std::optional<LeaderView> leader_;
  // The epoch of the last leader known, kept when leader_ is cleared, for
  // the role-change log line.
  int64_t last_epoch_ = 0;

  // Rule 13: every other candidate after us in line, ranked (KeepsRanks()).
  struct PeerRank {
    Rank rank;
    std::string id;  // for the log line
    // Send time of the read that gave `rank`; nullopt before the first answer.
    std::optional<Clock::TimePoint> read_sent;
    Clock::TimePoint seen{};                            // first listed while we rank
    std::chrono::system_clock::time_point seen_wall{};  // the same, for /status
    int pending = 0;                                    // reads in flight
    // Its creation, on our clock (by its creation time and our wall clock
    // when its first read answered, never later than that answer), and that
    // answer's time: as the next in line we yield to it ahead of the
    // leader's exit once it is EarlySettle() old, counted from `answered`
    // at the earliest and at the latest.
    std::optional<Clock::TimePoint> born;
    Clock::TimePoint answered{};
  };
  // A node that joined less than this ago (by its creation time: half of
  // election.preempt_delay, at most kEarlySettle, with preemption, so that
  // the line is sorted when the leader hands over; a minute without, when
  // nothing is in a hurry until the leader changes) makes the next in line
  // wait before it yields ahead of time: a preferred node that restarts or
  // flaps would otherwise make every node ahead of it yield at each restart
  // (N yields, each a listing and N reads), where it costs nothing until the
  // leader changes. A node seen older yields at once, so the rest of a chain
  // of yields goes without waiting. A claim (first in line) never waits.
  static constexpr std::chrono::seconds kEarlySettle{5};
  static constexpr std::chrono::seconds kEarlySettleWithoutPreemption{60};
  std::chrono::milliseconds EarlySettle() const;
  // When ConsiderYield() looks again (the settle of the successor ends).
  std::optional<Clock::TimePoint> early_yield_at_;
  std::map<std::string, PeerRank> ranks_;
  // Bumped whenever ranks_ is dropped: the answers of its reads are stale.
  uint64_t rank_generation_ = 0;
  // The claim under way, for the listing `seq`: our node's read (its stat
  // once confirmed); it waits for every rank too.
  struct Claim {
    uint64_t seq = 0;
    std::optional<NodeStat> own;
  };
  std::optional<Claim> claim_;

  // When ConsiderPreemption() looks again (the successor's delay ends).
  std::optional<Clock::TimePoint> preempt_at_;
  // A preemption that bounces (the lead comes back to us within
  // kPreemptBounceWindow: the preferred node's start failed or hung, or it
  // lost its session) doubles the delay of the next one, up to
  // kMaxPreemptDelay; any other leadership starts over. The window covers a
  // start hook that hangs for the default hooks.timeout and a stop hook after
  // it. Kept across sessions.
  static constexpr std::chrono::minutes kPreemptBounceWindow{5};
  static constexpr std::chrono::hours kMaxPreemptDelay{1};
  std::optional<Clock::TimePoint> preempted_at_;
  int preempt_bounces_ = 0;
  std::chrono::milliseconds PreemptDelay() const;

  // Leadership: the term counts our claims; a stop continuation of another
  // term is stale.
  uint64_t term_ = 0;

  // Health gating: enabled by the first SetHealth().
  HealthView health_;

  // The last leader announced to the listener (OnLeaderChanged).
  std::optional<LeaderView> announced_leader_;

  // Leaving.
  Reason leave_reason_ = Reason::kResigned;  // for the stop hook of a voluntary exit
  std::chrono::milliseconds resign_hold_{0};
  std::optional<Clock::TimePoint> hold_until_;
  std::optional<Clock::TimePoint> close_at_;  // shutting down: the close waits until then
  std::vector<std::function<void(ElectionControl::ResignOutcome)>> resign_waiters_;
  std::vector<std::function<void()>> shutdown_waiters_;

  // Maintenance.
  std::optional<std::chrono::system_clock::time_point> maintenance_since_;
  std::vector<std::function<void(ElectionControl::ResignOutcome)>> withdraw_waiters_;
  std::vector<std::function<void(ElectionControl::ResignOutcome)>> join_waiters_;

  // Role.
  Role role_ = Role::kStarting;
  std::optional<TransitionView> last_transition_;
  std::vector<TransitionView> recent_transitions_;  // oldest first, bounded

  // Timers (time_point::max() when off).
  Clock::TimePoint next_ping_ = Clock::TimePoint::max();
  Clock::TimePoint next_recheck_ = Clock::TimePoint::max();
  Clock::TimePoint next_retry_ = Clock::TimePoint::max();
  // A join waits for kYieldAfterDelete after our delete, until then.
  Clock::TimePoint next_join_ = Clock::TimePoint::max();
  Clock::TimePoint next_reopen_ = Clock::TimePoint::max();

  // Steps and the trace.
  int step_depth_ = 0;
  struct TraceEntry {
    Clock::TimePoint at;
    const char* what;
    int64_t a, b;
    uint8_t session, node, leadership, intent;
  };
  static constexpr size_t kTraceSize = 64;
  mutable std::array<TraceEntry, kTraceSize> trace_{};
  mutable uint64_t trace_count_ = 0;
};

}  // namespace zkelect
