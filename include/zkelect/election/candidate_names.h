#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zkelect {

// Naming and ordering of candidate nodes (design §3 rules 1–2). Pure
// functions; any thread.

// "_c_<uuid>-latch-": the prefix of our ephemeral-sequential node, in Apache
// Curator LeaderLatch's protected form, so Curator clients can share the
// election. ZooKeeper appends the 10-digit sequence.
std::string CandidatePrefix(std::string_view uuid);

// The trailing 10-digit sequence number of a candidate name, whatever its
// prefix (Curator, kazoo, ours); nullopt when the name does not end in one.
std::optional<int64_t> CandidateSequence(std::string_view name);

// Children of the election path that are candidates, ordered by sequence
// (ties, which ZooKeeper never produces, by name). Names without a sequence
// are not candidates and are left out.
std::vector<std::string> SortCandidates(const std::vector<std::string>& children);

// True when `name` is one of ours for `uuid` ("_c_<uuid>-latch-<seq>").
bool IsCandidateOf(std::string_view name, std::string_view uuid);

// A random RFC 4122 version-4 uuid, lower-case hex with dashes.
std::string NewUuid();

// The version-4 uuid made of these 128 bits (its version and variant bits
// overwritten): for a caller with its own source of randomness.
std::string UuidFromBits(uint64_t high, uint64_t low);

}  // namespace zkelect
