#pragma once

#include <chrono>
#include <functional>

namespace zkelect {

// What the HTTP layer (and later the client commands) may ask of the running
// election, without touching its state: each call posts an event to the
// election loop. Thread-safe; never blocks.
class ElectionControl {
 public:
  enum class ResignOutcome {
    kDone,          // stop completed, node deleted; rejoins after the hold
    kNotLeader,     // this node does not lead
    kShuttingDown,  // the daemon is exiting
  };

  virtual ~ElectionControl() = default;

  // Asks the leader to step down, delete its node and rejoin at the back of
  // the queue after `hold`. `done` runs once, on the election loop thread,
  // when the outcome is known.
  virtual void Resign(std::chrono::milliseconds hold, std::function<void(ResignOutcome)> done) = 0;

  // True while the election loop has run within the last few seconds
  // (liveness for /healthz).
  virtual bool IsResponsive() const = 0;
};

}  // namespace zkelect
