#pragma once

#include <chrono>

#include "zkelect/common/clock.h"

namespace zkelect::sim {

// Virtual time for every daemon of a simulation: it moves only when the
// EventQueue runs the next event (Set), never by itself. Both Now() and
// WallNow() derive from it, so that nothing a daemon reports depends on the
// host's clocks.
//
// Not thread-safe: the simulator is single-threaded.
class SimClock final : public Clock {
 public:
  // The instant a simulation starts: arbitrary, far from zero (so that
  // "time_point{}" never passes for a real instant).
  static constexpr Duration kOrigin = std::chrono::hours(1000);

  TimePoint Now() const override { return now_; }
  std::chrono::system_clock::time_point WallNow() const override {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(now_.time_since_epoch()));
  }

  // Moves time to `t`; time never goes back (the queue guarantees it).
  void Set(TimePoint t) { now_ = t; }

  // Virtual time since the simulation began.
  Duration Elapsed() const { return now_.time_since_epoch() - kOrigin; }

 private:
  TimePoint now_{kOrigin};
};

}  // namespace zkelect::sim
