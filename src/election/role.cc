#include "zkelect/election/role.h"

namespace zkelect {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kStarting:
      return "starting";
    case Role::kFollower:
      return "follower";
    case Role::kLeader:
      return "leader";
    case Role::kWithdrawn:
      return "withdrawn";
    case Role::kDisconnected:
      return "disconnected";
    case Role::kObserver:
      return "observer";
  }
  return "unknown";  // unreachable for valid enum values
}

std::string_view ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kElected:
      return "elected";
    case Reason::kResigned:
      return "resigned";
    case Reason::kDisconnected:
      return "disconnected";
    case Reason::kExpired:
      return "expired";
    case Reason::kShutdown:
      return "shutdown";
    case Reason::kUnhealthy:
      return "unhealthy";
    case Reason::kDeleted:
      return "deleted";
    case Reason::kHookFailed:
      return "hook_failed";
    case Reason::kStarted:
      return "started";
    case Reason::kConnected:
      return "connected";
    case Reason::kJoined:
      return "joined";
    case Reason::kHoldOver:
      return "hold_over";
    case Reason::kMaintenance:
      return "maintenance";
    case Reason::kPreempted:
      return "preempted";
  }
  return "unknown";  // unreachable for valid enum values
}

}  // namespace zkelect
