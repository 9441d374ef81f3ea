#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zkelect/common/clock.h"
#include "zkelect/zk/zk_client.h"

namespace zkelect {
class TaskPoster;
}

namespace zkelect::sim {

class Ensemble;
class SimRandom;
class EventQueue;
class Trace;
class ZnodeTree;

// The ZooKeeper C client of one simulated daemon, over a simulated TCP
// connection to one server of the Ensemble, behaving as the real library
// does where the election can tell the difference:
//  - Open() makes a new handle (a new generation: nothing of an older one is
//    ever delivered) that connects to a random server; the first connection
//    creates the session.
//  - A broken connection fails every request in flight with kConnectionLoss
//    (whether or not the server applied it) and reports kConnecting: at once
//    for a reset, after 2/3 of the timeout without a packet for a silent
//    partition. A server cut off from the quorum keeps the connection alive
//    (it answers pings and reads), so nothing is reported then.
//  - The library reconnects by itself: kConnected with the same session if
//    the quorum still holds it, else kExpired (final for the handle); never
//    kConnected for an expired session. Watch events missed meanwhile come
//    after kConnected (SetWatches).
//  - Requests made while connecting wait for the connection, and fail with
//    kConnectionLoss when an attempt fails.
//  - Replies and watch events of a session arrive in order: a watch event
//    comes before the reply to any later request that sees its change.
//  - Close() sends the close only over a live connection; a close that
//    cannot reach the quorum leaves the session (and its nodes) to expire.
//  - Everything reaches the election through `loop` (TaskPoster), never
//    inside a call.
//
// Not thread-safe: the simulator is single-threaded.
class SimZkClient final : public ZkClient {
 public:
  using Millis = std::chrono::milliseconds;

  // `name` tags trace lines; `owner` is the daemon's index (whose sessions
  // these are). Everything passed must outlive the client.
  SimZkClient(std::string name, int owner, Millis requested_timeout, Ensemble& ensemble,
              EventQueue& queue, SimRandom& random, sim::Trace& trace, TaskPoster& loop);
  // A crash: the connection just breaks; nothing is closed.
  ~SimZkClient() override;
  SimZkClient(const SimZkClient&) = delete;
  SimZkClient& operator=(const SimZkClient&) = delete;

  // ZkClient:
  void SetEventSink(ZkEventSink* sink) override { sink_ = sink; }
  bool Open() override;
  void Close() override;
  int64_t session_id() const override { return session_id_; }
  Millis negotiated_timeout() const override { return negotiated_; }
  Clock::TimePoint connected_at() const override { return connected_at_; }
  void Create(const std::string& path, const std::string& data, CreateMode mode,
              CreateCallback done) override;
  void GetChildren(const std::string& path, bool watch, ChildrenCallback done) override;
  void GetData(const std::string& path, bool watch, DataCallback done) override;
  void Exists(const std::string& path, bool watch, StatCallback done) override;
  void Sync(const std::string& path, DoneCallback done) override;
  void Delete(const std::string& path, DoneCallback done) override;
  void SetData(const std::string& path, const std::string& data, DoneCallback done) override;

  // Faults. Reset: the connection breaks and the library notices at once.
  void Reset();
  // A silent partition between this client and every server: packets vanish.
  void SetPartitioned(bool partitioned);
  bool partitioned() const { return partitioned_; }
  // The process is stopped (SIGSTOP): the library neither reads nor sends;
  // on resume it finds out what happened meanwhile.
  void SetPaused(bool paused);

  // Whether a close sent now would reach the quorum.
  bool CanReachQuorum() const;
  // Every session this client's handles held, for the leftover check.
  const std::vector<int64_t>& sessions() const { return sessions_; }
  int owner() const { return owner_; }

  // Called by the Ensemble.
  void OnWatch(NodeEventType type, const std::string& path);
  void OnServerDropped(int server);
  void OnSessionExpired();

 private:
  enum class State { kClosed, kConnecting, kConnected, kDead };
  enum class Op { kCreate, kDelete, kSetData, kSync, kGetChildren, kGetData, kExists };
  // What the server sends back.
  struct Reply {
    static Reply Failed(ZkCode failure) {
      Reply reply;
      reply.code = failure;
      return reply;
    }
    ZkCode code = ZkCode::kOk;
    std::string path;  // created path, or data
    std::vector<std::string> children;
    NodeStat stat;
  };
  struct Request {
    Op op;
    std::string path;
    std::string data;
    bool flag = false;  // watch, or ephemeral-sequential for a create
    // Delivers the reply (or a failure) to the election's callback.
    std::function<void(const Reply&)> deliver;
  };
  // One TCP connection: events in flight capture it, and a broken one
  // delivers nothing more. A silent one (partitioned) loses every packet
  // until the library notices and breaks it.
  struct Connection {
    int server = 0;
    int64_t session = 0;
    bool broken = false;
    bool silent = false;
    Clock::TimePoint up_tail{};    // when the last packet sent arrives
    Clock::TimePoint down_tail{};  // when the last packet received arrives
  };

  void Submit(Request request);
  void Send(uint64_t xid);
  // The request reaches the server (which may apply it, answer, or hang).
  void Arrive(const std::shared_ptr<Connection>& conn, const Request& request, uint64_t xid);
  // What the server does with `request`; false when it hangs (a write or
  // sync at a server cut off from the quorum).
  bool Apply(int64_t session, const Request& request, const ZnodeTree* stale, Reply* reply);
  // A packet from the server: `deliver` runs when it arrives (and the
  // library runs), unless the connection broke meanwhile.
  void Receive(const std::shared_ptr<Connection>& conn, std::function<void()> deliver);
  // Queues `task` for the election loop unless the handle changed since.
  void Post(std::function<void()> task);

  void Connect();
  void AttemptFailed();
  void OnConnectReply(const std::shared_ptr<Connection>& conn, int64_t session, Millis timeout);
  // The connection is gone: fail what was in flight, report kConnecting and
  // try again.
  void Break(const char* why);
  // The library finds out (at once, or when it runs again after a pause).
  void NoticeBreak(const char* why);
  // The server end reset `conn` (if it is ours, the library notices).
  void ResetFrom(const std::shared_ptr<Connection>& conn, const char* why);
  void FailAll(ZkCode code);
  void ScheduleSilenceCheck();
  // Runs `event` later unless this client is destroyed or its handle
  // changed; while paused, it waits for the resume.
  void Later(Clock::Duration delay, std::function<void()> event);
  void Note(std::string_view what);

  const std::string name_;
  const int owner_;
  const Millis requested_;
  Ensemble& ensemble_;
  EventQueue& queue_;
  SimRandom& random_;
  sim::Trace& trace_;
  TaskPoster& loop_;
  ZkEventSink* sink_ = nullptr;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  State state_ = State::kClosed;
  uint64_t generation_ = 0;
  int64_t session_id_ = 0;  // as the election sees it (set when kConnected is delivered)
  int64_t session_ = 0;     // the session the library holds
  Millis negotiated_;
  Clock::TimePoint connected_at_ = Clock::TimePoint::max();  // as the election sees it
  std::shared_ptr<Connection> conn_;
  bool partitioned_ = false;
  bool paused_ = false;
  std::vector<std::function<void()>> deferred_;  // came due while paused
  Clock::TimePoint last_recv_{};
  uint64_t next_xid_ = 1;
  std::map<uint64_t, Request> outstanding_;  // sent or waiting, by xid (= request order)
  std::deque<uint64_t> unsent_;              // made while connecting
  using WatchEvent = std::pair<NodeEventType, std::string>;
  // Watch events on the wire, and those the library will get after the next
  // reconnect (SetWatches).
  uint64_t next_watch_ = 1;
  std::map<uint64_t, WatchEvent> watches_in_flight_;
  std::vector<WatchEvent> missed_watches_;
  std::vector<int64_t> sessions_;
};

}  // namespace zkelect::sim
