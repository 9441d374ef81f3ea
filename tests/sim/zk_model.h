#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/znode_tree.h"
#include "zkelect/common/clock.h"
#include "zkelect/zk/zk_types.h"

namespace zkelect::sim {

// How a node left the tree.
enum class NodeGone { kDeleted, kSessionClosed, kSessionExpired };

// The state a ZooKeeper ensemble's quorum agrees on, and what its leader
// does with it: the data tree, sessions with server-side expiry at tick
// granularity (a session's ephemerals go when it expires or is closed), and
// one-shot watches:
//  - data watches (GetData on an existing node, Exists on any path) fire
//    kCreated, kDataChanged or kDeleted;
//  - child watches (GetChildren) fire kChildrenChanged when a child comes
//    or goes, and kDeleted when the node itself goes;
//  - a session gets one event per change and path, however it watched it.
// A request that fails (kNoNode, kNoAuth) sets no watch, except Exists,
// which watches a missing path for its creation: as the real server.
//
// Connections, latency and servers cut off from the quorum are the
// client's business (SimZkClient): this model applies a request at the
// instant it reaches the quorum. Watch events go to the Listener at that
// instant; per-session ordering is the channel's job.
//
// Not thread-safe.
class ZkModel {
 public:
  using TimePoint = Clock::TimePoint;
  using Millis = std::chrono::milliseconds;

  class Listener {
   public:
    virtual ~Listener() = default;
    // A watch of `session` fired.
    virtual void OnWatch(int64_t session, NodeEventType type, const std::string& path) = 0;
    // `path` left the tree: deleted by session `by`, or with its session.
    virtual void OnNodeRemoved(const std::string& path, const Znode& node, int64_t by,
                               NodeGone how) = 0;
    // The quorum expired `session` (its ephemerals are already gone).
    virtual void OnSessionExpired(int64_t session) = 0;
    // `path` was created, or its data set.
    virtual void OnNodeWritten(const std::string& /*path*/) {}
  };

  // `tick`: the ensemble's tickTime; session timeouts are negotiated into
  // [2, 20] ticks and expire on tick boundaries.
  ZkModel(Millis tick, Listener& listener);
  // The wall clock that stamps a node's creation time (ctime); 0 without.
  void SetWallClock(std::function<int64_t()> wall_ms) { wall_ms_ = std::move(wall_ms); }
  ZkModel(const ZkModel&) = delete;
  ZkModel& operator=(const ZkModel&) = delete;

  Millis tick() const { return tick_; }
  // The timeout the server grants for `requested`.
  Millis Negotiate(Millis requested) const;

  // Sessions. `has_auth`: digest credentials (reads auth-only nodes).
  int64_t OpenSession(Millis requested, TimePoint now, bool has_auth = false);
  bool Alive(int64_t session) const { return sessions_.contains(session); }
  Millis Timeout(int64_t session) const;
  // The quorum heard from `session` at `now`: its expiry moves to the tick
  // boundary after now + timeout.
  void Touch(int64_t session, TimePoint now);
  // A session kept alive by traffic the simulator does not model (foreign
  // clients): never expires while pinned; unpinning touches it.
  void SetPinned(int64_t session, bool pinned, TimePoint now);
  // The client's close reached the quorum: ephemerals go, watches fire.
  void CloseSession(int64_t session);
  // Expires every session whose deadline is at or before `now`.
  void ExpireDue(TimePoint now);
  // The earliest deadline of an unpinned session.
  std::optional<TimePoint> NextExpiry() const;
  // A new quorum leader after an outage: every session's deadline starts
  // over from `now` (as ZooKeeper's leader does on election).
  void Recover(TimePoint now);

  // Requests as the quorum applies them for `session`. `created`, `children`,
  // `data` and `stat` are written on kOk only.
  ZkCode Create(int64_t session, const std::string& path, const std::string& data, bool ephemeral,
                bool sequential, bool auth_only, std::string* created);
  ZkCode Delete(int64_t session, const std::string& path);
  ZkCode SetData(int64_t session, const std::string& path, const std::string& data);

  // Reads. `stale`: a server cut off from the quorum answers from its own
  // copy; a watch it sets reaches the quorum when the client reconnects
  // (SetWatches), and fires then if the quorum's node already differs.
  ZkCode GetChildren(int64_t session, const std::string& path, bool watch,
                     std::vector<std::string>* children, const ZnodeTree* stale = nullptr);
  ZkCode GetData(int64_t session, const std::string& path, bool watch, std::string* data,
                 NodeStat* stat, const ZnodeTree* stale = nullptr);
  ZkCode Exists(int64_t session, const std::string& path, bool watch, NodeStat* stat,
                const ZnodeTree* stale = nullptr);

  const ZnodeTree& tree() const { return tree_; }
  // Owner of `path` if it is an ephemeral node, else 0.
  int64_t OwnerOf(const std::string& path) const;

 private:
  struct Session {
    Millis timeout;
    TimePoint deadline;
    bool pinned = false;
    bool has_auth = false;
    std::map<int64_t, std::string> ephemerals;  // by czxid: removal order
  };
  using Watchers = std::unordered_map<std::string, std::set<int64_t>>;

  TimePoint Deadline(TimePoint now, Millis timeout) const;
  void Remove(const std::string& path, int64_t by, NodeGone how);
  void EndSession(int64_t session, NodeGone how);
  // Fires and clears the watches of `path` in `table` (skipping sessions in
  // `done`, which collects the sessions told).
  void Fire(Watchers& table, const std::string& path, NodeEventType type, std::set<int64_t>& done);
  static NodeStat StatOf(const Znode& node);

  const Millis tick_;
  Listener& listener_;
  ZnodeTree tree_;
  std::map<int64_t, Session> sessions_;
  int64_t next_session_ = 0x100000000LL;
  Watchers data_watches_;
  Watchers child_watches_;
  std::function<int64_t()> wall_ms_;
};

}  // namespace zkelect::sim
