#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "zkelect/zk/zk_types.h"

namespace zkelect::sim {

// One znode as the election sees it.
struct Znode {
  std::string data;
  int64_t czxid = 0;
  int64_t ephemeral_owner = 0;  // session id, 0 for a persistent node
  int32_t version = 0;
  int64_t ctime_ms = 0;    // creation time by the simulated wall clock
  bool auth_only = false;  // ACL: readable only with credentials (GetData -> kNoAuth)
  int32_t cversion = 0;    // child changes; the next sequential suffix
  // Children by creation zxid: a deterministic order (names carry random
  // uuids), which is also the order ZooKeeper lists them in practice.
  std::map<int64_t, std::string> children;
};

// ZooKeeper's data tree: paths, data, czxid, ephemeral owners and the
// per-parent sequence counter, with the result codes of the real server.
// Copyable: a server cut off from the quorum answers reads from a copy.
// Watches and sessions live in ZkModel; this is only the replicated state.
//
// Not thread-safe.
class ZnodeTree {
 public:
  ZnodeTree();

  const Znode* Find(const std::string& path) const;
  // Children names of `path` in creation order; nullopt when it is missing.
  std::optional<std::vector<std::string>> Children(const std::string& path) const;

  // Creates `path` (sequential: with the parent's 10-digit cversion
  // appended). kNoNode without a parent, kNodeExists if taken, kOther under
  // an ephemeral parent (NOCHILDRENFOREPHEMERALS). `created` gets the full
  // path.
  ZkCode Create(const std::string& path, std::string data, int64_t ephemeral_owner, bool sequential,
                bool auth_only, std::string* created, int64_t ctime_ms = 0);
  // kNoNode when missing, kNotEmpty with children.
  ZkCode Delete(const std::string& path);
  // Replaces the data and bumps the version; kNoNode when missing.
  ZkCode SetData(const std::string& path, std::string data);

  // The last zxid handed out; sessions' creation and close consume one too.
  int64_t zxid() const { return zxid_; }
  int64_t NextZxid() { return ++zxid_; }

  static std::string Parent(const std::string& path);

 private:
  std::unordered_map<std::string, Znode> nodes_;
  int64_t zxid_ = 0;
};

}  // namespace zkelect::sim
