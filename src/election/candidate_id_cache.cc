#include "zkelect/election/candidate_id_cache.h"

#include <algorithm>
#include <set>
#include <utility>

#include "zkelect/election/node_data.h"

namespace zkelect {
namespace {

std::string Capped(std::string text) {
  if (text.size() > CandidateIdCache::kMaxShownBytes) text.resize(CandidateIdCache::kMaxShownBytes);
  return text;
}

// The part of a listing that the cache holds entries for.
std::vector<std::string> Held(const std::vector<std::string>& listing) {
  const size_t held = std::min(listing.size(), CandidateIdCache::kMaxCandidates);
  return {listing.begin(), listing.begin() + static_cast<std::ptrdiff_t>(held)};
}

}  // namespace

CandidateIdCache::CandidateIdCache(Reader reader) : CandidateIdCache(std::move(reader), Timing()) {}

CandidateIdCache::CandidateIdCache(Reader reader, Timing timing)
    : reader_(std::move(reader)), timing_(timing) {}

CandidateId CandidateIdCache::Decode(std::string_view data) {
  CandidateId shown;
  shown.state = CandidateId::State::kKnown;
  // Too long to be ours: not parsed at all, its first bytes are its id.
  if (data.size() > kMaxDecodedBytes) {
    shown.id = std::string(data.substr(0, kMaxShownBytes));
    return shown;
  }
  NodeIdentity identity = DecodeNodeData(data);
  shown.id = Capped(std::move(identity.id));
  shown.address = Capped(std::move(identity.address));
  return shown;
}

CandidateIds CandidateIdCache::Lookup(uint64_t index, const std::vector<std::string>& listing,
                                      bool may_read, TimePoint deadline) {
  const std::vector<std::string> held = Held(listing);
  std::vector<std::string> to_read;
  {
    MutexLock lock(&mu_);
    // An older snapshot's listing (a slower request) must not undo a newer
    // one: it is answered from what is held, and reads nothing.
    const bool current = index >= listing_index_;
    if (current) SetListing(index, held);
    if (current && may_read) {
      const TimePoint now = std::chrono::steady_clock::now();
      size_t under_way = ReadsUnderWay(now);
      for (const std::string& node : held) {
        if (under_way >= kMaxReadsUnderWay) break;
        Slot& slot = slots_.at(node);
        if (!NeedsRead(slot, now)) continue;
        ++under_way;
        slot.asked = now;
        to_read.push_back(node);
      }
    }
  }
  if (!to_read.empty()) reader_(std::move(to_read));

  MutexLock lock(&mu_);
  while (AwaitingReads(held)) {
    if (lock.WaitUntil(delivered_, deadline) == std::cv_status::timeout) break;
  }
  CandidateIds ids;
  ids.reserve(listing.size());
  for (const std::string& node : held) ids.push_back(Shown(node));
  ids.resize(listing.size(), CandidateId{CandidateId::State::kNotRead, "", ""});
  return ids;
}

void CandidateIdCache::Deliver(const std::string& node, std::optional<std::string_view> data) {
  // Decoded outside the lock.
  std::optional<CandidateId> shown;
  if (data) shown = Decode(*data);
  {
    MutexLock lock(&mu_);
    auto it = slots_.find(node);
    if (it == slots_.end()) return;  // left the listing meanwhile
    Slot& slot = it->second;
    const TimePoint now = std::chrono::steady_clock::now();
    slot.asked.reset();
    if (shown) {
      slot.known = std::move(shown);
      slot.known_at = now;
      slot.failed.reset();
    } else {
      slot.failed = now;
    }
  }
  delivered_.notify_all();
}

size_t CandidateIdCache::size() const {
  MutexLock lock(&mu_);
  return slots_.size();
}

void CandidateIdCache::SetListing(uint64_t index, const std::vector<std::string>& listing) {
  listing_index_ = index;
  const std::set<std::string_view> wanted(listing.begin(), listing.end());
  std::erase_if(slots_, [&wanted](const auto& entry) { return !wanted.contains(entry.first); });
  for (const std::string& node : listing) slots_.try_emplace(node);
}

size_t CandidateIdCache::ReadsUnderWay(TimePoint now) const {
  return static_cast<size_t>(std::count_if(slots_.begin(), slots_.end(), [&](const auto& entry) {
    return entry.second.asked && now - *entry.second.asked < timing_.retry_after;
  }));
}

bool CandidateIdCache::NeedsRead(const Slot& slot, TimePoint now) const {
  if (slot.asked && now - *slot.asked < timing_.retry_after) return false;  // under way
  if (slot.failed && now - *slot.failed < timing_.retry_after) return false;
  return !slot.known || now - slot.known_at >= timing_.refresh_after;
}

bool CandidateIdCache::AwaitingReads(const std::vector<std::string>& listing) const {
  return std::any_of(listing.begin(), listing.end(), [this](const std::string& node) {
    const auto it = slots_.find(node);
    return it != slots_.end() && !it->second.known && it->second.asked;
  });
}

CandidateId CandidateIdCache::Shown(const std::string& node) const {
  const auto it = slots_.find(node);
  if (it == slots_.end()) return CandidateId{};  // pending
  const Slot& slot = it->second;
  if (slot.known) return *slot.known;  // also while a refresh is under way or failed
  if (slot.failed && !slot.asked) return CandidateId{CandidateId::State::kUnreadable, "", ""};
  return CandidateId{};
}

}  // namespace zkelect
