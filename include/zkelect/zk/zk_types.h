#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zkelect {

// ZooKeeper results as the election needs them. Everything the C client can
// return maps to one of these (unknown codes map to kOther).
enum class ZkCode {
  kOk,
  kNoNode,
  kNodeExists,
  kNotEmpty,
  kBadVersion,
  kNoAuth,
  kInvalidAcl,
  kConnectionLoss,    // outcome unknown: the server may have applied it
  kOperationTimeout,  // outcome unknown: the server may have applied it
  kSessionExpired,
  kClosing,  // the handle is being closed
  kOther,
};

std::string_view ZkCodeName(ZkCode code);

// True when a server produced this answer (so the session was alive when the
// request was sent); false for client-side failures whose outcome is unknown.
bool IsServerAnswer(ZkCode code);

// True when the request may or may not have been applied.
inline bool IsOutcomeUnknown(ZkCode code) {
  return code == ZkCode::kConnectionLoss || code == ZkCode::kOperationTimeout;
}

// The parts of a znode's Stat the election reads.
struct NodeStat {
  int64_t czxid = 0;            // creation zxid: the leader's epoch
  int64_t ephemeral_owner = 0;  // session id owning an ephemeral node, else 0
  int32_t version = 0;
  // Creation time, ms since the epoch, by the wall clock of the ensemble's
  // leader at the time: only for a heuristic (a node's age, clocks may
  // differ), never for safety.
  int64_t ctime_ms = 0;
};

// Connection-level state changes reported by the client library.
enum class SessionState {
  kConnecting,  // connection lost (or not yet made); the library is retrying
  kConnected,
  kExpired,     // final for this handle
  kAuthFailed,  // final for this handle
};

// Watch triggers on a node the election asked to watch.
enum class NodeEventType { kDeleted, kDataChanged, kCreated, kChildrenChanged };

}  // namespace zkelect
