#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "zkelect/common/mutex.h"
#include "zkelect/election/election_control.h"

namespace zkelect {

class Clock;
class MaintenanceStore;

// The ElectionControl the HTTP layer talks to in the daemon: forwards to
// `election` (the election loop), and persists maintenance in `store` before
// the recipe hears of it, so that a withdraw's or a join's 200 always comes
// after the state file says so (design §6 state_dir).
//
// Thread-safe: SetMaintenance() serializes the save and the post, so the
// loop sees the changes in the order in which the file had them.
class MaintenanceControl final : public ElectionControl {
 public:
  // `election`, `store` and `clock` must outlive this. `campaign` false: an
  // observer, whose withdraw and join are refused (kObserver).
  MaintenanceControl(ElectionControl& election, MaintenanceStore& store, const Clock& clock,
                     bool campaign);
  MaintenanceControl(const MaintenanceControl&) = delete;
  MaintenanceControl& operator=(const MaintenanceControl&) = delete;

  // ElectionControl:
  void Resign(std::chrono::milliseconds hold, std::function<void(ResignOutcome)> done) override;
  // Saves the state first (unless it is the stored one already); a save that
  // fails answers kNotSaved, logs the error line, and changes nothing.
  void SetMaintenance(bool on, std::function<void(ResignOutcome)> done) override;
  void ReadNodeData(std::vector<std::string> nodes,
                    std::function<void(const std::string& node, std::optional<std::string> data)>
                        done) override;
  bool IsResponsive() const override;

  // From now on SetMaintenance() answers kShuttingDown and leaves the state
  // file alone: the election refuses any change once it is leaving, and a
  // refused change must not be the state of the next start. Call it before
  // the election loop's shutdown is posted; every change saved before it
  // reaches the loop ahead of that shutdown.
  void BeginShutdown();

 private:
  ElectionControl& election_;
  const Clock& clock_;
  const bool campaign_;

  Mutex mu_;
  MaintenanceStore& store_ GUARDED_BY(mu_);
  bool shutting_down_ GUARDED_BY(mu_) = false;
};

}  // namespace zkelect
