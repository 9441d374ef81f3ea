#pragma once

#include <string>
#include <utility>
#include <vector>

#include "zkelect/election/snapshot.h"

namespace zkelect::test {

// The view of follower "f" (node "n-f") whose leader is `leader_id` (node
// "n-<leader_id>"), with `candidates` in the election.
inline Snapshot FollowerOf(const std::string& leader_id, std::vector<std::string> candidates) {
  Snapshot snapshot;
  snapshot.id = "f";
  snapshot.role = Role::kFollower;
  snapshot.own_node = "n-f";
  snapshot.candidates = std::move(candidates);
  snapshot.leader = LeaderView{};
  snapshot.leader->identity.id = leader_id;
  snapshot.leader->node = "n-" + leader_id;
  return snapshot;
}

}  // namespace zkelect::test
