#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "zkelect/common/clock.h"
#include "zkelect/zk/zk_types.h"

namespace zkelect {

// Receives what a ZooKeeper session reports on its own: state changes and
// watch triggers. Called on the election loop thread only.
class ZkEventSink {
 public:
  virtual ~ZkEventSink() = default;
  virtual void OnSessionState(SessionState state) = 0;
  virtual void OnNodeEvent(NodeEventType type, const std::string& path) = 0;
};

// The election's view of a ZooKeeper client: one session at a time, async
// requests, completions and events delivered on the election loop thread.
//
// Contract for implementations:
//  - Every callback and every ZkEventSink call runs on the election loop
//    thread, never on the library's threads and never inside a request call.
//  - Each Open() starts a new generation. Replies and events belonging to an
//    earlier generation are dropped, never delivered.
//  - Requests made while no session is open complete with kClosing.
// Not thread-safe: call only from the election loop thread.
class ZkClient {
 public:
  using CreateCallback = std::function<void(ZkCode, const std::string& created_path)>;
  using ChildrenCallback = std::function<void(ZkCode, const std::vector<std::string>& children)>;
  using DataCallback = std::function<void(ZkCode, const std::string& data, const NodeStat&)>;
  using StatCallback = std::function<void(ZkCode, const NodeStat&)>;
  using DoneCallback = std::function<void(ZkCode)>;

  enum class CreateMode { kPersistent, kEphemeralSequential };

  virtual ~ZkClient() = default;

  // Where session states and watch triggers go; set once, before Open().
  virtual void SetEventSink(ZkEventSink* sink) = 0;

  // Opens a new session (new handle, credentials added again). The outcome
  // arrives as OnSessionState(kConnected) or another state. An error means
  // no handle could be made (e.g. the connect string did not resolve);
  // the caller retries later.
  virtual bool Open() = 0;

  // Closes the current handle, if any: the server ends the session and drops
  // its ephemeral nodes. Blocks for up to a few seconds; never call from a
  // library callback (the contract above guarantees callers are not in one).
  virtual void Close() = 0;

  // The current session's id, 0 before the first connection.
  virtual int64_t session_id() const = 0;
  // The timeout the server granted (zoo_recv_timeout), or the requested one
  // before the first connection.
  virtual std::chrono::milliseconds negotiated_timeout() const = 0;
  // When the library received the latest kConnected (BootClock time, the
  // daemon's Clock::Now()), which may be well before the loop handles it: the
  // server answered then, not later (rule 7). TimePoint::max() if unknown.
  virtual Clock::TimePoint connected_at() const = 0;

  // Creates `path` (a sequential node gets its suffix appended). When
  // credentials are set, nodes get a creator-all + world-read ACL.
  virtual void Create(const std::string& path, const std::string& data, CreateMode mode,
                      CreateCallback done) = 0;
  // Lists children names; with `watch`, one OnNodeEvent(kChildrenChanged,
  // path) follows the next change of the list.
  virtual void GetChildren(const std::string& path, bool watch, ChildrenCallback done) = 0;
  // Reads data and stat; with `watch`, one OnNodeEvent follows the node's next
  // change or deletion (a data watch, as zoo_awget).
  virtual void GetData(const std::string& path, bool watch, DataCallback done) = 0;
  // Reads the stat only. With `watch`, one OnNodeEvent follows the node's
  // creation, change or deletion.
  virtual void Exists(const std::string& path, bool watch, StatCallback done) = 0;
  // Syncs the connected server with the ensemble's leader (zoo_async): the
  // answer comes only after the leader has processed the request, so a
  // server cut off from the quorum never answers it (reads it keeps
  // answering from its own copy). The light request of the liveness ping.
  virtual void Sync(const std::string& path, DoneCallback done) = 0;
  // Deletes `path` at any version.
  virtual void Delete(const std::string& path, DoneCallback done) = 0;
  // Replaces the data of `path` at any version (zoo_aset); data watches on
  // it fire kDataChanged. The live reload's rewrite of our node.
  virtual void SetData(const std::string& path, const std::string& data, DoneCallback done) = 0;
};

}  // namespace zkelect
