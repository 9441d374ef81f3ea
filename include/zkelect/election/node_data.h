#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "zkelect/election/snapshot.h"

namespace zkelect {

// The highest election.priority (design §3 rule 13); the lowest is 0.
inline constexpr int64_t kMaxPriority = 1'000'000;

// The data of a candidate node (design §3 rule 11). Pure; any thread.

// `{"id": ..., "address": ..., "meta": {...}, "priority": n}` as compact JSON.
std::string EncodeNodeData(const NodeIdentity& identity);

// Reads what any client wrote into a candidate node. A JSON object with a
// string "id" gives id, address (if a string) and meta (string values kept,
// others as their JSON text). Anything else (another client's data, invalid
// JSON, JSON nested more than 32 levels deep, invalid UTF-8, newlines, empty)
// is still a candidate: the raw bytes are its id. Never throws; bounded work
// and stack for any input.
NodeIdentity DecodeNodeData(std::string_view data);

// Rule 13's view of a candidate: its priority, and whether it yields its
// place to a higher one. Only a zkelect node that publishes a priority in
// range yields; every other node (a Curator peer, foreign or unreadable data)
// counts as priority 0 and never yields. Same bounds as DecodeNodeData().
struct Rank {
  int64_t priority = 0;
  bool yields = false;
  bool operator==(const Rank&) const = default;
};
Rank RankOf(std::string_view data);

}  // namespace zkelect
