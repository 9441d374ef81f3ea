#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

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

  // Reads the data of each of `nodes` (candidate names under the election
  // path) once, without a watch, and passes it to `done` on the election loop
  // thread: the node's data, or nullopt when it could not be read (no
  // connected session, node gone, connection lost). A reply that the
  // session never gives (it was replaced meanwhile) never calls `done`.
  virtual void ReadNodeData(
      std::vector<std::string> nodes,
      std::function<void(const std::string& node, std::optional<std::string> data)> done) = 0;

  // True while the election loop has run within the last few seconds
  // (liveness for /healthz).
  virtual bool IsResponsive() const = 0;
};

}  // namespace zkelect
