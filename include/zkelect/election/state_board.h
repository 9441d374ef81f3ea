#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>

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

  explicit StateBoard(Snapshot initial);
  StateBoard(const StateBoard&) = delete;
  StateBoard& operator=(const StateBoard&) = delete;

  View Current() const EXCLUDES(mu_);

  // Stores `next` and bumps the index if it differs from the current
  // snapshot; wakes every waiter. Returns true when something changed.
  bool Publish(Snapshot next) EXCLUDES(mu_);

  // Blocks until the index exceeds `after`, `deadline` passes or Close() is
  // called; returns the view at that moment.
  View WaitForChange(uint64_t after, std::chrono::steady_clock::time_point deadline) const
      EXCLUDES(mu_);

  // Wakes every waiter for good (shutdown); later waits return at once.
  void Close() EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  mutable std::condition_variable changed_;
  std::shared_ptr<const Snapshot> snapshot_ GUARDED_BY(mu_);
  uint64_t index_ GUARDED_BY(mu_) = 1;
  bool closed_ GUARDED_BY(mu_) = false;
};

}  // namespace zkelect
