#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zkelect/common/mutex.h"

namespace zkelect {

// What /status shows of one candidate (design §3 rule 11): its id and
// address, both capped at CandidateIdCache::kMaxShownBytes.
struct CandidateId {
  std::string id;
  std::string address;
  bool operator==(const CandidateId&) const = default;
};

// One entry per candidate of a listing, in its order; nullopt while that
// node's data has not been read yet ("id_pending" in /status).
using CandidateIds = std::vector<std::optional<CandidateId>>;

// The ids of the candidates in the current children listing, read on demand
// (issue 16 point 5): only when /status (or the status page) is asked for,
// never on the path of a leader change, so followers stay herd-free. Each
// node is read once while it stays in the listing; entries of nodes that
// left the listing are dropped, so a repeated /status costs ZooKeeper
// nothing until the listing changes.
//
// Node data is hostile input (any ZooKeeper client may write anything up to
// ZooKeeper's 1 MB into a node under the election path): data longer than
// kMaxDecodedBytes is not decoded, it is foreign and its first bytes are its
// id; id and address are cut to kMaxShownBytes.
//
// Thread-safe: Lookup() from any number of HTTP threads, Deliver() from the
// election loop thread (or any).
class CandidateIdCache {
 public:
  // Asks for the data of `nodes` (names under the election path). Each
  // answer must come back through Deliver(); an answer that never comes
  // (the session was replaced) is asked for again after the retry interval.
  // Called without the cache's lock held; must not block.
  using Reader = std::function<void(std::vector<std::string> nodes)>;

  static constexpr size_t kMaxDecodedBytes = 4096;
  static constexpr size_t kMaxShownBytes = 256;

  // `retry_after`: how long a read without answer counts as under way.
  explicit CandidateIdCache(Reader reader,
                            std::chrono::milliseconds retry_after = std::chrono::seconds(5));
  CandidateIdCache(const CandidateIdCache&) = delete;
  CandidateIdCache& operator=(const CandidateIdCache&) = delete;

  // The ids of `listing` (candidate node names, in order). `listing` becomes
  // the current listing: entries of other nodes are dropped. When
  // `may_read`, nodes neither known nor under way are asked of the reader
  // (one call for all of them). Then waits until every node is known or
  // `deadline` passes, whichever is first, and answers with what is known
  // (nullopt for the rest). Pass a past deadline never to wait (e.g. when the
  // session is not connected, together with may_read = false).
  CandidateIds Lookup(const std::vector<std::string>& listing, bool may_read,
                      std::chrono::steady_clock::time_point deadline);

  // The answer of a read of `node`: its raw data, or nullopt when it could
  // not be read (node gone, no session): then a later Lookup asks again.
  // Ignored when `node` is no longer in the current listing.
  void Deliver(const std::string& node, std::optional<std::string_view> data);

  // What the data of a candidate node shows (rule 11, with the caps above).
  // Pure.
  static CandidateId Decode(std::string_view data);

 private:
  struct Slot {
    std::optional<CandidateId> id;
    // When the latest read was asked for; nullopt when none is under way.
    std::optional<std::chrono::steady_clock::time_point> asked;
  };

  // Makes `listing` current, dropping the slots of other nodes.
  void SetListing(const std::vector<std::string>& listing) REQUIRES(mu_);
  bool AllKnown(const std::vector<std::string>& listing) const REQUIRES(mu_);

  const Reader reader_;
  const std::chrono::milliseconds retry_after_;

  mutable Mutex mu_;
  std::condition_variable delivered_;
  std::map<std::string, Slot> slots_ GUARDED_BY(mu_);
};

}  // namespace zkelect
