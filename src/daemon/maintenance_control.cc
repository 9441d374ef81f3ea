#include "zkelect/daemon/maintenance_control.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "zkelect/common/clock.h"
#include "zkelect/daemon/maintenance_store.h"

namespace zkelect {

MaintenanceControl::MaintenanceControl(ElectionControl& election, MaintenanceStore& store,
                                       const Clock& clock, bool campaign)
    : election_(election), clock_(clock), campaign_(campaign), store_(store) {}

void MaintenanceControl::Resign(std::chrono::milliseconds hold,
                                std::function<void(ResignOutcome)> done) {
  election_.Resign(hold, std::move(done));
}

void MaintenanceControl::SetMaintenance(bool on, std::function<void(ResignOutcome)> done) {
  if (!campaign_) {
    done(ResignOutcome::kObserver);
    return;
  }
  MutexLock lock(&mu_);
  if (shutting_down_) {
    done(ResignOutcome::kShuttingDown);
    return;
  }
  if (store_.state().maintenance != on) {
    MaintenanceState next;
    next.maintenance = on;
    if (on) next.since = clock_.WallNow();
    if (Status saved = store_.Save(next); !saved.ok()) {
      spdlog::error("{}; {} refused", saved.message(), on ? "withdraw" : "join");
      done(ResignOutcome::kNotSaved);
      return;
    }
  }
  election_.SetMaintenance(on, std::move(done));  // posted under mu_: in the file's order
}

void MaintenanceControl::BeginShutdown() {
  MutexLock lock(&mu_);
  shutting_down_ = true;
}

void MaintenanceControl::ReadNodeData(
    std::vector<std::string> nodes,
    std::function<void(const std::string& node, std::optional<std::string> data)> done) {
  election_.ReadNodeData(std::move(nodes), std::move(done));
}

bool MaintenanceControl::IsResponsive() const { return election_.IsResponsive(); }

}  // namespace zkelect
