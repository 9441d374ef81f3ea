#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
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

  // What a waiter waits for: a /leader long-poll is for a new leader, not
  // for every change of the view (README "Long-poll"). Each topic has its own
  // condition variable, so that a change wakes only the waiters it concerns:
  // a leader change moves the index several times on a follower (candidates,
  // position, then the leader), and a thousand parked /leader polls must not
  // wake, answer and come back for each step.
  enum class Topic {
    kAny,     // every change
    kLeader,  // what /leader shows: the leader (or why there is none) and
              // whether it is this node
    kRole,    // what /is-leader shows: this node's role
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

  // Blocks until `topic` changes under an index past `after`, `deadline`
  // passes or Close() is called; returns the view at that moment (its index
  // may exceed `after` without a change of `topic` when the wait ends
  // otherwise, or when `after` was older than the topic's last change).
  View WaitForChange(uint64_t after, std::chrono::steady_clock::time_point deadline,
                     Topic topic = Topic::kAny) const EXCLUDES(mu_);

  // Wakes every waiter for good (shutdown); later waits return at once.
  void Close() EXCLUDES(mu_);

  static constexpr size_t kTopics = 3;

  // The index of each topic's last change, and whether the board is closed:
  // what decides whether a wait for (`after`, `topic`) is over.
  struct Changes {
    std::array<uint64_t, kTopics> at{};  // by Topic
    bool closed = false;
    bool Past(uint64_t after, Topic topic) const {
      return closed || at[static_cast<size_t>(topic)] > after;
    }
  };
  Changes LastChanges() const EXCLUDES(mu_);

  // For waiters that do not block a thread here (the HTTP server's parked
  // long-polls): `listener` runs after every change and on Close(), on the
  // publishing thread and under the board's lock, so it must be quick and
  // must not call the board. Replaces an earlier listener; an empty one
  // removes it.
  void SetChangeListener(std::function<void()> listener) const EXCLUDES(mu_);

 private:
  // The view readers get: `snapshot_`, or its fenced copy past the lease.
  View Visible() const REQUIRES(mu_);
  // Whether `topic` differs between two snapshots.
  static bool Changed(Topic topic, const Snapshot& before, const Snapshot& after);

  const Clock& clock_;
  mutable Mutex mu_;
  mutable std::array<std::condition_variable, kTopics> changed_;  // by Topic
  std::shared_ptr<const Snapshot> snapshot_ GUARDED_BY(mu_);
  uint64_t index_ GUARDED_BY(mu_) = 1;
  // By Topic: the index of its last change.
  std::array<uint64_t, kTopics> changed_at_ GUARDED_BY(mu_) = {1, 1, 1};
  std::optional<Clock::TimePoint> lease_ GUARDED_BY(mu_);
  mutable std::shared_ptr<const Snapshot> fenced_ GUARDED_BY(mu_);  // made on demand
  bool closed_ GUARDED_BY(mu_) = false;
  mutable std::function<void()> listener_ GUARDED_BY(mu_);
};

}  // namespace zkelect
