#pragma once

#include <chrono>

namespace zkelect {

// A chrono clock over CLOCK_BOOTTIME: monotonic, and it keeps counting while
// the process is stopped (SIGSTOP) or the machine is suspended, so that the
// self-fencing deadline measures what ZooKeeper's servers measure.
struct BootClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<BootClock>;
  static constexpr bool is_steady = true;
  static time_point now() noexcept;
};

// The daemon's source of time, injected into everything time-dependent so that
// tests advance simulated time instead of sleeping.
//  - Now(): BootClock time, for deadlines, timers and backoff.
//  - WallNow(): wall-clock time, only for reporting ("since", transitions).
// Implementations are thread-safe.
class Clock {
 public:
  using TimePoint = BootClock::time_point;
  using Duration = BootClock::duration;

  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  virtual std::chrono::system_clock::time_point WallNow() const = 0;
};

// The real clocks.
class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return BootClock::now(); }
  std::chrono::system_clock::time_point WallNow() const override {
    return std::chrono::system_clock::now();
  }
};

}  // namespace zkelect
