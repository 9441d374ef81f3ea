#pragma once

#include <atomic>
#include <chrono>

#include "zkelect/common/clock.h"

namespace zkelect::testing {

// A Clock that moves only when a test says so. Thread-safe.
class SimulatedClock final : public Clock {
 public:
  TimePoint Now() const override { return TimePoint(Duration(now_ns_.load())); }
  std::chrono::system_clock::time_point WallNow() const override {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(Duration(now_ns_.load())));
  }
  void Advance(Duration d) { now_ns_ += d.count(); }

 private:
  std::atomic<int64_t> now_ns_{1'000'000'000'000};  // arbitrary non-zero origin
};

}  // namespace zkelect::testing
