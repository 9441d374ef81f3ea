#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "zkelect/common/clock.h"
#include "zkelect/zk/zk_client.h"

namespace zkelect::testing {

// An in-memory ZooKeeper server and client in one, for driving the Recipe in
// unit tests. Nothing happens on its own: replies and events queue up and are
// delivered, in order, when the test calls Deliver(), as the real client would
// deliver them on the election loop. The test plays the network and the other
// clients: disconnects, expiries, lost replies, silence, foreign nodes.
// Single-threaded.
class FakeZkClient final : public ZkClient {
 public:
  struct Node {
    std::string data;
    int64_t czxid = 0;
    int64_t ephemeral_owner = 0;
    int32_t version = 0;
    int64_t next_sequence = 0;  // for sequential children
    int64_t ctime_ms = 0;       // by SetWallClock's clock, 0 without
    bool auth_only = false;     // its ACL lets only its creator read it
  };
  // How the next Create is answered.
  enum class CreateFault { kNone, kLostAfterApply, kLostBeforeApply };

  FakeZkClient();

  // ZkClient:
  void SetEventSink(ZkEventSink* sink) override { sink_ = sink; }
  bool Open() override;
  void Close() override;
  int64_t session_id() const override { return connected_session_; }
  std::chrono::milliseconds negotiated_timeout() const override { return timeout_; }
  Clock::TimePoint connected_at() const override { return connected_at_; }
  void Create(const std::string& path, const std::string& data, CreateMode mode,
              CreateCallback done) override;
  void GetChildren(const std::string& path, bool watch, ChildrenCallback done) override;
  void GetData(const std::string& path, bool watch, DataCallback done) override;
  void Exists(const std::string& path, bool watch, StatCallback done) override;
  void Delete(const std::string& path, DoneCallback done) override;
  void Sync(const std::string& path, DoneCallback done) override;
  void SetData(const std::string& path, const std::string& data, DoneCallback done) override;

  // Runs queued replies and events (and whatever they queue) until none is
  // left; returns how many ran. Aborts the test past 10,000 (a livelock).
  int Deliver();
  // Runs only the oldest queued reply or event; false if none was queued.
  bool DeliverOne();

  // Stamps the creation time (ctime) of every node created from now on with
  // `clock`'s WallNow(); without one it is 0 (a node of unknown age).
  void SetWallClock(const Clock* clock) { wall_clock_ = clock; }

  // --- The network, as the test plays it ---
  // The connection drops: kConnecting is reported; requests fail with
  // kConnectionLoss until Reconnect(). The session lives on at the server.
  void Disconnect();
  // Connected again with the same session.
  void Reconnect();
  // The server expires the session: its ephemeral nodes go, kExpired is
  // reported, the handle is dead until Open().
  void Expire();
  // The server stops answering without the library noticing: requests stay
  // unanswered and no event comes (a silent partition or a paused peer).
  void GoSilent();
  // Answers again: requests queued while silent get their replies.
  void Speak();
  // The connected server is cut off from the ensemble's leader but the
  // library has not noticed: reads and pings are still answered (from the
  // server's own copy), syncs and writes wait for the leader. RegainQuorum()
  // answers them.
  void LoseQuorum() { quorum_lost_ = true; }
  void RegainQuorum();
  // The server expires the sessions of handles closed while it could not
  // hear the close (see Close()): their ephemeral nodes go.
  void ExpireOrphans();
  // The server refuses the credentials: kAuthFailed, the handle is dead.
  void FailAuth();
  // Watches are lost without firing (a missed notification).
  void DropWatches() {
    watches_.clear();
    child_watches_.clear();
  }
  void FailNextCreate(CreateFault fault) { create_fault_ = fault; }
  void set_negotiated_timeout(std::chrono::milliseconds t) { timeout_ = t; }
  // What connected_at() reports (by default TimePoint::max(): unknown).
  void set_connected_at(Clock::TimePoint t) { connected_at_ = t; }
  // Open() fails (the connect string does not resolve) while set.
  void set_open_fails(bool fails) { open_fails_ = fails; }

  // --- Other clients ---
  // Creates a node as another client; `sequential` appends the parent's
  // sequence. Returns the full path. `owner` 0 makes it persistent.
  std::string ExternalCreate(const std::string& path, const std::string& data, int64_t owner,
                             bool sequential);
  void ExternalDelete(const std::string& path);
  void ExternalSetData(const std::string& path, const std::string& data);
  // The node's ACL lets only its creator read it: our GetData gets kNoAuth
  // (and sets no watch); exists needs no permission.
  void MakeUnreadable(const std::string& path) { nodes_.at(path).auth_only = true; }

  // --- Inspection ---
  bool NodeExists(const std::string& path) const { return nodes_.count(path) != 0; }
  const Node* FindNode(const std::string& path) const;
  // Children names of `path`, sorted by name.
  std::vector<std::string> ChildrenOf(const std::string& path) const;
  // Paths this session has children watches on.
  const std::set<std::string>& child_watches() const { return child_watches_; }
  // Paths this session has data watches on.
  const std::set<std::string>& watches() const { return watches_; }
  // Requests made so far, by kind ("create", "children", "get", "exists", "delete", "sync",
  // "set").
  int requests(const std::string& kind) const;
  int64_t current_session() const { return server_session_; }
  int opens() const { return opens_; }

 private:
  int64_t WallMs() const {
    return wall_clock_ == nullptr ? 0
                                  : std::chrono::duration_cast<std::chrono::milliseconds>(
                                        wall_clock_->WallNow().time_since_epoch())
                                        .count();
  }
  const Clock* wall_clock_ = nullptr;
  void Queue(std::function<void()> step);
  // Queue() for a request that the ensemble's leader must process.
  void QueueThroughLeader(std::function<void()> step);
  void QueueSessionState(SessionState state);
  // Deletes `path` at the server and fires the watch on it, if any.
  void RemoveNode(const std::string& path);
  // Deletes every ephemeral node of `session` (no watches fire: tests of
  // this fake watch nothing of other sessions).
  void RemoveNodesOf(int64_t session);
  void FireWatch(const std::string& path, NodeEventType type);
  NodeStat StatOf(const Node& node) const;
  // Why a request cannot be served now, or nullopt when it can.
  std::optional<ZkCode> Unavailable() const;

  ZkEventSink* sink_ = nullptr;
  std::map<std::string, Node> nodes_;
  std::set<std::string> watches_;
  std::set<std::string> child_watches_;
  // Fires the child watch on `path`'s parent, if any.
  void FireChildWatch(const std::string& child_path);
  std::deque<std::function<void()>> queue_;
  std::deque<std::function<void()>> held_;         // replies withheld while silent
  std::deque<std::function<void()>> leader_held_;  // syncs and writes while quorum_lost_
  std::map<std::string, int> requests_;
  int64_t zxid_ = 100;
  int64_t next_session_ = 0x1000;
  int64_t server_session_ = 0;     // the live session at the server, 0 if none
  int64_t connected_session_ = 0;  // what the client reports
  std::vector<int64_t> orphans_;   // closed while unreachable; alive at the server
  bool open_ = false;
  bool connected_ = false;
  bool expired_ = false;
  bool silent_ = false;
  bool quorum_lost_ = false;
  bool open_fails_ = false;
  int opens_ = 0;
  CreateFault create_fault_ = CreateFault::kNone;
  std::chrono::milliseconds timeout_{6000};
  Clock::TimePoint connected_at_ = Clock::TimePoint::max();
};

}  // namespace zkelect::testing
