#include "zkelect/election/candidate_id_cache.h"

#include <algorithm>
#include <utility>

#include "zkelect/election/node_data.h"

namespace zkelect {
namespace {

std::string Capped(std::string text) {
  if (text.size() > CandidateIdCache::kMaxShownBytes) text.resize(CandidateIdCache::kMaxShownBytes);
  return text;
}

}  // namespace

CandidateIdCache::CandidateIdCache(Reader reader, std::chrono::milliseconds retry_after)
    : reader_(std::move(reader)), retry_after_(retry_after) {}

CandidateId CandidateIdCache::Decode(std::string_view data) {
  // Too long to be ours: not parsed at all, its first bytes are its id.
  if (data.size() > kMaxDecodedBytes) return CandidateId{Capped(std::string(data.substr(0, kMaxShownBytes))), ""};
  NodeIdentity identity = DecodeNodeData(data);
  return CandidateId{Capped(std::move(identity.id)), Capped(std::move(identity.address))};
}

CandidateIds CandidateIdCache::Lookup(const std::vector<std::string>& listing, bool may_read,
                                      std::chrono::steady_clock::time_point deadline) {
  std::vector<std::string> to_read;
  {
    MutexLock lock(&mu_);
    SetListing(listing);
    if (may_read) {
      const auto now = std::chrono::steady_clock::now();
      for (const std::string& node : listing) {
        Slot& slot = slots_[node];
        if (slot.id || (slot.asked && now - *slot.asked < retry_after_)) continue;
        slot.asked = now;
        to_read.push_back(node);
      }
    }
  }
  if (!to_read.empty()) reader_(std::move(to_read));

  MutexLock lock(&mu_);
  while (!AllKnown(listing)) {
    if (lock.WaitUntil(delivered_, deadline) == std::cv_status::timeout) break;
  }
  CandidateIds ids;
  ids.reserve(listing.size());
  for (const std::string& node : listing) {
    auto it = slots_.find(node);
    ids.push_back(it == slots_.end() ? std::nullopt : it->second.id);
  }
  return ids;
}

void CandidateIdCache::Deliver(const std::string& node, std::optional<std::string_view> data) {
  // Decoded outside the lock: hostile data may take a while.
  std::optional<CandidateId> id;
  if (data) id = Decode(*data);
  {
    MutexLock lock(&mu_);
    auto it = slots_.find(node);
    if (it == slots_.end()) return;  // left the listing meanwhile
    it->second.asked.reset();
    if (id) it->second.id = std::move(id);
  }
  delivered_.notify_all();
}

void CandidateIdCache::SetListing(const std::vector<std::string>& listing) {
  std::erase_if(slots_, [&listing](const auto& entry) {
    return std::find(listing.begin(), listing.end(), entry.first) == listing.end();
  });
  for (const std::string& node : listing) slots_.try_emplace(node);
}

bool CandidateIdCache::AllKnown(const std::vector<std::string>& listing) const {
  return std::all_of(listing.begin(), listing.end(), [this](const std::string& node) {
    auto it = slots_.find(node);
    return it != slots_.end() && it->second.id.has_value();
  });
}

}  // namespace zkelect
