#include "zkelect/zk/zk_types.h"

namespace zkelect {

std::string_view ZkCodeName(ZkCode code) {
  switch (code) {
    case ZkCode::kOk:
      return "ok";
    case ZkCode::kNoNode:
      return "no_node";
    case ZkCode::kNodeExists:
      return "node_exists";
    case ZkCode::kNotEmpty:
      return "not_empty";
    case ZkCode::kBadVersion:
      return "bad_version";
    case ZkCode::kNoAuth:
      return "no_auth";
    case ZkCode::kInvalidAcl:
      return "invalid_acl";
    case ZkCode::kConnectionLoss:
      return "connection_loss";
    case ZkCode::kOperationTimeout:
      return "operation_timeout";
    case ZkCode::kSessionExpired:
      return "session_expired";
    case ZkCode::kClosing:
      return "closing";
    case ZkCode::kOther:
      return "other";
  }
  return "unknown";
}

bool IsServerAnswer(ZkCode code) {
  switch (code) {
    case ZkCode::kOk:
    case ZkCode::kNoNode:
    case ZkCode::kNodeExists:
    case ZkCode::kNotEmpty:
    case ZkCode::kBadVersion:
    case ZkCode::kNoAuth:
    case ZkCode::kInvalidAcl:
      return true;
    default:
      return false;
  }
}

}  // namespace zkelect
