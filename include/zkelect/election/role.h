#pragma once

#include <string_view>

namespace zkelect {

// This node's role, as reported by /status.
enum class Role {
  kStarting,      // no session established yet
  kFollower,      // registered candidate, another node leads
  kLeader,        // first candidate, node owned by the current session
  kWithdrawn,     // not a candidate on purpose (resign hold, maintenance, shutdown)
  kDisconnected,  // session lost or not confirmed recently; role unknown
  kObserver,      // campaign = false: reports the leader, never leads
};

// Why a role changed. The first eight are the reasons of design §5 (hook
// environment `ZKELECT_REASON`); the others only explain non-leader
// transitions in /status.
enum class Reason {
  kElected,
  kResigned,
  kDisconnected,
  kExpired,
  kShutdown,
  kUnhealthy,
  kDeleted,
  kHookFailed,
  kStarted,
  kConnected,
  kJoined,
  kHoldOver,
  kMaintenance,  // withdrawn by POST /withdraw (also a stop hook's reason)
  kPreempted,    // handed over to a candidate of higher priority (rule 13; a stop hook's reason)
};

std::string_view RoleName(Role role);
std::string_view ReasonName(Reason reason);

}  // namespace zkelect
