#include "zkelect/election/recipe.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "zkelect/common/duration.h"
#include "zkelect/common/log_event.h"
#include "zkelect/election/candidate_names.h"
#include "zkelect/election/node_data.h"
#include "zkelect/election/role_listener.h"
#include "zkelect/metrics/metrics.h"

namespace zkelect {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

constexpr milliseconds kRetryDelay{1000};
constexpr milliseconds kMaxReopenBackoff{30'000};

std::string Hex(int64_t session_id) { return fmt::format("0x{:x}", session_id); }

std::string Basename(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

milliseconds Millis(Clock::Duration d) { return duration_cast<milliseconds>(d); }

}  // namespace

template <typename Callback>
auto Recipe::Confirmed(Callback callback) {
  return [this, sent = clock_.Now(), callback = std::move(callback)](ZkCode code,
                                                                     const auto&... rest) {
    if (IsServerAnswer(code)) Heard(sent);
    callback(code, rest...);
  };
}

Recipe::Recipe(RecipeOptions options, ZkClient& zk, const Clock& clock, RoleListener& listener,
               Metrics& metrics)
    : options_(std::move(options)), zk_(zk), clock_(clock), listener_(listener), metrics_(metrics) {
  health_.enabled = options_.health_gated;
  zk_.SetEventSink(this);
}

Recipe::~Recipe() { zk_.SetEventSink(nullptr); }

void Recipe::Start() {
  spdlog::info("election {}: starting as {} ({}), ZooKeeper {}", options_.election_path,
               options_.identity.id, options_.campaign ? "candidate" : "observer",
               options_.servers);
  OpenSession();
}

// ---------------------------------------------------------------------------
// Session

void Recipe::OpenSession() {
  phase_ = Phase::kConnecting;
  session_id_ = 0;
  own_node_.reset();
  create_state_ = CreateState::kNone;
  parent_in_flight_ = false;
  delete_in_flight_ = false;
  candidates_.clear();
  candidates_known_ = false;
  leader_.reset();
  watched_.clear();  // a new session holds no watch
  next_ping_ = next_recheck_ = next_retry_ = next_reopen_ = Clock::TimePoint::max();
  if (!zk_.Open()) {
    reopen_backoff_ = std::clamp(reopen_backoff_ * 2, kRetryDelay, kMaxReopenBackoff);
    next_reopen_ = clock_.Now() + reopen_backoff_;
    phase_ = Phase::kIdle;
  }
}

// Rule 8: an expired (or unauthenticated) handle is final. Close it here, on
// the loop thread and outside any library callback, and start over with a new
// handle, new credentials and a new uuid.
void Recipe::ReopenSession(Reason why) {
  if (leading_) StepDown(why, {});
  zk_.Close();
  // Replies of the closed handle never come: nothing is in flight any more.
  delete_in_flight_ = false;
  if (shutting_down_) {
    own_node_.reset();  // gone with the session
    if (withdrawing_ && !stop_pending_) FinishWithdraw(/*deleted=*/false);
    return;
  }
  if (why == Reason::kExpired && phase_ != Phase::kIdle) {
    OpenSession();
  } else {
    reopen_backoff_ = std::clamp(reopen_backoff_ * 2, kRetryDelay, kMaxReopenBackoff);
    phase_ = Phase::kIdle;
    session_id_ = 0;
    own_node_.reset();
    next_ping_ = next_recheck_ = next_retry_ = Clock::TimePoint::max();
    next_reopen_ = clock_.Now() + reopen_backoff_;
  }
  // A resign whose delete was lost with the handle is over: the node went
  // with the session.
  if (withdrawing_ && !stop_pending_) FinishWithdraw(/*deleted=*/false);
  UpdateRole(why);
}

void Recipe::OnSessionState(SessionState state) {
  switch (state) {
    case SessionState::kConnected:
      OnConnected();
      break;
    case SessionState::kConnecting:
      if (phase_ != Phase::kConnected) break;
      phase_ = Phase::kConnecting;
      next_ping_ = next_recheck_ = Clock::TimePoint::max();
      spdlog::warn("zk: connection to ZooKeeper lost; the client library is reconnecting");
      if (leading_) StepDown(Reason::kDisconnected, {});  // rule 6
      UpdateRole(Reason::kDisconnected);
      break;
    case SessionState::kExpired:
      spdlog::warn("zk: session {} expired; opening a new session", Hex(session_id_));
      ReopenSession(Reason::kExpired);
      break;
    case SessionState::kAuthFailed:
      spdlog::error(
          "zk: ZooKeeper refused the credentials of zk.auth; retrying with a new session");
      phase_ = Phase::kIdle;  // back off before the next attempt
      ReopenSession(Reason::kExpired);
      break;
  }
}

void Recipe::OnConnected() {
  const Clock::TimePoint now = clock_.Now();
  phase_ = Phase::kConnected;
  reopen_backoff_ = milliseconds(0);
  last_heard_ = std::max(last_heard_, now);
  next_ping_ = now + SessionTimeout() / 6;
  next_recheck_ = now + options_.recheck_interval;
  if (zk_.session_id() != session_id_) {
    session_id_ = zk_.session_id();
    ever_connected_ = true;
    spdlog::info("zk: session {} established (negotiated timeout {})", Hex(session_id_),
                 FormatDuration(SessionTimeout()));
    if (WantCandidacy()) {
      Join();
    } else {
      Refresh();
    }
  } else {
    // Rule 6: same session after a reconnect. Our node survived; re-read the
    // children and re-check the claim (rule 4) instead of recreating.
    spdlog::info("zk: reconnected, session {} still valid", Hex(session_id_));
    watched_.clear();  // the library re-arms them; read again all the same
    Refresh();
  }
  UpdateRole(Reason::kConnected);
}

void Recipe::Heard(Clock::TimePoint sent) {
  const bool was_fenced = Fenced();
  last_heard_ = std::max(last_heard_, sent);
  if (was_fenced && !Fenced()) {
    spdlog::info("zk: ZooKeeper answers again");
    Refresh();
    UpdateRole(Reason::kConnected);
  }
}

std::optional<Clock::TimePoint> Recipe::LeaseExpiry() const {
  if (!leading_) return std::nullopt;
  return last_heard_ + SessionTimeout() / 2;
}

bool Recipe::Fenced() const {
  return session_id_ != 0 && clock_.Now() - last_heard_ > SessionTimeout() / 2;
}

milliseconds Recipe::SessionTimeout() const { return zk_.negotiated_timeout(); }

// ---------------------------------------------------------------------------
// Timers

void Recipe::OnWake() {
  const Clock::TimePoint now = clock_.Now();
  if (close_at_) {
    if (now >= *close_at_) CloseSession();
    return;  // leaving: nothing else to do
  }
  if (session_id_ != 0) {
    const Clock::Duration silent = now - last_heard_;
    // Rule 8: silent for a whole timeout, the server has expired us.
    if (silent > SessionTimeout()) {
      spdlog::warn(
          "zk: no answer for {} (more than the session timeout); assuming session {} "
          "expired",
          FormatDuration(Millis(silent)), Hex(session_id_));
      ReopenSession(Reason::kExpired);
      return;
    }
    // Rule 7: the library notices a dead connection only after 2/3 of the
    // timeout; the server may elect another node after the whole timeout.
    // Stepping down at 1/2 keeps the stop ahead of the next leader's start.
    if (leading_ && silent > SessionTimeout() / 2) {
      spdlog::warn(
          "self-fencing: no answer from ZooKeeper for {} (more than half the {} session "
          "timeout); stepping down",
          FormatDuration(Millis(silent)), FormatDuration(SessionTimeout()));
      StepDown(Reason::kDisconnected, {});
    }
  }
  if (now >= next_reopen_) {
    next_reopen_ = Clock::TimePoint::max();
    OpenSession();
  }
  if (now >= next_ping_) {
    next_ping_ = now + SessionTimeout() / 6;
    // The sync proves the session alive at the quorum (rule 7). (A deleted
    // election path needs no ping of its own: its children go first, and
    // the watch on the predecessor or on our own node fires.)
    zk_.Sync(options_.election_path, Confirmed([](ZkCode) {}));
  }
  if (now >= next_recheck_) {
    next_recheck_ = now + options_.recheck_interval;
    watched_.clear();  // rule 9 re-arms every watch too, in case one was lost
    Refresh();
  }
  if (now >= next_retry_) {
    next_retry_ = Clock::TimePoint::max();
    Refresh();
  }
  if (hold_until_ && now >= *hold_until_) {
    hold_until_.reset();
    spdlog::info("rejoining the election after resigning");
    Join();
    UpdateRole(Reason::kHoldOver);
  }
  UpdateRole(Reason::kDisconnected);  // the fence may have closed with time alone
}

Clock::TimePoint Recipe::NextWakeup() const {
  if (close_at_) return *close_at_;  // leaving: OnWake() has nothing else to do
  Clock::TimePoint next = std::min({next_ping_, next_recheck_, next_retry_, next_reopen_});
  if (hold_until_) next = std::min(next, *hold_until_);
  if (session_id_ != 0) {
    const Clock::Duration tick{1};
    if (leading_ || role_ != Role::kDisconnected) {
      next = std::min(next, last_heard_ + SessionTimeout() / 2 + tick);
    }
    next = std::min(next, last_heard_ + SessionTimeout() + tick);
  }
  return next;
}

void Recipe::RetryLater() { next_retry_ = std::min(next_retry_, clock_.Now() + kRetryDelay); }

// ---------------------------------------------------------------------------
// Candidacy

bool Recipe::WantCandidacy() const {
  return options_.campaign && !shutting_down_ && !withdrawing_ && !hold_until_ &&
         phase_ != Phase::kClosed && (!health_.enabled || health_.healthy == true);
}

std::string Recipe::PathOf(const std::string& node) const {
  return options_.election_path + "/" + node;
}

void Recipe::Join() {
  if (!WantCandidacy() || own_node_ || create_state_ != CreateState::kNone || parent_in_flight_ ||
      phase_ != Phase::kConnected) {
    return;
  }
  uuid_ = NewUuid();  // rule 1: fresh for every node we create
  create_state_ = CreateState::kInFlight;
  zk_.Create(
      PathOf(CandidatePrefix(uuid_)), EncodeNodeData(options_.identity),
      ZkClient::CreateMode::kEphemeralSequential,
      Confirmed([this](ZkCode code, const std::string& created) { OnCreated(code, created); }));
}

void Recipe::OnCreated(ZkCode code, const std::string& created_path) {
  if (create_state_ != CreateState::kInFlight) return;
  create_state_ = CreateState::kNone;
  switch (code) {
    case ZkCode::kOk:
      own_node_ = Basename(created_path);
      spdlog::info("joined election {} as {}", options_.election_path, *own_node_);
      Refresh();
      UpdateRole(Reason::kJoined);
      return;
    case ZkCode::kNoNode:
      EnsureParent();  // rule 9: the parent is created if missing, then we join
      return;
    case ZkCode::kConnectionLoss:
    case ZkCode::kOperationTimeout:
      // Rule 3: the server may have created the node. Never create blindly:
      // the next children listing looks for our uuid first.
      create_state_ = CreateState::kUncertain;
      spdlog::warn(
          "create of our node under {} may or may not have happened ({}); looking for "
          "it before creating again",
          options_.election_path, ZkCodeName(code));
      Refresh();
      return;
    case ZkCode::kSessionExpired:
    case ZkCode::kClosing:
      return;  // the session events start over
    default:
      spdlog::error("cannot create our node under {}: {}; retrying", options_.election_path,
                    ZkCodeName(code));
      RetryLater();
      return;
  }
}

void Recipe::OnUncertainNode(const std::string& node, ZkCode code, const NodeStat& stat) {
  if (create_state_ != CreateState::kUncertain) return;
  if (code == ZkCode::kNoNode) {
    create_state_ = CreateState::kNone;
    Join();
    return;
  }
  if (code != ZkCode::kOk) {
    RetryLater();
    return;
  }
  create_state_ = CreateState::kNone;
  if (stat.ephemeral_owner == session_id_) {
    own_node_ = node;
    spdlog::info("adopted {} after a lost create: its owner is our session {}", node,
                 Hex(session_id_));
    Refresh();
    UpdateRole(Reason::kJoined);
    return;
  }
  spdlog::warn(
      "{} carries our uuid but belongs to session {}, not ours ({}); deleting it and "
      "creating a new node",
      node, Hex(stat.ephemeral_owner), Hex(session_id_));
  zk_.Delete(PathOf(node), Confirmed([](ZkCode) {}));
  Join();
}

void Recipe::EnsureParent() {
  if (parent_in_flight_) return;
  parent_in_flight_ = true;
  CreateParentStep(1);
}

// Creates the election path one component at a time ("/a", "/a/b", ...),
// accepting components that exist, then joins.
void Recipe::CreateParentStep(size_t end) {
  const std::string& path = options_.election_path;
  end = path.find('/', end);
  const std::string prefix = path.substr(0, end);
  zk_.Create(prefix, "", ZkClient::CreateMode::kPersistent,
             Confirmed([this, prefix, end](ZkCode code, const std::string&) {
               if (!parent_in_flight_) return;
               if (code == ZkCode::kOk || code == ZkCode::kNodeExists) {
                 if (end == std::string::npos) {
                   parent_in_flight_ = false;
                   Join();
                 } else {
                   CreateParentStep(end + 1);
                 }
                 return;
               }
               parent_in_flight_ = false;
               if (code == ZkCode::kClosing || code == ZkCode::kSessionExpired) return;
               spdlog::error(
                   "cannot create {} of election.path: {}{}; retrying", prefix, ZkCodeName(code),
                   code == ZkCode::kNoNode ? " (does the chroot of zk.servers exist?)" : "");
               RetryLater();
             }));
}

void Recipe::DeleteOwnNode(std::function<void(bool deleted)> then) {
  if (!own_node_ || phase_ != Phase::kConnected) {
    // No node, or no way to reach it now: closing or expiring the session
    // removes an ephemeral node all the same.
    if (then) then(false);
    return;
  }
  const std::string node = *own_node_;
  delete_in_flight_ = true;
  zk_.Delete(PathOf(node), Confirmed([this, node, then = std::move(then)](ZkCode code) {
               delete_in_flight_ = false;
               if (code == ZkCode::kOk || code == ZkCode::kNoNode) {
                 if (own_node_ == node) own_node_.reset();
                 spdlog::info("deleted our node {}", node);
               } else {
                 spdlog::warn("could not delete our node {}: {}", node, ZkCodeName(code));
               }
               if (then) then(code == ZkCode::kOk);
             }));
}

// ---------------------------------------------------------------------------
// The view

void Recipe::Refresh(bool watch_children) {
  if (phase_ != Phase::kConnected) return;
  const bool next_in_line = NextInLine();
  const uint64_t seq = ++refresh_seq_;
  zk_.GetChildren(
      options_.election_path, watch_children,
      [this, seq, watch_children](ZkCode code, const std::vector<std::string>& children) {
        OnChildren(seq, watch_children, code, children);
      });
  // ZooKeeper answers a session's requests in order: this read, sent right
  // behind the listing, is answered right after it. The next in line (whose
  // watch on the leader fired) then claims one round trip after the deletion
  // instead of listing first and reading its node afterwards.
  if (next_in_line) ReadOwnNode(seq);
}

bool Recipe::NextInLine() const {
  return own_node_ && !leading_ && candidates_.size() >= 2 && candidates_[1] == *own_node_;
}

void Recipe::ReadOwnNode(uint64_t seq) {
  own_read_seq_ = seq;
  zk_.GetData(
      PathOf(*own_node_), true,
      [this, seq](ZkCode c, const std::string&, const NodeStat& stat) { OnOwnData(seq, c, stat); });
}

void Recipe::OnChildren(uint64_t seq, bool watched, ZkCode code,
                        const std::vector<std::string>& children) {
  if (seq != refresh_seq_) return;  // a newer listing is on its way
  if (code == ZkCode::kNoNode) {
    // Rule 9: the parent vanished (and our node with it): recreate, rejoin.
    candidates_.clear();
    candidates_known_ = true;
    leader_.reset();
    if (create_state_ == CreateState::kUncertain)
      create_state_ = CreateState::kNone;  // no parent, no node
    if (own_node_) {
      spdlog::warn("election path {} disappeared with our node; recreating it",
                   options_.election_path);
      if (leading_) StepDown(Reason::kDeleted, {});
      own_node_.reset();
    }
    if (WantCandidacy()) {
      EnsureParent();
    } else {
      // An observer does not write: it waits for a candidate to create the path.
      zk_.Exists(options_.election_path, /*watch=*/true, [this](ZkCode c, const NodeStat&) {
        if (c == ZkCode::kOk) Refresh();
      });
    }
    UpdateRole(Reason::kDeleted);
    return;
  }
  if (code != ZkCode::kOk) {
    if (!IsOutcomeUnknown(code) && code != ZkCode::kSessionExpired && code != ZkCode::kClosing) {
      RetryLater();
    }
    return;
  }
  candidates_ = SortCandidates(children);
  candidates_known_ = true;
  listed_seq_ = seq;

  if (create_state_ == CreateState::kUncertain) {
    auto ours =
        std::find_if(candidates_.begin(), candidates_.end(),
                     [this](const std::string& name) { return IsCandidateOf(name, uuid_); });
    if (ours == candidates_.end()) {
      spdlog::info("the lost create did not happen; creating our node");
      create_state_ = CreateState::kNone;
    } else {
      const std::string node = *ours;
      zk_.Exists(PathOf(node), /*watch=*/false,
                 [this, node](ZkCode c, const NodeStat& stat) { OnUncertainNode(node, c, stat); });
    }
  }

  auto own =
      own_node_ ? std::find(candidates_.begin(), candidates_.end(), *own_node_) : candidates_.end();
  if (own_node_ && own == candidates_.end()) {
    // Rule 4: our node is missing: someone deleted it. Create it again.
    if (!delete_in_flight_ && !withdrawing_) {
      spdlog::warn("our node {} is gone (deleted by another client?)", *own_node_);
    }
    if (leading_) StepDown(Reason::kDeleted, {});
    own_node_.reset();
  }
  if (!own_node_) {
    Join();
  } else if (!WantCandidacy() && !withdrawing_ && !delete_in_flight_) {
    DeleteOwnNode({});  // left over from a delete that did not go through
  }

  if (candidates_.empty()) {
    leader_.reset();
    if (!own_node_ && !WantCandidacy() && !watched) Refresh(/*watch_children=*/true);
    UpdateRole(Reason::kJoined);
    return;
  }
  const std::string first = candidates_.front();
  if (own_node_ && first == *own_node_) {
    // We may lead: confirm the node is ours (rule 4) and watch it (rule 5),
    // unless that read already went out with the listing.
    if (own_read_seq_ != seq) ReadOwnNode(seq);
  } else {
    if (leading_) StepDown(Reason::kDeleted, {});
    // Track the leader for /leader (its czxid is the epoch)...
    if (!leader_ || leader_->node != first || !watched_.contains(first)) ReadLeader(seq, first);
    // ...and watch only our predecessor (rule 5: no herd).
    if (own_node_) {
      own = std::find(candidates_.begin(), candidates_.end(), *own_node_);
      const std::string predecessor = *(own - 1);
      if (predecessor != first && !watched_.contains(predecessor)) {
        zk_.GetData(PathOf(predecessor), true,
                    [this, predecessor](ZkCode c, const std::string&, const NodeStat&) {
                      if (c == ZkCode::kOk) watched_.insert(predecessor);
                      if (c == ZkCode::kNoNode) Refresh();
                    });
      }
    }
  }
  UpdateRole(Reason::kJoined);
}

void Recipe::OnOwnData(uint64_t seq, ZkCode code, const NodeStat& stat) {
  // Only with the listing of the same refresh: a read sent with a listing
  // that failed decides nothing.
  if (seq != refresh_seq_ || seq != listed_seq_ || !own_node_) return;
  if (code == ZkCode::kNoNode) {
    Refresh();
    return;
  }
  if (code != ZkCode::kOk) {
    if (!IsOutcomeUnknown(code) && code != ZkCode::kSessionExpired && code != ZkCode::kClosing) {
      RetryLater();
    }
    return;
  }
  if (stat.ephemeral_owner != session_id_) {
    spdlog::error("our node {} belongs to session {}, not ours ({}); creating a new one",
                  own_node_.value_or("?"), Hex(stat.ephemeral_owner), Hex(session_id_));
    if (leading_) StepDown(Reason::kDeleted, {});
    own_node_.reset();
    Join();
    return;
  }
  // A read sent with the listing may find that we are not first after all.
  if (candidates_.empty() || candidates_.front() != own_node_) return;
  if (!WantCandidacy() || phase_ != Phase::kConnected || Fenced()) return;
  if (leading_) {
    SetLeader(*own_node_, options_.identity, stat.czxid);
  } else {
    BecomeLeader(stat);
  }
}

void Recipe::ReadLeader(uint64_t seq, const std::string& node) {
  zk_.GetData(PathOf(node), true,
              [this, seq, node](ZkCode c, const std::string& data, const NodeStat& st) {
                OnLeaderData(seq, node, c, data, st);
              });
}

void Recipe::OnLeaderData(uint64_t seq, const std::string& node, ZkCode code,
                          const std::string& data, const NodeStat& stat) {
  if (code == ZkCode::kOk) watched_.insert(node);  // armed, even if the answer comes too late
  if (seq != refresh_seq_) return;
  if (code == ZkCode::kNoNode) {
    Refresh();
    return;
  }
  if (code != ZkCode::kOk) return;
  SetLeader(node, DecodeNodeData(data), stat.czxid);
  UpdateRole(Reason::kJoined);
}

void Recipe::OnNodeEvent(NodeEventType type, const std::string& path) {
  if (path != options_.election_path && !path.starts_with(options_.election_path + "/")) return;
  const std::string node = Basename(path);
  watched_.erase(node);  // a watch fires once
  // Our own delete on the way out (rule 12) fired the watch on our node, and
  // after it the session only waits to be closed: a session about to close
  // has nothing to learn from a listing, which would only reach the server
  // along with the successor's.
  if (close_at_ ||
      (shutting_down_ && type == NodeEventType::kDeleted && IsCandidateOf(node, uuid_))) {
    return;
  }
  if (type == NodeEventType::kDeleted && leading_ && own_node_ && node == *own_node_ &&
      !withdrawing_) {
    // Rule 5: the leader watches its own node; a manual delete demotes it.
    spdlog::warn("our node {} was deleted by another client", *own_node_);
    StepDown(Reason::kDeleted, {});
  }
  if (type == NodeEventType::kDeleted && FollowLeaderExit(node)) return;
  Refresh();
}

// Every follower watches the leader's node (for /leader), so its deletion
// reaches them all. Only the next in line must list the children (rule 5:
// it may lead). Behind it, no node below the second of the last listing can
// exist (sequence numbers only grow; a node missing from that listing was
// already gone), so the second is the new leader: one read of it, instead of
// a herd of listings. If it went too, the listing happens after all.
bool Recipe::FollowLeaderExit(const std::string& node) {
  if (leading_ || NextInLine() || phase_ != Phase::kConnected || candidates_.size() < 2 ||
      candidates_.front() != node || node == own_node_) {
    return false;
  }
  candidates_.erase(candidates_.begin());
  ReadLeader(refresh_seq_, candidates_.front());
  return true;
}

// ---------------------------------------------------------------------------
// Leadership

void Recipe::SetLeader(const std::string& node, NodeIdentity identity, int64_t epoch) {
  const bool same = leader_ && leader_->node == node && leader_->epoch == epoch;
  LeaderView view;
  view.identity = std::move(identity);
  view.node = node;
  view.epoch = epoch;  // rule 10: czxid, the fencing token
  view.since = same ? leader_->since : clock_.WallNow();
  leader_ = std::move(view);
  last_epoch_ = epoch;
  if (!leading_) AnnounceLeader();  // a new leader runs its start first
}

void Recipe::AnnounceLeader() {
  const bool changed = leader_ && (!announced_leader_ || announced_leader_->node != leader_->node ||
                                   announced_leader_->epoch != leader_->epoch);
  if (!changed) return;
  std::optional<LeaderView> previous = std::exchange(announced_leader_, leader_);
  listener_.OnLeaderChanged(previous, *leader_);
}

void Recipe::BecomeLeader(const NodeStat& own_stat) {
  leading_ = true;
  SetLeader(*own_node_, options_.identity, own_stat.czxid);
  // The start hook first: the role change's log line can wait.
  listener_.OnElected(*leader_);
  UpdateRole(Reason::kElected);
  AnnounceLeader();
}

void Recipe::StepDown(Reason reason, std::function<void()> after_stop) {
  if (!leading_) {
    if (after_stop) after_stop();
    return;
  }
  leading_ = false;
  leader_.reset();  // we no longer know who leads until the next listing
  // The stop hook first: a handoff waits for it, not for the log line.
  listener_.OnDemoted(
      reason, after_stop ? std::move(after_stop) : [] {});
  UpdateRole(reason);
}

// ---------------------------------------------------------------------------
// Voluntary withdrawal (rule 12): stop, then delete, then rejoin or close.

void Recipe::Resign(milliseconds hold, std::function<void(ElectionControl::ResignOutcome)> done,
                    Reason reason) {
  if (shutting_down_) {
    done(ElectionControl::ResignOutcome::kShuttingDown);
    return;
  }
  if (!leading_) {
    done(ElectionControl::ResignOutcome::kNotLeader);
    return;
  }
  spdlog::info("resigning ({}); rejoining after {}", ReasonName(reason), FormatDuration(hold));
  resign_waiters_.push_back(std::move(done));
  resign_hold_ = hold;
  Withdraw(reason);
}

void Recipe::SetHealth(bool healthy, std::string detail) {
  const bool was_wanted = WantCandidacy();
  health_.enabled = true;
  health_.healthy = healthy;
  health_.detail = std::move(detail);
  if (healthy) {
    if (!was_wanted && WantCandidacy()) spdlog::info("healthy again; joining the election");
    Join();
  } else if (options_.campaign && !withdrawing_ && !shutting_down_ && (own_node_ || leading_)) {
    spdlog::warn("unhealthy ({}); withdrawing from the election", health_.detail);
    resign_hold_ = milliseconds(0);
    Withdraw(Reason::kUnhealthy);
  }
  UpdateRole(healthy ? Reason::kJoined : Reason::kUnhealthy);
}

void Recipe::Shutdown(std::function<void()> done) {
  if (phase_ == Phase::kClosed) {
    done();
    return;
  }
  shutdown_waiters_.push_back(std::move(done));
  if (shutting_down_) return;
  shutting_down_ = true;
  hold_until_.reset();
  // (A resign under way finishes, then closes.) The stop hook is on its way
  // before the line below is written.
  if (!withdrawing_) Withdraw(Reason::kShutdown);
  spdlog::info("shutting down: leaving election {}", options_.election_path);
}

void Recipe::Withdraw(Reason reason) {
  withdrawing_ = true;
  stop_pending_ = true;
  StepDown(reason, [this] {
    stop_pending_ = false;
    DeleteOwnNode([this](bool deleted) { FinishWithdraw(deleted); });
  });
  UpdateRole(reason);
}

void Recipe::FinishWithdraw(bool deleted) {
  if (!withdrawing_) return;
  withdrawing_ = false;
  for (auto& waiter : resign_waiters_) waiter(ElectionControl::ResignOutcome::kDone);
  resign_waiters_.clear();
  const milliseconds yield = deleted ? kYieldAfterDelete : milliseconds(0);
  if (shutting_down_) {
    if (yield > milliseconds(0) && phase_ == Phase::kConnected) {
      // Rule 12's close, once the successor has had its moment. Until then
      // this session sends nothing: no timer runs (OnWake()) and no event
      // starts a listing (OnNodeEvent()).
      close_at_ = clock_.Now() + yield;
    } else {
      CloseSession();
    }
    return;
  }
  const milliseconds hold = std::max(resign_hold_, yield);
  if (hold > milliseconds(0)) {
    hold_until_ = clock_.Now() + hold;
  } else {
    Join();
  }
  UpdateRole(Reason::kResigned);
}

void Recipe::CloseSession() {
  close_at_.reset();
  zk_.Close();  // rule 12: delete, then close
  phase_ = Phase::kClosed;
  session_id_ = 0;
  own_node_.reset();
  next_ping_ = next_recheck_ = next_retry_ = next_reopen_ = Clock::TimePoint::max();
  UpdateRole(Reason::kShutdown);
  auto waiters = std::move(shutdown_waiters_);
  shutdown_waiters_.clear();
  for (auto& waiter : waiters) waiter();
}

// ---------------------------------------------------------------------------
// Role and snapshot

Role Recipe::ComputeRole() const {
  if (phase_ == Phase::kClosed || shutting_down_ || withdrawing_ || hold_until_ ||
      (options_.campaign && health_.enabled && health_.healthy != true)) {
    return Role::kWithdrawn;
  }
  if (!ever_connected_ && phase_ != Phase::kConnected) return Role::kStarting;
  if (phase_ != Phase::kConnected || Fenced()) return Role::kDisconnected;
  if (!options_.campaign) return Role::kObserver;
  if (leading_) return Role::kLeader;
  if (own_node_) return Role::kFollower;
  return Role::kStarting;
}

void Recipe::UpdateRole(Reason why) {
  const Role next = ComputeRole();
  if (next == role_) return;
  last_transition_ = TransitionView{clock_.WallNow(), role_, next, why};
  if (recent_transitions_.size() == kRecentTransitions) {
    recent_transitions_.erase(recent_transitions_.begin());
  }
  recent_transitions_.push_back(*last_transition_);
  metrics_.transitions.Increment({std::string(ReasonName(why))});
  // The term this change is about: the leader's now, or the last one known.
  const int64_t epoch = leader_ ? leader_->epoch : last_epoch_;
  std::string message = "role " + std::string(RoleName(role_)) + " -> " +
                        std::string(RoleName(next)) + " (" + std::string(ReasonName(why)) +
                        ", epoch " + std::to_string(epoch);
  if (next == Role::kLeader) message += ", node " + own_node_.value_or("");
  message += ")";
  LogEvent(spdlog::level::info, message,
           {{"event", std::string("role_change")},
            {"from", std::string(RoleName(role_))},
            {"to", std::string(RoleName(next))},
            {"reason", std::string(ReasonName(why))},
            {"epoch", epoch},
            {"node", own_node_.value_or("")}});
  role_ = next;
}

Snapshot Recipe::MakeSnapshot() const {
  Snapshot s;
  s.id = options_.identity.id;
  s.role = role_;
  s.campaign = options_.campaign;
  switch (phase_) {
    case Phase::kIdle:
    case Phase::kConnecting:
      s.session.state = "connecting";
      break;
    case Phase::kConnected:
      s.session.state = "connected";
      break;
    case Phase::kClosed:
      s.session.state = "closed";
      break;
  }
  s.session.session_id = session_id_;
  s.session.negotiated_timeout = SessionTimeout();
  s.session.servers = options_.servers;
  s.election_path = options_.election_path;
  s.own_node = own_node_;
  s.candidates = candidates_;
  bool registered = false;
  if (own_node_) {
    auto it = std::find(candidates_.begin(), candidates_.end(), *own_node_);
    if (it != candidates_.end()) {
      s.position = static_cast<size_t>(it - candidates_.begin());
      registered = true;
    }
  }
  const bool trusted = phase_ == Phase::kConnected && !Fenced();
  if (trusted && leader_) s.leader = leader_;
  if (phase_ == Phase::kClosed) {
    s.no_leader_reason = "shutdown";
  } else if (!ever_connected_) {
    s.no_leader_reason = "starting";
  } else if (!trusted) {
    s.no_leader_reason = "disconnected";
  } else if (candidates_known_ && candidates_.empty()) {
    s.no_leader_reason = "no_candidates";
  } else {
    s.no_leader_reason = "electing";
  }
  s.last_transition = last_transition_;
  s.recent_transitions = recent_transitions_;
  s.health = health_;
  s.ready = trusted && (!options_.campaign || registered) &&
            (!health_.enabled || health_.healthy == true);
  return s;
}

}  // namespace zkelect
