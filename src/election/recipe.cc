#include "zkelect/election/recipe.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <tuple>
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
// Advance() runs again while a pass changed the state; more passes than
// this mean two rules undo each other.
constexpr int kMaxAdvancePasses = 8;
// Nodes of sessions given up that a daemon remembers to delete; more are left
// to the server's expiry.
constexpr size_t kMaxStaleNodes = 8;

std::string Hex(int64_t session_id) { return fmt::format("0x{:x}", session_id); }

std::string Basename(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

milliseconds Millis(Clock::Duration d) { return duration_cast<milliseconds>(d); }

// Errors after which a request is neither retried nor acted on: the session
// events that follow (disconnect, expiry, close) start over.
bool SessionWillSay(ZkCode code) {
  return IsOutcomeUnknown(code) || code == ZkCode::kSessionExpired || code == ZkCode::kClosing;
}

}  // namespace

// One step of the loop (see the header). The outermost step, when it ends,
// runs Advance() until the state settles, then checks the invariants.
class Recipe::Step {
 public:
  Step(Recipe* recipe, const char* what, int64_t a = 0, int64_t b = 0) : recipe_(recipe) {
    recipe_->Note(what, a, b);
    ++recipe_->step_depth_;
  }
  ~Step() {
    if (--recipe_->step_depth_ > 0) return;
    ++recipe_->step_depth_;  // what Advance() does is part of this step
    recipe_->Advance();
    recipe_->AnswerJoinWaiters();
    --recipe_->step_depth_;
    recipe_->CheckInvariants();
  }
  Step(const Step&) = delete;
  Step& operator=(const Step&) = delete;

 private:
  Recipe* recipe_;
};

template <typename Callback>
auto Recipe::Reply(const char* what, Callback callback) {
  return [this, what, callback = std::move(callback)](ZkCode code, const auto&... rest) {
    Step step(this, what, static_cast<int64_t>(code));
    callback(code, rest...);
  };
}

template <typename Callback>
auto Recipe::Confirmed(const char* what, Callback callback) {
  return Reply(what, [this, sent = clock_.Now(), callback = std::move(callback)](
                         ZkCode code, const auto&... rest) {
    if (IsServerAnswer(code)) Heard(sent);
    callback(code, rest...);
  });
}

Recipe::Recipe(RecipeOptions options, ZkClient& zk, const Clock& clock, RoleListener& listener,
               Metrics& metrics)
    : options_(std::move(options)), zk_(zk), clock_(clock), listener_(listener), metrics_(metrics) {
  health_.enabled = options_.health_gated;
  intent_ = !options_.campaign                       ? Intent::kObserve
            : options_.maintenance_since.has_value() ? Intent::kMaintenance
            : options_.health_gated                  ? Intent::kUnhealthy
                                                     : Intent::kCampaign;
  if (intent_ == Intent::kMaintenance) maintenance_since_ = options_.maintenance_since;
  zk_.SetEventSink(this);
}

Recipe::~Recipe() { zk_.SetEventSink(nullptr); }

void Recipe::Start() {
  Step step(this, "start");
  spdlog::info("election {}: starting as {} ({}), ZooKeeper {}", options_.election_path,
               options_.identity.id, options_.campaign ? "candidate" : "observer",
               options_.servers);
  OpenSession();
}

// ---------------------------------------------------------------------------
// Advance: what the state asks for next

bool Recipe::WantsNode() const { return intent_ == Intent::kCampaign; }

Recipe::Intent Recipe::CampaignIntent() const {
  if (!options_.campaign) return Intent::kObserve;
  return !health_.enabled || health_.healthy == true ? Intent::kCampaign : Intent::kUnhealthy;
}

void Recipe::SetIntent(Intent next) {
  if (intent_ == next) return;
  Note("intent", static_cast<int64_t>(intent_), static_cast<int64_t>(next));
  intent_ = next;
  if (next != Intent::kHold) hold_until_.reset();
  if (next != Intent::kMaintenance) maintenance_since_.reset();
}

// Rule 12 for every way out: the stop first, the delete only once no stop
// runs, "done" only once ZooKeeper confirmed the node gone. And the way in:
// join when wanted and connected.
void Recipe::Advance() {
  for (int pass = 0; pass < kMaxAdvancePasses; ++pass) {
    const auto before = std::make_tuple(phase_, node_, leadership_, intent_, stale_.size(),
                                        stale_delete_in_flight_, close_at_.has_value());
    if (phase_ == SessionPhase::kClosed || close_at_) return;
    if (!WantsNode() && leadership_ == Leadership::kLeading) {
      StepDown(intent_ == Intent::kResign        ? leave_reason_
               : intent_ == Intent::kShutdown    ? Reason::kShutdown
               : intent_ == Intent::kMaintenance ? Reason::kMaintenance
                                                 : Reason::kUnhealthy);
    }
    // Nothing of ours is deleted while we lead or a stop runs: the successor
    // must not start before our stop hook ended.
    if (leadership_ == Leadership::kNone && phase_ == SessionPhase::kConnected &&
        clock_.Now() >= delete_not_before_) {
      if (!stale_delete_in_flight_) DeleteStaleNode();
      if (!WantsNode() && node_ == NodePhase::kRegistered) DeleteOwnNode();
    }
    Publish();
    if (WantsNode()) {
      Join();
    } else if (intent_ != Intent::kObserve && node_ == NodePhase::kNone && stale_.empty() &&
               leadership_ == Leadership::kNone) {
      FinishLeaving();
    }
    const auto after = std::make_tuple(phase_, node_, leadership_, intent_, stale_.size(),
                                       stale_delete_in_flight_, close_at_.has_value());
    if (before == after) return;
  }
  Expect(false, "Advance() settles");
}

// ---------------------------------------------------------------------------
// Session

void Recipe::OpenSession() {
  phase_ = SessionPhase::kConnecting;
  session_id_ = 0;
  ForgetOwnNode();
  node_ = NodePhase::kNone;
  candidates_.clear();
  candidates_known_ = false;
  leader_.reset();
  watched_.clear();  // a new session holds no watch
  watched_listing_out_.reset();
  next_ping_ = next_recheck_ = next_retry_ = next_reopen_ = next_join_ = Clock::TimePoint::max();
  if (!zk_.Open()) {
    reopen_backoff_ = std::clamp(reopen_backoff_ * 2, kRetryDelay, kMaxReopenBackoff);
    next_reopen_ = clock_.Now() + reopen_backoff_;
    phase_ = SessionPhase::kIdle;
  }
}

// Rule 8: an expired (or unauthenticated, or silent for a whole timeout)
// handle is final. Close it here, on the loop thread and outside any library
// callback; a new handle follows unless we are leaving.
void Recipe::DropSession(Reason why, bool node_gone) {
  if (leadership_ == Leadership::kLeading) StepDown(why);
  zk_.Close();
  // Replies of the closed handle never come: nothing is in flight any more.
  stale_delete_in_flight_ = false;
  const bool maybe_a_node = own_node_ || node_ == NodePhase::kCreating ||
                            node_ == NodePhase::kUncertain || node_ == NodePhase::kDeleting;
  if (maybe_a_node && !node_gone && intent_ != Intent::kShutdown) {
    if (stale_.size() == kMaxStaleNodes) stale_.erase(stale_.begin());  // it expires all the same
    stale_.push_back(StaleNode{uuid_, own_node_});
  }
  ForgetOwnNode();
  node_ = NodePhase::kNone;
  const bool reopen_now = why == Reason::kExpired && phase_ != SessionPhase::kIdle;
  phase_ = SessionPhase::kIdle;
  session_id_ = 0;
  candidates_.clear();
  candidates_known_ = false;
  leader_.reset();
  watched_.clear();
  watched_listing_out_.reset();
  next_ping_ = next_recheck_ = next_retry_ = next_reopen_ = next_join_ = Clock::TimePoint::max();
  if (intent_ == Intent::kShutdown) {
    // Nothing left to leave: the close follows once no stop runs (Advance).
  } else if (reopen_now) {
    OpenSession();
  } else {
    reopen_backoff_ = std::clamp(reopen_backoff_ * 2, kRetryDelay, kMaxReopenBackoff);
    next_reopen_ = clock_.Now() + reopen_backoff_;
  }
  UpdateRole(why);
}

void Recipe::OnSessionState(SessionState state) {
  Step step(this, "session", static_cast<int64_t>(state));
  switch (state) {
    case SessionState::kConnected:
      OnConnected();
      break;
    case SessionState::kConnecting:
      if (phase_ != SessionPhase::kConnected) break;
      phase_ = SessionPhase::kConnecting;
      next_ping_ = next_recheck_ = Clock::TimePoint::max();
      spdlog::warn("zk: connection to ZooKeeper lost; the client library is reconnecting");
      if (leadership_ == Leadership::kLeading) StepDown(Reason::kDisconnected);  // rule 6
      UpdateRole(Reason::kDisconnected);
      break;
    case SessionState::kExpired:
      if (phase_ == SessionPhase::kClosed || phase_ == SessionPhase::kIdle) break;
      spdlog::warn("zk: session {} expired{}", Hex(session_id_),
                   intent_ == Intent::kShutdown ? "" : "; opening a new session");
      DropSession(Reason::kExpired, /*node_gone=*/true);
      break;
    case SessionState::kAuthFailed:
      if (phase_ == SessionPhase::kClosed || phase_ == SessionPhase::kIdle) break;
      spdlog::error(
          "zk: ZooKeeper refused the credentials of zk.auth; retrying with a new session");
      phase_ = SessionPhase::kIdle;  // back off before the next attempt
      DropSession(Reason::kExpired, /*node_gone=*/false);
      break;
  }
}

void Recipe::OnConnected() {
  if (phase_ == SessionPhase::kClosed || phase_ == SessionPhase::kIdle) return;
  const Clock::TimePoint now = clock_.Now();
  phase_ = SessionPhase::kConnected;
  reopen_backoff_ = milliseconds(0);
  delete_not_before_ = {};  // a failed delete goes again on a new connection
  // The server answered when the library got the event, not when we run.
  last_heard_ = std::max(last_heard_, std::min(now, zk_.connected_at()));
  next_ping_ = now + SessionTimeout() / 6;
  next_recheck_ = now + options_.recheck_interval;
  if (zk_.session_id() != session_id_) {
    session_id_ = zk_.session_id();
    ever_connected_ = true;
    spdlog::info("zk: session {} established (negotiated timeout {})", Hex(session_id_),
                 FormatDuration(SessionTimeout()));
    if (!WantsNode()) Refresh();  // a candidate lists once it has joined
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
  const Clock::TimePoint before = last_heard_;
  last_heard_ = std::max(last_heard_, sent);
  if (leadership_ == Leadership::kLeading && last_heard_ != before) {
    listener_.OnLease(*LeaseExpiry());
  }
  if (was_fenced && !Fenced()) {
    spdlog::info("zk: ZooKeeper answers again");
    Refresh();
    UpdateRole(Reason::kConnected);
  }
}

bool Recipe::AssumeExpired() {
  if (session_id_ == 0 || phase_ == SessionPhase::kClosed || intent_ == Intent::kShutdown ||
      leadership_ != Leadership::kNone) {
    return false;
  }
  const Clock::Duration silent = clock_.Now() - last_heard_;
  if (silent <= SessionTimeout()) return false;
  spdlog::warn("zk: no answer for {} (more than the session timeout); assuming session {} expired",
               FormatDuration(Millis(silent)), Hex(session_id_));
  DropSession(Reason::kExpired, /*node_gone=*/false);
  return true;
}

std::optional<Clock::TimePoint> Recipe::LeaseExpiry() const {
  if (leadership_ != Leadership::kLeading) return std::nullopt;
  return last_heard_ + SessionTimeout() / 2;
}

bool Recipe::Fenced() const {
  return session_id_ != 0 && clock_.Now() - last_heard_ > SessionTimeout() / 2;
}

milliseconds Recipe::SessionTimeout() const { return zk_.negotiated_timeout(); }

// ---------------------------------------------------------------------------
// Timers

void Recipe::OnWake() {
  Step step(this, "wake");
  const Clock::TimePoint now = clock_.Now();
  if (close_at_) {
    if (now >= *close_at_) CloseSession();
    return;  // leaving: nothing else to do
  }
  if (phase_ == SessionPhase::kClosed) return;
  if (session_id_ != 0) {
    const Clock::Duration silent = now - last_heard_;
    // Rule 8: silent for a whole timeout, the server has expired us. Not on
    // the way out: a new session would only have to delete the old node, and
    // the server may keep the session alive (an ensemble that restarts gives
    // every session a fresh timeout). There the library's word decides:
    // reconnected (the delete goes out) or expired (the node is gone); the
    // daemon's shutdown budget bounds the wait.
    if (silent > SessionTimeout() && intent_ != Intent::kShutdown) {
      if (leadership_ == Leadership::kLeading) {
        spdlog::warn(
            "zk: no answer for {} (more than the session timeout): session {} has expired; "
            "stepping down before giving it up",
            FormatDuration(Millis(silent)), Hex(session_id_));
        StepDown(Reason::kExpired);
      }
      if (AssumeExpired()) return;
      // Rule 12: closing the handle would delete our node, if the server
      // still holds the session, while the stop hook runs. OnStopped() gives
      // the session up once it ended.
    }
    // Rule 7: the library notices a dead connection only after 2/3 of the
    // timeout; the server may elect another node after the whole timeout.
    // Stepping down at 1/2 keeps the stop ahead of the next leader's start.
    if (leadership_ == Leadership::kLeading && silent > SessionTimeout() / 2) {
      spdlog::warn(
          "self-fencing: no answer from ZooKeeper for {} (more than half the {} session "
          "timeout); stepping down",
          FormatDuration(Millis(silent)), FormatDuration(SessionTimeout()));
      StepDown(Reason::kDisconnected);
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
    zk_.Sync(options_.election_path, Confirmed("ping", [](ZkCode) {}));
  }
  if (now >= next_recheck_) {
    next_recheck_ = now + options_.recheck_interval;
    watched_.clear();  // rule 9 re-arms every watch too, in case one was lost
    Refresh();
    // A priority changed by a reload does not change the listing: read again.
    ReadRanksSentBefore(Clock::TimePoint::max());
  }
  if (preempt_at_ && now >= *preempt_at_) ConsiderPreemption();
  if (early_yield_at_ && now >= *early_yield_at_) ConsiderYield();
  if (now >= next_retry_) {
    next_retry_ = Clock::TimePoint::max();
    Refresh();
  }
  if (now >= next_join_) next_join_ = Clock::TimePoint::max();  // Advance() joins
  if (hold_until_ && now >= *hold_until_) {
    spdlog::info("rejoining the election after resigning");
    SetIntent(CampaignIntent());
    UpdateRole(Reason::kHoldOver);
  }
  UpdateRole(Reason::kDisconnected);  // the fence may have closed with time alone
}

// Every deadline here is one OnWake() acts on. Those of the liveness clock
// count only while ahead: once passed, OnWake() has acted (stepped down, or
// given the session up), or has nothing to do (a shutdown waits for the
// library), and a deadline in the past would make the loop spin.
Clock::TimePoint Recipe::NextWakeup() const {
  if (close_at_) return *close_at_;  // leaving: OnWake() has nothing else to do
  Clock::TimePoint next =
      std::min({next_ping_, next_recheck_, next_retry_, next_reopen_, next_join_});
  if (hold_until_) next = std::min(next, *hold_until_);
  if (preempt_at_) next = std::min(next, *preempt_at_);
  if (early_yield_at_) next = std::min(next, *early_yield_at_);
  if (session_id_ != 0 && phase_ != SessionPhase::kClosed) {
    const Clock::TimePoint now = clock_.Now();
    const Clock::Duration tick{1};
    for (const Clock::TimePoint deadline :
         {last_heard_ + SessionTimeout() / 2 + tick, last_heard_ + SessionTimeout() + tick}) {
      if (deadline > now) next = std::min(next, deadline);
    }
  }
  return next;
}

void Recipe::RetryLater() { next_retry_ = std::min(next_retry_, clock_.Now() + kRetryDelay); }

// ---------------------------------------------------------------------------
// Candidacy

std::string Recipe::PathOf(const std::string& node) const {
  return options_.election_path + "/" + node;
}

void Recipe::ForgetOwnNode() {
  own_node_.reset();
  claim_.reset();
  StopRanking();
  publish_in_flight_ = false;  // its answer, if any, is of a node we no longer hold
  if (node_ == NodePhase::kRegistered || node_ == NodePhase::kDeleting) node_ = NodePhase::kNone;
}

void Recipe::Reconfigure(std::string address, std::map<std::string, std::string> meta,
                         int64_t priority, std::chrono::milliseconds recheck_interval) {
  Step step(this, "reconfigure", priority);
  options_.identity.address = std::move(address);
  options_.identity.meta = std::move(meta);
  options_.identity.priority = priority;
  if (recheck_interval != options_.recheck_interval && next_recheck_ != Clock::TimePoint::max()) {
    next_recheck_ = std::min(next_recheck_, clock_.Now() + recheck_interval);
  }
  options_.recheck_interval = recheck_interval;
  // Our own priority may have fallen below a candidate's.
  OnRanks();
  // Advance() (at the end of this step) publishes the identity.
}

void Recipe::SetPreemption(bool preempt, std::chrono::milliseconds delay) {
  Step step(this, "preemption", preempt);
  const bool was = options_.preempt;
  options_.preempt = preempt;
  options_.preempt_delay = delay;
  if (leadership_ != Leadership::kLeading) {
    ConsiderYield();  // as the next in line, a new settle
    return;
  }
  if (!preempt) {
    StopRanking();
  } else if (!was) {
    Refresh();  // lists under a children watch; RankPeers() reads them all
  } else {
    ConsiderPreemption();  // a new delay
  }
}

// Sent as a write (Confirmed): the set goes through the ensemble's leader
// like a create, so it is ordered with our other writes, and its watch
// event reaches every follower that holds a data watch on our node.
void Recipe::Publish() {
  if (node_ != NodePhase::kRegistered || phase_ != SessionPhase::kConnected || publish_in_flight_ ||
      clock_.Now() < publish_not_before_) {
    return;
  }
  std::string data = EncodeNodeData(options_.identity);
  if (data == published_) return;
  publish_in_flight_ = true;
  Note("publish");
  const std::string node = *own_node_;
  zk_.SetData(PathOf(node), data, Confirmed("published", [this, node, data](ZkCode code) {
                if (!publish_in_flight_ || own_node_ != node) return;
                publish_in_flight_ = false;
                if (code == ZkCode::kOk) {
                  published_ = data;
                  if (leadership_ == Leadership::kLeading && leader_ && leader_->node == node) {
                    leader_->identity = DecodeNodeData(data);  // what followers read
                  }
                } else if (code == ZkCode::kNoNode) {
                  // Deleted behind our back (a follower does not watch its own
                  // node): the listing finds it gone and rule 4 creates a new
                  // one, which carries the identity then current.
                  published_ = data;
                  Refresh();
                } else {
                  publish_not_before_ = clock_.Now() + kRetryDelay;
                  RetryLater();
                }
              }));
}

void Recipe::Join() {
  if (!WantsNode() || node_ != NodePhase::kNone || phase_ != SessionPhase::kConnected) return;
  // Not while a stop of ours runs (after an expiry, say): a node that cannot
  // lead before its stop hook ends is no candidate yet, and a preempting
  // leader would hand over to it (rule 13: registered and ready).
  if (leadership_ != Leadership::kNone) return;
  // After our delete the next write waits for the successor
  // (kYieldAfterDelete); OnWake() then joins, with no listing first (the
  // create's answer lists).
  if (deleted_at_ && clock_.Now() < *deleted_at_ + kYieldAfterDelete) {
    next_join_ = std::min(next_join_, *deleted_at_ + kYieldAfterDelete);
    return;
  }
  uuid_ = options_.new_uuid ? options_.new_uuid() : NewUuid();  // rule 1: fresh for every node
  node_ = NodePhase::kCreating;
  published_ = EncodeNodeData(options_.identity);
  zk_.Create(PathOf(CandidatePrefix(uuid_)), published_, ZkClient::CreateMode::kEphemeralSequential,
             Confirmed("created", [this](ZkCode code, const std::string& created) {
               OnCreated(code, created);
             }));
}

void Recipe::OnCreated(ZkCode code, const std::string& created_path) {
  if (node_ != NodePhase::kCreating) return;
  node_ = NodePhase::kNone;
  switch (code) {
    case ZkCode::kOk:
      own_node_ = Basename(created_path);
      node_ = NodePhase::kRegistered;
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
      node_ = NodePhase::kUncertain;
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
      node_ = NodePhase::kUncertain;  // the retry's listing decides
      RetryLater();
      return;
  }
}

void Recipe::OnUncertainNode(const std::string& node, ZkCode code, const NodeStat& stat) {
  if (node_ != NodePhase::kUncertain) return;
  if (code == ZkCode::kNoNode) {
    node_ = NodePhase::kNone;  // Advance() joins
    return;
  }
  if (code != ZkCode::kOk) {
    RetryLater();
    return;
  }
  if (stat.ephemeral_owner == session_id_) {
    own_node_ = node;
    node_ = NodePhase::kRegistered;
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
  zk_.Delete(PathOf(node), Confirmed("delete-foreign", [](ZkCode) {}));
  node_ = NodePhase::kNone;  // Advance() joins with a new uuid
}

void Recipe::EnsureParent() {
  if (node_ == NodePhase::kCreatingParent) return;
  node_ = NodePhase::kCreatingParent;
  CreateParentStep(1);
}

// Creates the election path one component at a time ("/a", "/a/b", ...),
// accepting components that exist, then joins.
void Recipe::CreateParentStep(size_t end) {
  const std::string& path = options_.election_path;
  end = path.find('/', end);
  const std::string prefix = path.substr(0, end);
  zk_.Create(prefix, "", ZkClient::CreateMode::kPersistent,
             Confirmed("parent", [this, prefix, end](ZkCode code, const std::string&) {
               if (node_ != NodePhase::kCreatingParent) return;
               if (code == ZkCode::kOk || code == ZkCode::kNodeExists) {
                 if (end == std::string::npos) {
                   node_ = NodePhase::kNone;  // Advance() joins
                 } else {
                   CreateParentStep(end + 1);
                 }
                 return;
               }
               node_ = NodePhase::kNone;
               if (code == ZkCode::kClosing || code == ZkCode::kSessionExpired) return;
               spdlog::error(
                   "cannot create {} of election.path: {}{}; retrying", prefix, ZkCodeName(code),
                   code == ZkCode::kNoNode ? " (does the chroot of zk.servers exist?)" : "");
               RetryLater();
             }));
}

void Recipe::DeleteOwnNode() {
  Expect(leadership_ == Leadership::kNone, "no delete while leading or stopping");
  const std::string node = *own_node_;
  node_ = NodePhase::kDeleting;
  claim_.reset();
  StopRanking();
  zk_.Delete(PathOf(node), Confirmed("deleted", [this, node](ZkCode code) {
               if (node_ != NodePhase::kDeleting || own_node_ != node) return;
               if (code == ZkCode::kOk || code == ZkCode::kNoNode) {
                 spdlog::info("deleted our node {}", node);
                 if (code == ZkCode::kOk) deleted_at_ = clock_.Now();
                 ForgetOwnNode();
                 return;
               }
               // Not confirmed: the node stays ours, and Advance() sends the
               // delete again after a reconnect or kRetryDelay.
               node_ = NodePhase::kRegistered;
               DeleteFailed(node, code);
             }));
}

void Recipe::DeleteStaleNode() {
  auto named = std::find_if(stale_.begin(), stale_.end(),
                            [](const StaleNode& stale) { return stale.name.has_value(); });
  if (named == stale_.end()) return;
  Expect(leadership_ == Leadership::kNone, "no delete while leading or stopping");
  const std::string node = *named->name;
  stale_delete_in_flight_ = true;
  spdlog::info("deleting {}, our node of a session given up", node);
  zk_.Delete(PathOf(node), Confirmed("deleted-stale", [this, node](ZkCode code) {
               if (!stale_delete_in_flight_) return;
               stale_delete_in_flight_ = false;
               if (code == ZkCode::kOk || code == ZkCode::kNoNode) {
                 if (code == ZkCode::kOk) deleted_at_ = clock_.Now();
                 std::erase_if(stale_, [&node](const StaleNode& s) { return s.name == node; });
               } else {
                 DeleteFailed(node, code);
               }
               if (WantsNode()) Refresh();  // a claim may have waited for it
             }));
}

void Recipe::MatchStaleNodes() {
  std::erase_if(stale_, [this](StaleNode& stale) {
    if (stale_delete_in_flight_ && stale.name) return false;  // its delete decides
    auto listed =
        std::find_if(candidates_.begin(), candidates_.end(),
                     [&stale](const std::string& name) { return IsCandidateOf(name, stale.uuid); });
    if (listed == candidates_.end()) return true;  // never created, or expired meanwhile
    stale.name = *listed;
    return false;
  });
}

void Recipe::DeleteFailed(const std::string& node, ZkCode code) {
  delete_not_before_ = clock_.Now() + kRetryDelay;
  RetryLater();
  if (!SessionWillSay(code)) {
    spdlog::warn("could not delete {}: {}; retrying in {}", node, ZkCodeName(code),
                 FormatDuration(kRetryDelay));
  }
}

// ---------------------------------------------------------------------------
// The view

void Recipe::Refresh(bool watch_children, bool leader_gone) {
  if (phase_ != SessionPhase::kConnected) return;
  // Rule 13: the leader with preemption and the next in line hear of every
  // join (and exit).
  watch_children = watch_children ||
                   (NextInLine() && WantsNode() && node_ == NodePhase::kRegistered) ||
                   (leadership_ == Leadership::kLeading && options_.preempt);
  const bool next_in_line = NextInLine();
  // The leader's node went and we were next in line: we are about to lead.
  const bool about_to_lead = leader_gone && next_in_line && WantsNode() &&
                             node_ == NodePhase::kRegistered && !stale_delete_in_flight_;
  const uint64_t seq = ++refresh_seq_;
  if (watch_children) watched_listing_out_ = seq;
  zk_.GetChildren(options_.election_path, watch_children,
                  Reply("children", [this, seq, watch_children](
                                        ZkCode code, const std::vector<std::string>& children) {
                    if (watched_listing_out_ == seq) watched_listing_out_.reset();
                    OnChildren(seq, watch_children, code, children);
                  }));
  // ZooKeeper answers a session's requests in order: this read, sent right
  // behind the listing, is answered right after it. The next in line (whose
  // watch on the leader fired) then claims one round trip after the deletion
  // instead of listing first and reading its node afterwards.
  if (about_to_lead) {
    ReadOwnNode(seq);
    claim_ = Claim{};
    claim_->seq = seq;
    // Rule 13's ranks: as the next in line we have them already, under data
    // watches (as fresh as this listing); any still missing are read with
    // it (a node that joined since is read once the listing shows it).
    RankPeers();
  }
}

bool Recipe::NextInLine() const {
  return own_node_ && leadership_ == Leadership::kNone && candidates_.size() >= 2 &&
         candidates_[1] == *own_node_;
}

void Recipe::ReadOwnNode(uint64_t seq) {
  own_read_seq_ = seq;
  zk_.GetData(PathOf(*own_node_), true,
              Reply("own-data", [this, seq](ZkCode c, const std::string&, const NodeStat& stat) {
                OnOwnData(seq, c, stat);
              }));
}

void Recipe::OnChildren(uint64_t seq, bool watched, ZkCode code,
                        const std::vector<std::string>& children) {
  if (seq != refresh_seq_) return;  // a newer listing is on its way
  if (code == ZkCode::kNoNode) {
    // Rule 9: the parent vanished (and our node with it): recreate, rejoin.
    candidates_.clear();
    candidates_known_ = true;
    leader_.reset();
    MatchStaleNodes();  // no parent, no node of an earlier session either
    if (node_ == NodePhase::kUncertain) node_ = NodePhase::kNone;  // no parent, no node
    if (own_node_) {
      spdlog::warn("election path {} disappeared with our node{}", options_.election_path,
                   WantsNode() ? "; recreating it" : "");
      if (leadership_ == Leadership::kLeading) StepDown(Reason::kDeleted);
      ForgetOwnNode();
    }
    if (!WantsNode()) {
      // An observer does not write: it waits for a candidate to create the path.
      zk_.Exists(options_.election_path, /*watch=*/true,
                 Reply("path-exists", [this](ZkCode c, const NodeStat&) {
                   if (c == ZkCode::kOk) Refresh();
                 }));
    }
    UpdateRole(Reason::kDeleted);
    return;  // a candidate's create answers NoNode and creates the path
  }
  if (code != ZkCode::kOk) {
    if (!SessionWillSay(code)) RetryLater();
    return;
  }
  candidates_ = SortCandidates(children);
  candidates_known_ = true;
  listed_seq_ = seq;

  if (node_ == NodePhase::kUncertain) {
    auto ours =
        std::find_if(candidates_.begin(), candidates_.end(),
                     [this](const std::string& name) { return IsCandidateOf(name, uuid_); });
    if (ours == candidates_.end()) {
      spdlog::info("the lost create did not happen; creating our node");
      node_ = NodePhase::kNone;  // Advance() joins
    } else {
      const std::string node = *ours;
      zk_.Exists(PathOf(node), /*watch=*/false,
                 Reply("uncertain-exists", [this, node](ZkCode c, const NodeStat& stat) {
                   OnUncertainNode(node, c, stat);
                 }));
    }
  }
  MatchStaleNodes();

  if (node_ == NodePhase::kRegistered &&
      std::find(candidates_.begin(), candidates_.end(), *own_node_) == candidates_.end()) {
    // Rule 4: our node is missing: someone deleted it. Create it again.
    spdlog::warn("our node {} is gone (deleted by another client?)", *own_node_);
    if (leadership_ == Leadership::kLeading) StepDown(Reason::kDeleted);
    ForgetOwnNode();  // Advance() joins again
  }

  if (candidates_.empty()) {
    leader_.reset();
    if (!own_node_ && !WantsNode() && !watched) Refresh(/*watch_children=*/true);
    UpdateRole(Reason::kJoined);
    return;
  }
  const std::string first = candidates_.front();
  if (own_node_ && first == *own_node_) {
    // We may lead: confirm the node is ours (rule 4) and watch it (rule 5),
    // unless that read already went out with the listing; and before a
    // claim, look for a candidate of higher priority (rule 13).
    if (own_read_seq_ != seq) ReadOwnNode(seq);
    if (leadership_ == Leadership::kNone && node_ == NodePhase::kRegistered && WantsNode() &&
        (!claim_ || claim_->seq != seq)) {
      claim_ = Claim{};
      claim_->seq = seq;
    }
  } else {
    claim_.reset();  // (reads sent ahead of a listing that found us not first)
    if (leadership_ == Leadership::kLeading) StepDown(Reason::kDeleted);
    // Track the leader for /leader (its czxid is the epoch)...
    if (!leader_ || leader_->node != first || !watched_.contains(first)) ReadLeader(seq, first);
    // ...and watch only our predecessor (rule 5: no herd).
    auto own = own_node_ ? std::find(candidates_.begin(), candidates_.end(), *own_node_)
                         : candidates_.end();
    if (own != candidates_.end() && own != candidates_.begin()) {
      const std::string predecessor = *(own - 1);
      if (predecessor != first && !watched_.contains(predecessor)) WatchPredecessor(predecessor);
    }
    if (NextInLine() && WantsNode() && node_ == NodePhase::kRegistered && !watched) {
      Refresh(/*watch_children=*/true);  // the next in line hears of every join
      UpdateRole(Reason::kJoined);
      return;
    }
  }
  if (KeepsRanks()) {
    RankPeers();
    OnRanks();
  } else {
    StopRanking();
  }
  UpdateRole(Reason::kJoined);
}

void Recipe::WatchPredecessor(const std::string& node) {
  const uint64_t seq = refresh_seq_;
  zk_.GetData(
      PathOf(node), true,
      Reply("predecessor", [this, seq, node](ZkCode c, const std::string&, const NodeStat&) {
        if (c == ZkCode::kOk) {
          watched_.insert(node);
        } else if (c == ZkCode::kNoNode) {
          Refresh();
        } else {
          OnWatchedReadFailed(seq, node, c, /*as_leader=*/false);
        }
      }));
}

// Rule 5 wants a data watch, but a read that fails sets none: the node's
// exit would go unnoticed until the periodic re-check. A node we may not read
// (another client's, with an ACL) is watched by exists, which needs no
// permission and carries the stat (its czxid is the epoch); other failures
// are retried.
void Recipe::OnWatchedReadFailed(uint64_t seq, const std::string& node, ZkCode code,
                                 bool as_leader) {
  if (SessionWillSay(code) || seq != refresh_seq_) return;
  if (code != ZkCode::kNoAuth) {
    spdlog::warn("cannot read {}: {}; retrying", node, ZkCodeName(code));
    RetryLater();
    return;
  }
  zk_.Exists(PathOf(node), /*watch=*/true,
             Reply("exists-watch", [this, seq, node, as_leader](ZkCode c, const NodeStat& stat) {
               if (c == ZkCode::kOk) {
                 watched_.insert(node);
                 if (as_leader && seq == refresh_seq_) {
                   SetLeader(node, DecodeNodeData(""), stat.czxid);
                   UpdateRole(Reason::kJoined);
                 }
               } else if (c == ZkCode::kNoNode) {
                 Refresh();
               } else if (!SessionWillSay(c)) {
                 RetryLater();
               }
             }));
}

void Recipe::OnOwnData(uint64_t seq, ZkCode code, const NodeStat& stat) {
  // Only with the listing of the same refresh: a read sent with a listing
  // that failed decides nothing.
  if (seq != refresh_seq_ || seq != listed_seq_ || node_ != NodePhase::kRegistered) return;
  if (code == ZkCode::kNoNode) {
    Refresh();
    return;
  }
  if (code != ZkCode::kOk) {
    if (!SessionWillSay(code)) RetryLater();
    return;
  }
  if (stat.ephemeral_owner != session_id_) {
    spdlog::error("our node {} belongs to session {}, not ours ({}); creating a new one",
                  own_node_.value_or("?"), Hex(stat.ephemeral_owner), Hex(session_id_));
    if (leadership_ == Leadership::kLeading) StepDown(Reason::kDeleted);
    ForgetOwnNode();  // Advance() joins again
    return;
  }
  // A read sent with the listing may find that we are not first after all.
  if (candidates_.empty() || candidates_.front() != own_node_) return;
  if (!WantsNode() || phase_ != SessionPhase::kConnected || Fenced()) return;
  switch (leadership_) {
    case Leadership::kLeading:
      SetLeader(*own_node_, options_.identity, stat.czxid);
      break;
    case Leadership::kNone:
      // A delete of ours is in flight (a node of a session given up): no
      // delete while we lead, so the claim waits for its answer, which lists
      // again.
      if (stale_delete_in_flight_) break;
      if (claim_ && claim_->seq == seq) {
        claim_->own = stat;
        ClaimOrYield();
      }
      break;
    case Leadership::kStopping:
      break;  // OnStopped() lists again; we claim only once the stop ended
  }
}

// A node we may not read is another client's, and a persistent node is no
// live candidate whatever its data says: both count as priority 0, never
// yielding.
Recipe::RankedRead Recipe::RankRead(const std::string& node, ZkCode code, const std::string& data,
                                    const NodeStat& stat) {
  if (code != ZkCode::kOk) return {Rank{}, node};
  return {stat.ephemeral_owner != 0 ? RankOf(data) : Rank{}, DecodeNodeData(data).id,
          stat.ctime_ms};
}

// Our read and every rank are in. The state may have moved on meanwhile: the
// claim stands only if we are still first, registered, wanting to lead and
// connected to a server that answers.
void Recipe::ClaimOrYield() {
  if (!claim_ || !claim_->own) return;
  for (const auto& [node, peer] : ranks_) {
    if (peer.pending > 0) return;
  }
  Claim claim = *std::exchange(claim_, std::nullopt);
  if (claim.seq != refresh_seq_ || claim.seq != listed_seq_ || node_ != NodePhase::kRegistered ||
      leadership_ != Leadership::kNone || !WantsNode() || phase_ != SessionPhase::kConnected ||
      Fenced() || stale_delete_in_flight_ || candidates_.empty() ||
      candidates_.front() != own_node_) {
    return;
  }
  for (const auto& [node, peer] : ranks_) {
    if (!peer.read_sent) {
      RetryLater();  // a read failed: the retry's listing reads it again
      return;
    }
  }
  // Whom our yield would elect: the candidates ahead of it yield in turn,
  // and a node that never yields (a Curator peer's) would lead and keep the
  // lead, so we yield only when that node outranks us.
  const std::optional<std::string> successor = Successor(ranks_);
  if (successor && ranks_.at(*successor).rank.priority > options_.identity.priority) {
    YieldPlace(*successor, "");
    return;
  }
  BecomeLeader(*claim.own);
  if (options_.preempt) {
    Refresh();  // the children watch; the listing ranks whoever joined since
  } else {
    StopRanking();
  }
}

void Recipe::ConsiderYield() {
  early_yield_at_.reset();
  if (!NextInLine() || claim_ || node_ != NodePhase::kRegistered || !WantsNode() ||
      phase_ != SessionPhase::kConnected || Fenced() || stale_delete_in_flight_) {
    return;
  }
  for (const auto& [node, peer] : ranks_) {
    if (peer.pending > 0) return;
  }
  const std::optional<std::string> successor = Successor(ranks_);
  if (!successor) return;
  const PeerRank& to = ranks_.at(*successor);
  if (to.rank.priority <= options_.identity.priority) return;
  if (to.born) {
    // A node that just joined may be flapping: wait for it to settle (by the
    // settle of now: a reload may have changed it).
    const milliseconds settle = EarlySettle();
    const Clock::TimePoint due = std::clamp(*to.born + settle, to.answered, to.answered + settle);
    if (clock_.Now() < due) {
      early_yield_at_ = due;
      return;
    }
  }
  YieldPlace(*successor, " (next in line)");
}

milliseconds Recipe::EarlySettle() const {
  if (!options_.preempt) return kEarlySettleWithoutPreemption;
  return std::min<milliseconds>(options_.preempt_delay / 2, kEarlySettle);
}

// Rule 13: leadership moves only by the ordinary rules. We never claimed, so
// no stop runs; the delete hands our place to the node after us, and
// Advance() creates our node again at the back.
void Recipe::YieldPlace(const std::string& to_node, const char* when) {
  const PeerRank to = ranks_.at(to_node);
  LogEvent(spdlog::level::info,
           "priority: " + to.id + " (priority " + std::to_string(to.rank.priority) +
               ") outranks us (priority " + std::to_string(options_.identity.priority) +
               "); yielding our place " + *own_node_ + when + " and rejoining at the back",
           {{"event", std::string("priority_yield")},
            {"to", to.id},
            {"to_priority", to.rank.priority},
            {"priority", options_.identity.priority},
            {"node", *own_node_}});
  Note("yield", to.rank.priority, options_.identity.priority);
  DeleteOwnNode();
}

// ---------------------------------------------------------------------------
// Preemption (rule 13, election.preempt): the leader's side

bool Recipe::KeepsRanks() const {
  if (phase_ != SessionPhase::kConnected || node_ != NodePhase::kRegistered || !WantsNode()) {
    return false;
  }
  switch (leadership_) {
    case Leadership::kLeading:
      return options_.preempt;
    case Leadership::kStopping:
      return false;
    case Leadership::kNone:
      return (!candidates_.empty() && candidates_.front() == *own_node_) || NextInLine();
  }
  return false;
}

void Recipe::RankPeers() {
  const Clock::TimePoint now = clock_.Now();
  const auto own = std::find(candidates_.begin(), candidates_.end(), *own_node_);
  const auto after = own == candidates_.end() ? own : own + 1;
  std::erase_if(ranks_, [&](const auto& entry) {
    return std::find(after, candidates_.end(), entry.first) == candidates_.end();
  });
  for (auto node = after; node != candidates_.end(); ++node) {
    PeerRank unread;
    unread.seen = now;
    unread.seen_wall = clock_.WallNow();
    auto [it, added] = ranks_.try_emplace(*node, std::move(unread));
    // New, or a read that failed (an answer would have ranked it).
    if (added || (!it->second.read_sent && it->second.pending == 0)) ReadRank(*node);
  }
}

// In line order, not by name: names carry random uuids, and the order of
// requests must not depend on them, or the simulator does not replay.
void Recipe::ReadRanksSentBefore(Clock::TimePoint before) {
  for (const std::string& node : candidates_) {
    auto rank = ranks_.find(node);
    if (rank == ranks_.end() || rank->second.pending != 0) continue;
    if (!rank->second.read_sent || *rank->second.read_sent < before) ReadRank(node);
  }
}

void Recipe::ReadRank(const std::string& node) {
  ++ranks_.at(node).pending;
  zk_.GetData(PathOf(node), /*watch=*/true,
              Reply("rank-data", [this, generation = rank_generation_, node, sent = clock_.Now()](
                                     ZkCode c, const std::string& data, const NodeStat& stat) {
                OnRankData(generation, node, sent, c, RankRead(node, c, data, stat));
              }));
}

void Recipe::OnRankData(uint64_t generation, const std::string& node, Clock::TimePoint sent,
                        ZkCode code, RankedRead read) {
  if (generation != rank_generation_) return;
  auto it = ranks_.find(node);
  if (it == ranks_.end()) return;
  PeerRank& peer = it->second;
  --peer.pending;
  if (code == ZkCode::kNoNode) {
    ranks_.erase(it);  // gone; the children watch lists again
  } else if (code == ZkCode::kOk || code == ZkCode::kNoAuth) {
    // Gone (NoNode) is no candidate; unreadable (NoAuth) is another client's
    // node, which counts as priority 0.
    if (!peer.read_sent || sent >= *peer.read_sent) {
      peer.rank = read.rank;
      peer.id = std::move(read.id);
      peer.read_sent = sent;
    }
    if (!peer.born) {
      // Its age by its creation time, which the ensemble's leader stamped
      // by its own clock: off by the clocks' difference, a node looks
      // older (yield sooner) or younger (wait at most the whole settle).
      // Counted from this answer, not from when it was first listed: a late
      // answer must not count its delay twice.
      const int64_t age =
          std::chrono::duration_cast<milliseconds>(clock_.WallNow().time_since_epoch()).count() -
          read.ctime_ms;
      peer.answered = clock_.Now();
      peer.born = peer.answered - milliseconds(std::max<int64_t>(age, 0));
    }
  } else {
    if (!SessionWillSay(code)) RetryLater();  // the listing reads it again
    return;
  }
  OnRanks();
}

void Recipe::OnRanks() {
  if (leadership_ == Leadership::kLeading) {
    ConsiderPreemption();
  } else if (claim_) {
    ClaimOrYield();
  } else {
    ConsiderYield();
  }
}

std::optional<std::string> Recipe::Successor(const std::map<std::string, PeerRank>& ranks) const {
  // The nodes after us yield in turn as long as a node further on, up to the
  // first that never yields (which would lead and keep the lead), outranks
  // them: the first node of the highest priority in that stretch leads.
  const std::string* best = nullptr;
  int64_t best_priority = -1;
  for (const std::string& node : candidates_) {
    auto it = ranks.find(node);
    if (node == own_node_ || it == ranks.end()) continue;  // (not listed: read NoNode)
    if (!it->second.read_sent) return std::nullopt;
    if (it->second.rank.priority > best_priority) {
      best = &node;
      best_priority = it->second.rank.priority;
    }
    if (!it->second.rank.yields) break;
  }
  for (const auto& [node, peer] : ranks) {
    if (!peer.read_sent) return std::nullopt;  // (one not in the listing yet)
  }
  return best ? std::optional<std::string>(*best) : std::nullopt;
}

void Recipe::ConsiderPreemption() {
  preempt_at_.reset();
  if (leadership_ != Leadership::kLeading || !options_.preempt) return;
  const std::optional<std::string> successor = Successor(ranks_);
  if (!successor) return;
  const PeerRank peer = ranks_.at(*successor);
  if (peer.rank.priority <= options_.identity.priority) return;
  const Clock::TimePoint now = clock_.Now();
  const Clock::TimePoint due = peer.seen + PreemptDelay();
  if (now < due) {
    preempt_at_ = due;
    return;
  }
  // The delay is over. Decide on reads sent since: a node gone, or a
  // priority lowered by a reload, meanwhile counts.
  const bool fresh = std::all_of(ranks_.begin(), ranks_.end(), [due](const auto& entry) {
    return entry.second.read_sent && *entry.second.read_sent >= due;
  });
  ReadRanksSentBefore(due);
  if (!fresh) return;
  LogEvent(spdlog::level::info,
           "preemption: " + peer.id + " (priority " + std::to_string(peer.rank.priority) +
               ", node " + *successor + ", registered for at least " +
               FormatDuration(PreemptDelay()) + ") outranks us (priority " +
               std::to_string(options_.identity.priority) + "); handing over",
           {{"event", std::string("preempt")},
            {"to", peer.id},
            {"to_node", *successor},
            {"to_priority", peer.rank.priority},
            {"priority", options_.identity.priority}});
  Note("preempt", peer.rank.priority, options_.identity.priority);
  preempted_at_ = now;
  Resign(
      milliseconds(0), [](ElectionControl::ResignOutcome) {}, Reason::kPreempted);
}

milliseconds Recipe::PreemptDelay() const {
  if (preempt_bounces_ == 0) return options_.preempt_delay;
  const milliseconds base = std::max(options_.preempt_delay, milliseconds(1000));
  return std::min<milliseconds>(base * (int64_t{1} << preempt_bounces_), kMaxPreemptDelay);
}

void Recipe::StopRanking() {
  if (!ranks_.empty()) ++rank_generation_;
  ranks_.clear();
  preempt_at_.reset();
  early_yield_at_.reset();
}

void Recipe::ReadLeader(uint64_t seq, const std::string& node) {
  zk_.GetData(PathOf(node), true,
              Reply("leader-data",
                    [this, seq, node](ZkCode c, const std::string& data, const NodeStat& st) {
                      OnLeaderData(seq, node, c, data, st);
                    }));
}

void Recipe::OnLeaderData(uint64_t seq, const std::string& node, ZkCode code,
                          const std::string& data, const NodeStat& stat) {
  if (code == ZkCode::kOk) watched_.insert(node);  // armed, even if the answer comes too late
  if (seq != refresh_seq_) return;
  if (code == ZkCode::kNoNode) {
    // The leader we expected is gone too: third in line, we may be next now.
    Refresh(/*watch_children=*/candidates_.size() >= 3 && candidates_[2] == own_node_ &&
            WantsNode() && leadership_ == Leadership::kNone);
    return;
  }
  if (code != ZkCode::kOk) {
    OnWatchedReadFailed(seq, node, code, /*as_leader=*/true);
    return;
  }
  SetLeader(node, DecodeNodeData(data), stat.czxid);
  UpdateRole(Reason::kJoined);
}

void Recipe::OnNodeEvent(NodeEventType type, const std::string& path) {
  Step step(this, "node-event", static_cast<int64_t>(type));
  if (path != options_.election_path && !path.starts_with(options_.election_path + "/")) return;
  const std::string node = Basename(path);
  watched_.erase(node);  // a watch fires once
  // Our own delete on the way out (rule 12) fired the watch on our node, and
  // after it the session only waits to be closed: a session about to close
  // has nothing to learn from a listing, which would only reach the server
  // along with the successor's.
  if (close_at_ || phase_ == SessionPhase::kClosed ||
      (intent_ == Intent::kShutdown && type == NodeEventType::kDeleted &&
       IsCandidateOf(node, uuid_))) {
    return;
  }
  if (path != options_.election_path && !Follows(node)) {
    // A rank's data watch (rule 13): read it again, or forget a node gone
    // (the children watch lists again). Any other is a watch set at an
    // earlier place in line, telling nothing now.
    auto rank = ranks_.find(node);
    if (rank == ranks_.end()) return;
    if (type == NodeEventType::kDeleted) {
      ranks_.erase(rank);
      OnRanks();
    } else if (type == NodeEventType::kDataChanged) {
      // Unknown until read again: the watch fired, so a rank read before
      // stays unknown (and is read at the next listing) if this read fails.
      // (A read in flight is answered after the change: its event came first.)
      rank->second.read_sent.reset();
      if (rank->second.pending == 0) ReadRank(node);
    }
    return;
  }
  if (type == NodeEventType::kDeleted && leadership_ == Leadership::kLeading && own_node_ &&
      node == *own_node_) {
    // Rule 5: the leader watches its own node; a manual delete demotes it.
    spdlog::warn("our node {} was deleted by another client", *own_node_);
    StepDown(Reason::kDeleted);
  }
  if (type == NodeEventType::kChildrenChanged && (watched_listing_out_ || !WantsJoins())) return;
  if (type == NodeEventType::kDeleted && FollowLeaderExit(node)) return;
  // The next in line left (a yield, rule 13): we are next in line now, which
  // hears of every join.
  const bool moves_up = type == NodeEventType::kDeleted && candidates_.size() >= 3 &&
                        candidates_[1] == node && candidates_[2] == own_node_ && WantsNode() &&
                        leadership_ == Leadership::kNone;
  Refresh(/*watch_children=*/moves_up, /*leader_gone=*/type == NodeEventType::kDeleted &&
                                           !candidates_.empty() && candidates_.front() == node);
}

bool Recipe::WantsJoins() const {
  if (leadership_ == Leadership::kLeading) return options_.preempt;
  return (NextInLine() && node_ == NodePhase::kRegistered) || !candidates_known_ ||
         candidates_.empty();
}

bool Recipe::Follows(const std::string& node) const {
  if (!candidates_known_ || candidates_.empty()) return true;  // no view yet to tell
  if (node == candidates_.front() || node == own_node_) return true;
  if (leader_ && node == leader_->node) return true;
  if (!own_node_) return false;
  const auto own = std::find(candidates_.begin(), candidates_.end(), *own_node_);
  return own == candidates_.end() || (own != candidates_.begin() && *(own - 1) == node);
}

// Every follower watches the leader's node (for /leader), so its deletion
// reaches them all. Only the next in line must list the children (rule 5:
// it may lead). Behind it, no node below the second of the last listing can
// exist (sequence numbers only grow; a node missing from that listing was
// already gone), so the second is the new leader: one read of it, instead of
// a herd of listings. If it went too, the listing happens after all. The
// node third in line becomes the next in line, which ranks (rule 13).
bool Recipe::FollowLeaderExit(const std::string& node) {
  if (leadership_ != Leadership::kNone || NextInLine() || phase_ != SessionPhase::kConnected ||
      candidates_.size() < 2 || candidates_.front() != node || node == own_node_) {
    return false;
  }
  candidates_.erase(candidates_.begin());
  if (NextInLine() && WantsNode() && node_ == NodePhase::kRegistered) {
    // We are next in line now: list under a children watch and rank the
    // nodes after us (rule 13), instead of the node about to lead doing it
    // after the next exit, when every follower would see its yield.
    Refresh();
    return true;
  }
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
  if (leadership_ != Leadership::kLeading) AnnounceLeader();  // a new leader runs its start first
}

void Recipe::AnnounceLeader() {
  const bool changed = leader_ && (!announced_leader_ || announced_leader_->node != leader_->node ||
                                   announced_leader_->epoch != leader_->epoch);
  if (!changed) return;
  std::optional<LeaderView> previous = std::exchange(announced_leader_, leader_);
  listener_.OnLeaderChanged(previous, *leader_);
}

void Recipe::BecomeLeader(const NodeStat& own_stat) {
  leadership_ = Leadership::kLeading;
  ++term_;
  Note("leading", own_stat.czxid, static_cast<int64_t>(term_));
  SetLeader(*own_node_, options_.identity, own_stat.czxid);
  listener_.OnLease(*LeaseExpiry());
  // The start hook first: the role change's log line can wait.
  listener_.OnElected(*leader_);
  UpdateRole(Reason::kElected);
  AnnounceLeader();
  // A lead back soon after our preemption: it bounced (backoff); any other
  // leadership starts over.
  const bool bounced = preempted_at_ && clock_.Now() - *preempted_at_ < kPreemptBounceWindow;
  preempt_bounces_ = bounced ? std::min(preempt_bounces_ + 1, 12) : 0;
  preempted_at_.reset();
  if (bounced) {
    spdlog::warn(
        "preemption: the lead came back to us soon after we handed it over (did the preferred "
        "node fail to start?); the next preemption waits {}",
        FormatDuration(PreemptDelay()));
  }
}

void Recipe::StepDown(Reason reason) {
  Expect(leadership_ == Leadership::kLeading, "StepDown() only while leading");
  if (leadership_ != Leadership::kLeading) return;
  leadership_ = Leadership::kStopping;
  StopRanking();
  Note("stopping", static_cast<int64_t>(reason), static_cast<int64_t>(term_));
  leader_.reset();  // we no longer know who leads until the next listing
  // The stop hook first: a handoff waits for it, not for the log line.
  listener_.OnDemoted(reason, [this, term = term_] { OnStopped(term); });
  UpdateRole(reason);
}

void Recipe::OnStopped(uint64_t term) {
  Step step(this, "stopped", static_cast<int64_t>(term));
  if (leadership_ != Leadership::kStopping || term != term_) return;
  leadership_ = Leadership::kNone;
  if (AssumeExpired()) return;  // (rule 8, waited for the stop)
  // While the stop ran we claimed nothing: look again (Advance() deletes our
  // node first if we are leaving).
  if (WantsNode()) Refresh();
}

// ---------------------------------------------------------------------------
// Leaving (rule 12): stop, then delete, then rejoin or close. Advance() does
// the steps; these calls only set the intent.

void Recipe::Resign(milliseconds hold, std::function<void(ElectionControl::ResignOutcome)> done,
                    Reason reason) {
  Step step(this, "resign", hold.count());
  if (intent_ == Intent::kShutdown) {
    done(ElectionControl::ResignOutcome::kShuttingDown);
    return;
  }
  if (leadership_ != Leadership::kLeading) {
    done(ElectionControl::ResignOutcome::kNotLeader);
    return;
  }
  spdlog::info("resigning ({}); rejoining after {}", ReasonName(reason), FormatDuration(hold));
  resign_waiters_.push_back(std::move(done));
  resign_hold_ = hold;
  leave_reason_ = reason;
  SetIntent(Intent::kResign);
  StepDown(reason);
}

void Recipe::SetHealth(bool healthy, std::string detail) {
  Step step(this, "health", healthy);
  const bool was_wanted = WantsNode();
  health_.enabled = true;
  health_.healthy = healthy;
  health_.detail = std::move(detail);
  // Health moves between campaigning and staying out; a resign, a hold or a
  // shutdown under way goes on (the hold's end looks at health again).
  if (intent_ == Intent::kCampaign || intent_ == Intent::kUnhealthy) {
    SetIntent(CampaignIntent());
    if (!was_wanted && WantsNode()) spdlog::info("healthy again; joining the election");
    if (was_wanted && !WantsNode() && (own_node_ || leadership_ == Leadership::kLeading)) {
      spdlog::warn("unhealthy ({}); withdrawing from the election", health_.detail);
    }
  }
  UpdateRole(healthy ? Reason::kJoined : Reason::kUnhealthy);
}

void Recipe::SetMaintenance(bool on, std::chrono::system_clock::time_point since,
                            std::function<void(ElectionControl::ResignOutcome)> done) {
  Step step(this, "maintenance", on);
  if (intent_ == Intent::kShutdown) {
    done(ElectionControl::ResignOutcome::kShuttingDown);
    return;
  }
  if (!options_.campaign) {
    done(ElectionControl::ResignOutcome::kObserver);
    return;
  }
  if (on) {
    if (intent_ != Intent::kMaintenance) {
      // (A resign under way ends with this delete; a hold ends here.) The
      // stop hook, if we lead, goes out in Advance(), before the delete.
      spdlog::info("maintenance: withdrawing from election {}{}", options_.election_path,
                   leadership_ == Leadership::kLeading ? " (handing over first)" : "");
      SetIntent(Intent::kMaintenance);
      maintenance_since_ = since;
      UpdateRole(Reason::kMaintenance);
    }
    withdraw_waiters_.push_back(std::move(done));  // FinishLeaving() answers
    return;
  }
  if (intent_ == Intent::kMaintenance) {
    spdlog::info("maintenance over: rejoining election {} at the back", options_.election_path);
    // A withdraw (or a resign) still under way never got its node deleted:
    // its "done" would be a lie. (The stop under way runs to its end.)
    for (auto& waiter : std::exchange(withdraw_waiters_, {})) {
      waiter(ElectionControl::ResignOutcome::kCancelled);
    }
    for (auto& waiter : std::exchange(resign_waiters_, {})) {
      waiter(ElectionControl::ResignOutcome::kCancelled);
    }
    SetIntent(CampaignIntent());
    UpdateRole(Reason::kJoined);
  }
  join_waiters_.push_back(std::move(done));  // AnswerJoinWaiters() answers
}

void Recipe::AnswerJoinWaiters() {
  if (join_waiters_.empty()) return;
  if (intent_ == Intent::kCampaign && node_ != NodePhase::kRegistered) return;
  const auto outcome = intent_ == Intent::kShutdown ? ElectionControl::ResignOutcome::kShuttingDown
                                                    : ElectionControl::ResignOutcome::kDone;
  for (auto& waiter : std::exchange(join_waiters_, {})) waiter(outcome);
}

void Recipe::Shutdown(std::function<void()> done) {
  Step step(this, "shutdown");
  if (phase_ == SessionPhase::kClosed) {
    done();
    return;
  }
  shutdown_waiters_.push_back(std::move(done));
  if (intent_ == Intent::kShutdown) return;
  // (A resign under way finishes with the shutdown's delete.) The stop hook
  // is on its way before the line below is written.
  SetIntent(Intent::kShutdown);
  if (leadership_ == Leadership::kLeading) StepDown(Reason::kShutdown);
  spdlog::info("shutting down: leaving election {}", options_.election_path);
  UpdateRole(Reason::kShutdown);
}

void Recipe::FinishLeaving() {
  // Nothing of ours is left in the election: a resign or a withdraw is done.
  for (auto& waiter : std::exchange(resign_waiters_, {})) {
    waiter(ElectionControl::ResignOutcome::kDone);
  }
  for (auto& waiter : std::exchange(withdraw_waiters_, {})) {
    waiter(ElectionControl::ResignOutcome::kDone);
  }
  // After our delete, the next write waits for the successor's claim.
  const Clock::TimePoint now = clock_.Now();
  const Clock::TimePoint yield_end =
      deleted_at_ ? std::max(now, *deleted_at_ + kYieldAfterDelete) : now;
  switch (intent_) {
    case Intent::kShutdown:
      if (yield_end > now && phase_ == SessionPhase::kConnected) {
        // Rule 12's close, once the successor has had its moment. Until then
        // this session sends nothing: no timer runs (OnWake()) and no event
        // starts a listing (OnNodeEvent()).
        close_at_ = yield_end;
      } else {
        CloseSession();
      }
      return;
    case Intent::kResign: {
      SetIntent(Intent::kHold);
      hold_until_ = std::max(now + resign_hold_, yield_end);
      UpdateRole(Reason::kResigned);
      return;
    }
    case Intent::kObserve:
    case Intent::kCampaign:
    case Intent::kUnhealthy:
    case Intent::kHold:
    case Intent::kMaintenance:
      return;
  }
}

void Recipe::CloseSession() {
  close_at_.reset();
  zk_.Close();  // rule 12: delete, then close
  phase_ = SessionPhase::kClosed;
  session_id_ = 0;
  ForgetOwnNode();
  node_ = NodePhase::kNone;
  next_ping_ = next_recheck_ = next_retry_ = next_reopen_ = next_join_ = Clock::TimePoint::max();
  UpdateRole(Reason::kShutdown);
  for (auto& waiter : std::exchange(shutdown_waiters_, {})) waiter();
}

// ---------------------------------------------------------------------------
// Invariants and the trace

void Recipe::Note(const char* what, int64_t a, int64_t b) const {
  trace_[trace_count_++ % kTraceSize] = TraceEntry{clock_.Now(),
                                                   what,
                                                   a,
                                                   b,
                                                   static_cast<uint8_t>(phase_),
                                                   static_cast<uint8_t>(node_),
                                                   static_cast<uint8_t>(leadership_),
                                                   static_cast<uint8_t>(intent_)};
}

std::vector<std::string> Recipe::Trace() const {
  std::vector<std::string> lines;
  const uint64_t first = trace_count_ > kTraceSize ? trace_count_ - kTraceSize : 0;
  for (uint64_t i = first; i < trace_count_; ++i) {
    const TraceEntry& e = trace_[i % kTraceSize];
    lines.push_back(
        fmt::format("{:>12} ms  {:<16} {:>6} {:>6}  session={} node={} leadership={} intent={}",
                    duration_cast<milliseconds>(e.at.time_since_epoch()).count(), e.what, e.a, e.b,
                    e.session, e.node, e.leadership, e.intent));
  }
  return lines;
}

void Recipe::InvariantBroken(const char* what) const {
  spdlog::critical("election invariant broken: {} (node {}, session {}); recent events:", what,
                   own_node_.value_or("-"), Hex(session_id_));
  for (const std::string& line : Trace()) spdlog::critical("  {}", line);
  spdlog::default_logger()->flush();
  if (options_.on_broken_invariant) options_.on_broken_invariant(what);
  std::abort();
}

void Recipe::Expect(bool ok, const char* what) const {
  if (!ok && options_.check_invariants) InvariantBroken(what);
}

void Recipe::CheckInvariants() const {
  const auto check = [this](bool ok, const char* what) { Expect(ok, what); };
  const bool has_node = node_ == NodePhase::kRegistered || node_ == NodePhase::kDeleting;
  check(own_node_.has_value() == has_node, "own_node_ set exactly while registered or deleting");
  if (leadership_ == Leadership::kLeading) {
    check(node_ == NodePhase::kRegistered, "leading without a registered node");
    check(phase_ == SessionPhase::kConnected, "leading without a connected session");
    check(intent_ == Intent::kCampaign, "leading without the intent to campaign");
    check(leader_ && own_node_ && leader_->node == *own_node_, "leading, but leader_ is not us");
  }
  check(leadership_ == Leadership::kNone ||
            (node_ != NodePhase::kDeleting && !stale_delete_in_flight_),
        "a delete of ours while a stop runs (rule 12)");
  check(hold_until_.has_value() == (intent_ == Intent::kHold), "hold_until_ exactly in kHold");
  check(resign_waiters_.empty() || intent_ == Intent::kResign || intent_ == Intent::kMaintenance ||
            intent_ == Intent::kShutdown,
        "resign waiters outside a resign");
  check(maintenance_since_.has_value() == (intent_ == Intent::kMaintenance),
        "maintenance_since_ exactly in kMaintenance");
  const bool leaving =
      node_ != NodePhase::kNone || !stale_.empty() || leadership_ != Leadership::kNone;
  check(withdraw_waiters_.empty() ||
            ((intent_ == Intent::kMaintenance || intent_ == Intent::kShutdown) && leaving),
        "withdraw answered late, or outside maintenance");
  check(join_waiters_.empty() || (intent_ == Intent::kCampaign && node_ != NodePhase::kRegistered),
        "join answered late, or outside a campaign");
  check(!close_at_ || (intent_ == Intent::kShutdown && node_ == NodePhase::kNone &&
                       leadership_ == Leadership::kNone),
        "close scheduled before leaving");
  check(phase_ != SessionPhase::kClosed ||
            (intent_ == Intent::kShutdown && node_ == NodePhase::kNone &&
             leadership_ != Leadership::kLeading),
        "closed session still in the election");
  check(options_.campaign || intent_ == Intent::kObserve || intent_ == Intent::kShutdown,
        "an observer with a candidate's intent");
  check(options_.campaign || (node_ == NodePhase::kNone && leadership_ == Leadership::kNone),
        "an observer with a node or a leadership");
  check(!claim_ || (node_ == NodePhase::kRegistered && leadership_ == Leadership::kNone),
        "a claim under way while not registered, or while leading (rule 13)");
  check(!preempt_at_ || (leadership_ == Leadership::kLeading && options_.preempt),
        "a preemption due while not leading with preemption");
  check(ranks_.empty() || (node_ == NodePhase::kRegistered &&
                           (leadership_ == Leadership::kNone ||
                            (leadership_ == Leadership::kLeading && options_.preempt))),
        "ranking the candidates while not registered, stopping, or leading without preemption");
}

// ---------------------------------------------------------------------------
// Role and snapshot

Role Recipe::ComputeRole() const {
  if (leadership_ == Leadership::kLeading) return Role::kLeader;
  if (phase_ == SessionPhase::kClosed ||
      (intent_ != Intent::kCampaign && intent_ != Intent::kObserve)) {
    return Role::kWithdrawn;
  }
  if (!ever_connected_ && phase_ != SessionPhase::kConnected) return Role::kStarting;
  if (phase_ != SessionPhase::kConnected || Fenced()) return Role::kDisconnected;
  if (intent_ == Intent::kObserve) return Role::kObserver;
  // A follower that yields its place (rule 13), or whose node another client
  // deleted, stays a follower while it registers again.
  if (own_node_ || role_ == Role::kFollower) return Role::kFollower;
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
  s.priority = options_.identity.priority;
  s.preempt.enabled = options_.preempt;
  s.preempt.delay = options_.preempt_delay;
  s.preempt.effective_delay = PreemptDelay();
  if (preempt_at_) {
    if (const std::optional<std::string> successor = Successor(ranks_)) {
      const PeerRank& peer = ranks_.at(*successor);
      s.preempt.pending = Snapshot::Preemption::Pending{*successor, peer.id, peer.rank.priority,
                                                        peer.seen_wall + PreemptDelay()};
    }
  }
  switch (phase_) {
    case SessionPhase::kIdle:
    case SessionPhase::kConnecting:
      s.session.state = "connecting";
      break;
    case SessionPhase::kConnected:
      s.session.state = "connected";
      break;
    case SessionPhase::kClosed:
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
  const bool trusted = phase_ == SessionPhase::kConnected && !Fenced();
  if (trusted && leader_) s.leader = leader_;
  if (phase_ == SessionPhase::kClosed) {
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
  s.maintenance_since = maintenance_since_;
  s.ready = trusted && (!options_.campaign || registered || maintenance_since_) &&
            (!health_.enabled || health_.healthy == true);
  return s;
}

void Recipe::ReadNodeData(
    const std::vector<std::string>& nodes,
    const std::function<void(const std::string&, std::optional<std::string>)>& done) {
  for (const std::string& node : nodes) {
    if (phase_ != SessionPhase::kConnected) {
      done(node, std::nullopt);
      continue;
    }
    zk_.GetData(PathOf(node), false,
                [node, done](ZkCode code, const std::string& data, const NodeStat&) {
                  done(node, code == ZkCode::kOk ? std::optional<std::string>(data) : std::nullopt);
                });
  }
}

}  // namespace zkelect
