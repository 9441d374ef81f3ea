#include "zkelect/election/candidate_names.h"

#include <algorithm>
#include <array>
#include <random>

namespace zkelect {
namespace {
constexpr size_t kSequenceDigits = 10;
}  // namespace

std::string CandidatePrefix(std::string_view uuid) { return "_c_" + std::string(uuid) + "-latch-"; }

std::optional<int64_t> CandidateSequence(std::string_view name) {
  if (name.size() < kSequenceDigits) return std::nullopt;
  int64_t value = 0;
  for (char c : name.substr(name.size() - kSequenceDigits)) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::vector<std::string> SortCandidates(const std::vector<std::string>& children) {
  std::vector<std::pair<int64_t, const std::string*>> keyed;
  keyed.reserve(children.size());
  for (const std::string& child : children) {
    if (auto seq = CandidateSequence(child)) keyed.emplace_back(*seq, &child);
  }
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : *a.second < *b.second;
  });
  std::vector<std::string> sorted;
  sorted.reserve(keyed.size());
  for (const auto& [seq, name] : keyed) sorted.push_back(*name);
  return sorted;
}

bool IsCandidateOf(std::string_view name, std::string_view uuid) {
  std::string prefix = CandidatePrefix(uuid);
  return name.size() == prefix.size() + kSequenceDigits && name.starts_with(prefix) &&
         CandidateSequence(name).has_value();
}

std::string NewUuid() {
  static thread_local std::random_device device;
  const auto word = [] { return static_cast<uint64_t>(device()); };
  const uint64_t high = word() << 32 | word();
  const uint64_t low = word() << 32 | word();
  return UuidFromBits(high, low);
}

std::string UuidFromBits(uint64_t high, uint64_t low) {
  std::array<uint8_t, 16> bytes{};
  for (size_t i = 0; i < 8; ++i) {
    bytes[i] = static_cast<uint8_t>(high >> (56 - 8 * i));
    bytes[8 + i] = static_cast<uint8_t>(low >> (56 - 8 * i));
  }
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0x0F]);
  }
  return out;
}

}  // namespace zkelect
