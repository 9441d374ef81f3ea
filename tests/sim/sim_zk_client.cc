#include "sim/sim_zk_client.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <utility>

#include "sim/ensemble.h"
#include "sim/event_queue.h"
#include "sim/short_name.h"
#include "sim/sim_random.h"
#include "sim/trace.h"
#include "zkelect/common/task_poster.h"

namespace zkelect::sim {
namespace {

std::string_view OpName(int op) {
  static constexpr std::string_view kNames[] = {"create",   "delete", "sync",
                                                "children", "get",    "exists"};
  return kNames[op];
}

}  // namespace

SimZkClient::SimZkClient(std::string name, int owner, Millis requested_timeout, Ensemble& ensemble,
                         EventQueue& queue, SimRandom& random, sim::Trace& trace, TaskPoster& loop)
    : name_(std::move(name)),
      owner_(owner),
      requested_(requested_timeout),
      ensemble_(ensemble),
      queue_(queue),
      random_(random),
      trace_(trace),
      loop_(loop),
      negotiated_(requested_timeout) {}

SimZkClient::~SimZkClient() {
  *alive_ = false;
  if (conn_) conn_->broken = true;
  for (const int64_t session : sessions_) ensemble_.Detach(session, this);
}

void SimZkClient::Note(std::string_view what) { trace_.Add(fmt::format("{} zk: {}", name_, what)); }

void SimZkClient::Later(Clock::Duration delay, std::function<void()> event) {
  queue_.After(delay, [this, alive = std::weak_ptr<bool>(alive_), generation = generation_,
                       event = std::move(event)]() mutable {
    if (alive.expired() || generation != generation_) return;
    if (paused_) {
      deferred_.push_back(std::move(event));
      return;
    }
    event();
  });
}

void SimZkClient::Post(std::function<void()> task) {
  loop_.Post([this, generation = generation_, task = std::move(task)] {
    if (generation == generation_) task();
  });
}

// ---------------------------------------------------------------------------
// Handles and connections

bool SimZkClient::Open() {
  Close();
  ++generation_;
  state_ = State::kConnecting;
  session_ = 0;
  Note("open (new handle)");
  Later(ensemble_.Latency(), [this] { Connect(); });
  return true;
}

void SimZkClient::Close() {
  if (state_ == State::kClosed) return;
  const bool sent =
      state_ == State::kConnected && conn_ && !conn_->silent && ensemble_.Serving(conn_->server);
  Note(
      fmt::format("close session {:x}{}", session_, sent ? "" : " (not sent: no live connection)"));
  if (sent) {
    // The close goes out behind every request already sent; the session
    // ends when it reaches the quorum. Nothing of this client is touched
    // then: it may be gone.
    std::shared_ptr<Connection> conn = conn_;
    conn->up_tail = std::max(queue_.clock().Now() + ensemble_.Latency(), conn->up_tail);
    queue_.At(conn->up_tail, [ensemble = &ensemble_, conn] {
      if (conn->broken || !ensemble->Serving(conn->server)) return;
      ensemble->model().CloseSession(conn->session);
      conn->broken = true;
    });
  } else if (conn_) {
    conn_->broken = true;
  }
  conn_.reset();
  for (const int64_t session : sessions_) ensemble_.Detach(session, this);
  ++generation_;
  state_ = State::kClosed;
  session_ = 0;
  session_id_ = 0;
  outstanding_.clear();
  unsent_.clear();
  watches_in_flight_.clear();
  missed_watches_.clear();
  deferred_.clear();
}

void SimZkClient::Connect() {
  if (state_ != State::kConnecting) return;
  auto conn = std::make_shared<Connection>();
  conn->server =
      static_cast<int>(random_.Below(static_cast<uint64_t>(ensemble_.options().servers)));
  if (partitioned_ || !ensemble_.Serving(conn->server)) {
    // No answer (or a server that cannot serve): the library gives up on
    // this one and tries the next.
    Later(random_.Between(std::chrono::milliseconds(20), std::chrono::milliseconds(300)),
          [this] { AttemptFailed(); });
    return;
  }
  conn_ = conn;
  // Whatever becomes of the handshake (a server that goes down, a dropped
  // connection), the library gives up on it after a while.
  Later(std::max<Millis>(negotiated_ / 3, Millis(100)), [this, conn] {
    if (state_ == State::kConnecting && conn_ == conn) AttemptFailed();
  });
  conn->up_tail = queue_.clock().Now() + ensemble_.Latency();
  queue_.At(conn->up_tail, [this, alive = std::weak_ptr<bool>(alive_), conn] {
    if (alive.expired() || conn->broken) return;
    if (!ensemble_.Serving(conn->server)) return;  // its drop breaks the connection
    ZkModel& model = ensemble_.model();
    const auto now = queue_.clock().Now();
    int64_t session = session_;
    if (session == 0) {
      session = model.OpenSession(requested_, now);
      // The server knows the connection from now on: if the session
      // expires before the client reads the answer, it closes it.
      ensemble_.Attach(session, this);
      sessions_.push_back(session);
      ensemble_.ScheduleExpiry();
    } else if (model.Alive(session)) {
      model.Touch(session, now);
    } else {
      session = -1;  // the server tells the client its session expired
    }
    const Millis timeout = session > 0 ? model.Timeout(session) : Millis(0);
    Receive(conn, [this, conn, session, timeout] { OnConnectReply(conn, session, timeout); });
  });
}

void SimZkClient::AttemptFailed() {
  if (state_ != State::kConnecting) return;
  if (conn_) conn_->broken = true;
  conn_.reset();
  // The library fails what waited for this attempt (cleanup_bufs).
  FailAll(ZkCode::kConnectionLoss);
  Later(random_.Between(std::chrono::milliseconds(10), std::chrono::milliseconds(200)),
        [this] { Connect(); });
}

void SimZkClient::OnConnectReply(const std::shared_ptr<Connection>& conn, int64_t session,
                                 Millis timeout) {
  if (state_ != State::kConnecting || conn != conn_) return;
  if (session < 0) {
    Note(fmt::format("session {:x} expired (told on reconnect)", session_));
    state_ = State::kDead;
    conn->broken = true;
    conn_.reset();
    ensemble_.Detach(session_, this);
    missed_watches_.clear();
    FailAll(ZkCode::kSessionExpired);
    Post([this] {
      if (sink_ != nullptr) sink_->OnSessionState(SessionState::kExpired);
    });
    return;
  }
  const bool fresh = session_ == 0;
  if (fresh) session_ = session;
  conn->session = session_;
  state_ = State::kConnected;
  last_recv_ = queue_.clock().Now();
  Note(fmt::format("connected to server {} ({} session {:x}, timeout {} ms)", conn->server,
                   fresh ? "new" : "same", session_, timeout.count()));
  // The library got the answer now; the loop may handle it later.
  Post([this, session = session_, timeout, received = queue_.clock().Now()] {
    session_id_ = session;
    negotiated_ = timeout;
    connected_at_ = received;
    if (sink_ != nullptr) sink_->OnSessionState(SessionState::kConnected);
  });
  for (WatchEvent& event : std::exchange(missed_watches_, {})) {
    Post([this, event = std::move(event)] {
      if (sink_ != nullptr) sink_->OnNodeEvent(event.first, event.second);
    });
  }
  for (const uint64_t xid : std::exchange(unsent_, {})) Send(xid);
  if (partitioned_) {
    conn->silent = true;
    ScheduleSilenceCheck();
  }
}

void SimZkClient::Break(const char* why) {
  const bool handshake = state_ == State::kConnecting && conn_ != nullptr;
  if (conn_) conn_->broken = true;
  conn_.reset();
  if (handshake) {
    Later(random_.Between(std::chrono::milliseconds(1), std::chrono::milliseconds(50)),
          [this] { AttemptFailed(); });
    return;
  }
  if (state_ != State::kConnected) return;
  state_ = State::kConnecting;
  if (paused_) {
    deferred_.push_back([this, why] { NoticeBreak(why); });  // when the library runs again
  } else {
    NoticeBreak(why);
  }
}

void SimZkClient::NoticeBreak(const char* why) {
  Note(fmt::format("connection lost ({})", why));
  // Watch events lost on the wire come again after the reconnect.
  for (auto& [id, event] : std::exchange(watches_in_flight_, {})) {
    missed_watches_.push_back(std::move(event));
  }
  // The library's order of the two is not the election's business: draw it.
  const bool event_first = random_.Below(2) == 0;
  auto report = [this] {
    Post([this] {
      if (sink_ != nullptr) sink_->OnSessionState(SessionState::kConnecting);
    });
  };
  if (event_first) report();
  FailAll(ZkCode::kConnectionLoss);
  if (!event_first) report();
  Later(random_.Between(std::chrono::milliseconds(0), std::chrono::milliseconds(100)),
        [this] { Connect(); });
}

void SimZkClient::ResetFrom(const std::shared_ptr<Connection>& conn, const char* why) {
  if (conn == conn_) {
    Break(why);
  } else {
    conn->broken = true;
  }
}

void SimZkClient::FailAll(ZkCode code) {
  for (auto& [xid, request] : std::exchange(outstanding_, {})) {
    Post([code, deliver = std::move(request.deliver)] { deliver(Reply::Failed(code)); });
  }
  unsent_.clear();
}

void SimZkClient::Reset() { Break("reset"); }

void SimZkClient::SetPartitioned(bool partitioned) {
  partitioned_ = partitioned;
  if (partitioned && state_ == State::kConnected && conn_) {
    conn_->silent = true;
    ScheduleSilenceCheck();
  }
}

// The library expects a packet (a ping's answer at least) every third of the
// timeout and gives up on the connection after two thirds without one.
void SimZkClient::ScheduleSilenceCheck() {
  const auto due = last_recv_ + negotiated_ * 2 / 3;
  Later(std::max(Clock::Duration(0), due - queue_.clock().Now()), [this, conn = conn_] {
    if (conn == conn_) Break("no packet for 2/3 of the timeout");
  });
}

void SimZkClient::SetPaused(bool paused) {
  const auto now = queue_.clock().Now();
  if (paused) {
    // The library's pings kept at least this much fresh.
    last_recv_ = std::max(last_recv_, now - negotiated_ / 3);
    paused_ = true;
    return;
  }
  paused_ = false;
  // First thing after a stop the library checks its receive timeout (before
  // it reads what arrived meanwhile).
  if (state_ == State::kConnected && now - last_recv_ > negotiated_ * 2 / 3) {
    Break("receive timeout after a pause");
  }
  for (auto& event : std::exchange(deferred_, {})) {
    if (!paused_) event();
  }
}

bool SimZkClient::CanReachQuorum() const {
  if (!ensemble_.up() || partitioned_) return false;
  return !(state_ == State::kConnected && conn_ && conn_->server == ensemble_.isolated());
}

// ---------------------------------------------------------------------------
// Requests

void SimZkClient::Submit(Request request) {
  if (state_ == State::kClosed || state_ == State::kDead) {
    // zoo_a* refuses at once (ZINVALIDSTATE / no handle); the adapter
    // delivers that later, like any completion.
    Post([deliver = std::move(request.deliver)] { deliver(Reply::Failed(ZkCode::kClosing)); });
    return;
  }
  const uint64_t xid = next_xid_++;
  outstanding_.emplace(xid, std::move(request));
  if (state_ == State::kConnecting) {
    unsent_.push_back(xid);
  } else {
    Send(xid);
  }
}

void SimZkClient::Send(uint64_t xid) {
  std::shared_ptr<Connection> conn = conn_;
  conn->up_tail = std::max(queue_.clock().Now() + ensemble_.Latency(), conn->up_tail);
  if (conn->silent) return;  // lost; the silence check breaks the connection
  const Request& request = outstanding_.at(xid);
  Request copy{request.op, request.path, request.data, request.flag, nullptr};
  queue_.At(conn->up_tail,
            [this, alive = std::weak_ptr<bool>(alive_), conn, xid, copy = std::move(copy)] {
              if (alive.expired() || conn->broken) return;
              Arrive(conn, copy, xid);
            });
}

void SimZkClient::Arrive(const std::shared_ptr<Connection>& conn, const Request& request,
                         uint64_t xid) {
  const uint32_t loss = ensemble_.loss_per_million();
  if (loss > 0 && random_.Chance(loss)) {
    Note(fmt::format("{} {} lost before the server applied it",
                     OpName(static_cast<int>(request.op)), ShortName(request.path)));
    ResetFrom(conn, "reset before the server applied a request");
    return;
  }
  const ZnodeTree* stale = ensemble_.StaleTree(conn->server);
  if (stale == nullptr) ensemble_.model().Touch(conn->session, queue_.clock().Now());
  Reply reply;
  if (!Apply(conn->session, request, stale, &reply)) return;  // hangs
  if (loss > 0 && random_.Chance(loss)) {
    Note(fmt::format("{} {} applied ({}), then its reply was lost",
                     OpName(static_cast<int>(request.op)), ShortName(request.path),
                     ZkCodeName(reply.code)));
    ResetFrom(conn, "reset after the server applied a request");
    return;
  }
  Receive(conn, [this, xid, reply = std::move(reply)] {
    auto it = outstanding_.find(xid);
    if (it == outstanding_.end()) return;
    std::function<void(const Reply&)> deliver = std::move(it->second.deliver);
    outstanding_.erase(it);
    Post([deliver = std::move(deliver), reply] { deliver(reply); });
  });
}

bool SimZkClient::Apply(int64_t session, const Request& request, const ZnodeTree* stale,
                        Reply* reply) {
  ZkModel& model = ensemble_.model();
  const bool write = request.op == Op::kCreate || request.op == Op::kDelete ||
                     request.op == Op::kSetData || request.op == Op::kSync;
  if (write && stale != nullptr) return false;
  switch (request.op) {
    case Op::kCreate:
      reply->code = model.Create(session, request.path, request.data, request.flag, request.flag,
                                 false, &reply->path);
      break;
    case Op::kDelete:
      reply->code = model.Delete(session, request.path);
      break;
    case Op::kSetData:
      reply->code = model.SetData(session, request.path, request.data);
      break;
    case Op::kSync:
      reply->code = model.Alive(session) ? ZkCode::kOk : ZkCode::kSessionExpired;
      break;
    case Op::kGetChildren:
      reply->code = model.GetChildren(session, request.path, request.flag, &reply->children, stale);
      break;
    case Op::kGetData:
      reply->code =
          model.GetData(session, request.path, request.flag, &reply->path, &reply->stat, stale);
      break;
    case Op::kExists:
      reply->code = model.Exists(session, request.path, request.flag, &reply->stat, stale);
      break;
  }
  return true;
}

void SimZkClient::Receive(const std::shared_ptr<Connection>& conn, std::function<void()> deliver) {
  conn->down_tail = std::max(queue_.clock().Now() + ensemble_.Latency(), conn->down_tail);
  if (conn->silent) return;
  queue_.At(conn->down_tail, [this, alive = std::weak_ptr<bool>(alive_), conn,
                              deliver = std::move(deliver)]() mutable {
    if (alive.expired() || conn->broken) return;
    auto run = [this, conn, deliver = std::move(deliver)] {
      if (conn->broken) return;
      last_recv_ = queue_.clock().Now();
      deliver();
    };
    if (paused_) {
      deferred_.push_back(std::move(run));
    } else {
      run();
    }
  });
}

void SimZkClient::OnWatch(NodeEventType type, const std::string& path) {
  if (state_ == State::kConnected && conn_ && !conn_->silent &&
      ensemble_.StaleTree(conn_->server) == nullptr) {
    const uint64_t id = next_watch_++;
    watches_in_flight_.emplace(id, WatchEvent{type, path});
    Receive(conn_, [this, id] {
      auto it = watches_in_flight_.find(id);
      if (it == watches_in_flight_.end()) return;
      WatchEvent event = std::move(it->second);
      watches_in_flight_.erase(it);
      Post([this, event = std::move(event)] {
        if (sink_ != nullptr) sink_->OnNodeEvent(event.first, event.second);
      });
    });
  } else if (state_ == State::kConnected || state_ == State::kConnecting) {
    missed_watches_.emplace_back(type, path);
  }
}

void SimZkClient::OnServerDropped(int server) {
  if (conn_ && (server < 0 || conn_->server == server)) Break("the server dropped the connection");
}

void SimZkClient::OnSessionExpired() {
  // A server that still holds our connection closes it; one cut off from
  // the quorum does not know.
  if (conn_ && !conn_->silent && ensemble_.Serving(conn_->server)) {
    Break("the server closed the connection of an expired session");
  }
}

// ---------------------------------------------------------------------------
// ZkClient requests

void SimZkClient::Create(const std::string& path, const std::string& data, CreateMode mode,
                         CreateCallback done) {
  const bool ephemeral = mode == CreateMode::kEphemeralSequential;
  Submit({Op::kCreate, path, data, ephemeral,
          [done = std::move(done)](const Reply& r) { done(r.code, r.path); }});
}

void SimZkClient::GetChildren(const std::string& path, bool watch, ChildrenCallback done) {
  Submit({Op::kGetChildren, path, "", watch,
          [done = std::move(done)](const Reply& r) { done(r.code, r.children); }});
}

void SimZkClient::GetData(const std::string& path, bool watch, DataCallback done) {
  Submit({Op::kGetData, path, "", watch,
          [done = std::move(done)](const Reply& r) { done(r.code, r.path, r.stat); }});
}

void SimZkClient::Exists(const std::string& path, bool watch, StatCallback done) {
  Submit({Op::kExists, path, "", watch,
          [done = std::move(done)](const Reply& r) { done(r.code, r.stat); }});
}

void SimZkClient::Sync(const std::string& path, DoneCallback done) {
  Submit({Op::kSync, path, "", false, [done = std::move(done)](const Reply& r) { done(r.code); }});
}

void SimZkClient::Delete(const std::string& path, DoneCallback done) {
  Submit(
      {Op::kDelete, path, "", false, [done = std::move(done)](const Reply& r) { done(r.code); }});
}

void SimZkClient::SetData(const std::string& path, const std::string& data, DoneCallback done) {
  Submit({Op::kSetData, path, data, false,
          [done = std::move(done)](const Reply& r) { done(r.code); }});
}

}  // namespace zkelect::sim
