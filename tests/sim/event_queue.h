#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

#include "sim/sim_clock.h"

namespace zkelect::sim {

// The simulation's agenda: callbacks ordered by (virtual time, insertion
// sequence), so that two events at the same instant run in the order they
// were scheduled and a run depends on nothing but its seed. Running an event
// first moves the SimClock to its time.
//
// An event is never cancelled; an owner that may no longer want it checks a
// token of its own when it runs (cheaper than removal from a heap).
//
// Not thread-safe.
class EventQueue {
 public:
  using TimePoint = Clock::TimePoint;

  explicit EventQueue(SimClock& clock) : clock_(clock) {}
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Runs `event` at `when` (not before the current time: an earlier `when`
  // means now).
  void At(TimePoint when, std::function<void()> event);
  // Runs `event` `delay` from now.
  void After(Clock::Duration delay, std::function<void()> event) {
    At(clock_.Now() + delay, std::move(event));
  }

  // Runs the earliest event; false when none is left.
  bool RunNext();

  bool empty() const { return heap_.empty(); }
  // Events run so far.
  uint64_t executed() const { return executed_; }
  const SimClock& clock() const { return clock_; }

 private:
  struct Entry {
    TimePoint when;
    uint64_t seq;
    // Index into events_ (the heap moves small entries, not closures).
    size_t slot;
    bool operator>(const Entry& other) const {
      return when != other.when ? when > other.when : seq > other.seq;
    }
  };

  SimClock& clock_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
  std::vector<std::function<void()>> events_;
  std::vector<size_t> free_slots_;
  uint64_t next_seq_ = 0;
  uint64_t executed_ = 0;
};

}  // namespace zkelect::sim
