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
  // The outcome of a resign, a withdraw or a join.
  enum class ResignOutcome {
    kDone,          // resign/withdraw: stop completed, node deleted (a resign
                    // rejoins after the hold); join: registered (or waiting
                    // for health, when gated and unhealthy)
    kNotLeader,     // resign: this node does not lead
    kObserver,      // withdraw/join: an observer (campaign = false) has no place
    kNotSaved,      // withdraw/join: state_dir could not be written; nothing changed
    kCancelled,     // resign/withdraw: a join ended the maintenance before the node was gone
    kShuttingDown,  // the daemon is exiting
  };

  virtual ~ElectionControl() = default;

  // Asks the leader to step down, delete its node and rejoin at the back of
  // the queue after `hold`. `done` runs once, on the election loop thread,
  // when the outcome is known.
  virtual void Resign(std::chrono::milliseconds hold, std::function<void(ResignOutcome)> done) = 0;

  // Maintenance (design §4): `on` leaves the election (a leader by an
  // ordered handoff: stop hook, then delete) and stays out, following the
  // leader, until called with `on` false, which rejoins at the back. Persisted
  // first where the implementation has a state_dir. `done` runs once, on the
  // election loop thread (or the caller's, when answered at once): kDone
  // once ZooKeeper confirmed the delete (on) or the node is registered (off).
  // Idempotent.
  virtual void SetMaintenance(bool on, std::function<void(ResignOutcome)> done) = 0;

  // Reads the data of each of `nodes` (candidate names under the election
  // path) once, without a watch, and passes it to `done`, once per node, on
  // the election loop thread: the node's data, or nullopt when it could not
  // be read (no connected session, node gone, no permission, connection
  // lost). A reply that the session never gives (it was replaced meanwhile)
  // never calls `done`. Only for /status: never called on the path of a
  // leader change.
  virtual void ReadNodeData(
      std::vector<std::string> nodes,
      std::function<void(const std::string& node, std::optional<std::string> data)> done) = 0;

  // True while the election loop has run (or, before its first iteration,
  // was created) within the last few seconds (liveness for /healthz).
  virtual bool IsResponsive() const = 0;
};

}  // namespace zkelect
