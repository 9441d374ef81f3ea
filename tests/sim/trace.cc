#include "sim/trace.h"

#include <spdlog/fmt/fmt.h>

#include <chrono>

namespace zkelect::sim {

void Trace::Add(std::string_view line) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_.Elapsed()).count();
  std::string& slot = ring_[count_ % ring_.size()];
  slot.clear();
  fmt::format_to(std::back_inserter(slot), "{:>7}.{:06} {}", us / 1'000'000, us % 1'000'000, line);
  for (const char c : slot) {
    hash_ ^= static_cast<unsigned char>(c);
    hash_ *= 0x100000001b3ULL;
  }
  ++count_;
}

std::string Trace::Tail() const {
  std::string out;
  const uint64_t n = std::min<uint64_t>(count_, ring_.size());
  for (uint64_t i = count_ - n; i < count_; ++i) {
    out += ring_[i % ring_.size()];
    out += '\n';
  }
  return out;
}

}  // namespace zkelect::sim
