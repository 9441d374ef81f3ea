#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zkelect/common/mutex.h"

namespace zkelect {

// What /status shows of one candidate of a listing (design §3 rule 11).
struct CandidateId {
  enum class State {
    kKnown,       // id and address read from the node's data
    kPending,     // not read yet, or a read is under way
    kUnreadable,  // the latest read failed (node gone, no permission): asked again later
    kNotRead,     // beyond the first CandidateIdCache::kMaxCandidates: never read
  };
  State state = State::kPending;
  std::string id;       // when kKnown; at most kMaxShownBytes
  std::string address;  // when kKnown; at most kMaxShownBytes
  bool operator==(const CandidateId&) const = default;
};

// One entry per candidate of a listing, in its order.
using CandidateIds = std::vector<CandidateId>;

// The ids of the candidates of the current children listing, read on demand
// (issue 16 point 5): only when /status (or the status page, or `zkelect
// status`) is asked for, never on the path of a leader change, so followers
// stay herd-free. A node is read once while it stays in the listing (again
// only after `refresh_after`, to show an address that a reload rewrote);
// entries of nodes that left the listing are dropped. So a repeated /status
// costs ZooKeeper nothing until the listing changes, however many clients
// ask at once: a read under way is shared, never sent twice.
//
// Bounded, whatever other ZooKeeper clients do under the election path:
// entries only for the first kMaxCandidates nodes of the newest listing
// (later ones show kNotRead), at most kMaxReadsUnderWay reads at once (the
// rest are asked by later requests); node data longer than kMaxDecodedBytes is not
// decoded (it is foreign: its first bytes are its id); id and address are
// cut to kMaxShownBytes. A read that fails is not repeated before
// `retry_after`, so an unreadable node does not cost a read per request.
//
// Thread-safe: Lookup() from any number of HTTP threads, Deliver() from the
// election loop thread (or any).
class CandidateIdCache {
 public:
  // Asks for the data of `nodes` (names under the election path). Each
  // answer must come back through Deliver(); one that never comes (the
  // session was replaced) is asked for again after `retry_after`. Called
  // without the cache's lock held, on Lookup()'s thread; must not block.
  using Reader = std::function<void(std::vector<std::string> nodes)>;

  static constexpr size_t kMaxCandidates = 1000;
  // Reads under way at once: each answer may hold up to 1 MB of another
  // client's data until it is decoded.
  static constexpr size_t kMaxReadsUnderWay = 100;
  static constexpr size_t kMaxDecodedBytes = 4096;
  static constexpr size_t kMaxShownBytes = 256;

  struct Timing {
    // How long a read without answer counts as under way, and how long a
    // failed read is not repeated.
    std::chrono::milliseconds retry_after = std::chrono::seconds(5);
    // How long a known id is shown without asking again.
    std::chrono::milliseconds refresh_after = std::chrono::minutes(1);
  };

  // With the default Timing.
  explicit CandidateIdCache(Reader reader);
  CandidateIdCache(Reader reader, Timing timing);
  CandidateIdCache(const CandidateIdCache&) = delete;
  CandidateIdCache& operator=(const CandidateIdCache&) = delete;

  // The ids of `listing` (candidate node names in order, as the snapshot of
  // board index `index` has them). A listing of an index not older than the
  // current one's becomes the current listing: entries of other nodes are
  // dropped. When `may_read` and the listing is current, nodes neither known
  // nor under way (nor failed within retry_after) are asked of the reader,
  // in one call. Then waits until no read of a node without id is under way
  // or `deadline` passes, whichever is first. Pass a past deadline never to
  // wait (where nothing may block), and may_read = false while the session
  // is not connected.
  CandidateIds Lookup(uint64_t index, const std::vector<std::string>& listing, bool may_read,
                      std::chrono::steady_clock::time_point deadline) EXCLUDES(mu_);

  // The answer of a read of `node`: its raw data, or nullopt when it could
  // not be read. Ignored when `node` is not in the current listing.
  void Deliver(const std::string& node, std::optional<std::string_view> data) EXCLUDES(mu_);

  // Entries held now (at most kMaxCandidates). For tests.
  size_t size() const EXCLUDES(mu_);

  // What the data of a candidate node shows (rule 11, with the caps above):
  // a kKnown entry. Pure; any thread.
  static CandidateId Decode(std::string_view data);

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct Slot {
    std::optional<CandidateId> known;  // the latest successful read
    TimePoint known_at;
    std::optional<TimePoint> asked;   // a read is under way since then
    std::optional<TimePoint> failed;  // the latest read failed then
  };

  // Makes the first kMaxCandidates of `listing` current, dropping the
  // slots of other nodes.
  void SetListing(uint64_t index, const std::vector<std::string>& listing) REQUIRES(mu_);
  // Reads under way at `now`.
  size_t ReadsUnderWay(TimePoint now) const REQUIRES(mu_);
  // Whether `slot` is to be read at `now`.
  bool NeedsRead(const Slot& slot, TimePoint now) const;
  // Whether a read of a node of `listing` that has no id yet is under way.
  bool AwaitingReads(const std::vector<std::string>& listing) const REQUIRES(mu_);
  CandidateId Shown(const std::string& node) const REQUIRES(mu_);

  // Constant after construction.
  const Reader reader_;
  const Timing timing_;

  mutable Mutex mu_;
  std::condition_variable delivered_;
  uint64_t listing_index_ GUARDED_BY(mu_) = 0;
  std::map<std::string, Slot> slots_ GUARDED_BY(mu_);  // the current listing's nodes
};

}  // namespace zkelect
