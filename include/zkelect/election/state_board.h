#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <optional>

#include "zkelect/common/clock.h"
#include "zkelect/common/mutex.h"
#include "zkelect/election/snapshot.h"

namespace zkelect {

// The latest Snapshot and a monotonically increasing index, bumped on every
// visible change (design §2). The election loop publishes; HTTP threads read
// and park long-polls here without ever touching the loop.
//
// Thread-safe.
class StateBoard {
 public:
  // A snapshot and the index it was published under.
  struct View {
    std::shared_ptr<const Snapshot> snapshot;
    uint64_t index = 0;
  };

  // `clock` (default: the system clock) checks leader leases; it must
  // outlive the board.
  explicit StateBoard(Snapshot initial, const Clock* clock = nullptr);
  StateBoard(const StateBoard&) = delete;
  StateBoard& operator=(const StateBoard&) = delete;

  View Current() const EXCLUDES(mu_);

  // Stores `next` and bumps the index if it differs from the current
  // snapshot; wakes every waiter. Returns true when something changed.
  //
  // `lease`: for a snapshot in which this node leads, the self-fencing
  // deadline (design §3 rule 7). Readers after it see this node as
  // disconnected, whether or not a newer snapshot came: a process that was
  // paused (SIGSTOP, VM freeze) must not answer "leader" to requests it
  // serves before its election loop has run again.
  bool Publish(Snapshot next, std::optional<Clock::TimePoint> lease = std::nullopt) EXCLUDES(mu_);

  // Blocks until the index exceeds `after`, `deadline` passes or Close() is
  // called; returns the view at that moment.
  View WaitForChange(uint64_t after, std::chrono::steady_clock::time_point deadline) const
      EXCLUDES(mu_);

  // Wakes every waiter for good (shutdown); later waits return at once.
  void Close() EXCLUDES(mu_);

 private:
  // The view readers get: `snapshot_`, or its fenced copy past the lease.
  View Visible() const REQUIRES(mu_);

  const Clock& clock_;
  mutable Mutex mu_;
  mutable std::condition_variable changed_;
  std::shared_ptr<const Snapshot> snapshot_ GUARDED_BY(mu_);
  uint64_t index_ GUARDED_BY(mu_) = 1;
  std::optional<Clock::TimePoint> lease_ GUARDED_BY(mu_);
  mutable std::shared_ptr<const Snapshot> fenced_ GUARDED_BY(mu_);  // made on demand
  bool closed_ GUARDED_BY(mu_) = false;
};

}  // namespace zkelect
