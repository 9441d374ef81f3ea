#include "zkelect/daemon/config_reloader.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "zkelect/common/clock.h"
#include "zkelect/config/config_reload.h"
#include "zkelect/metrics/metrics.h"

namespace zkelect {
namespace {

std::string Join(const std::vector<std::string>& keys) {
  std::string out;
  for (const std::string& key : keys) out += (out.empty() ? "" : ", ") + key;
  return out;
}

}  // namespace

ConfigReloader::ConfigReloader(Config running, Loader load, Applier apply, Metrics& metrics,
                               const Clock& clock)
    : load_(std::move(load)),
      apply_(std::move(apply)),
      metrics_(metrics),
      clock_(clock),
      running_(std::move(running)) {}

Status ConfigReloader::Reload() {
  std::vector<std::string> warnings;
  Result<Config> loaded = load_(&warnings);
  for (const std::string& warning : warnings) spdlog::warn("configuration: {}", warning);
  Status outcome = loaded.status();
  std::vector<std::string> changed;
  if (outcome.ok()) {
    loaded.value().child.command = running_.child.command;  // from the command line
    Result<std::vector<std::string>> diff = DiffForReload(running_, *loaded);
    outcome = diff.status();
    if (diff.ok()) changed = std::move(diff).value();
  }
  if (!outcome.ok()) {
    spdlog::warn("configuration reload refused: {}; the running configuration is kept",
                 outcome.message());
    Record(outcome);
    return Status::InvalidArgument(outcome.message());
  }
  if (!changed.empty()) apply_(*loaded, changed);
  running_ = std::move(loaded).value();
  Record(outcome);
  if (changed.empty()) {
    spdlog::info("configuration reloaded (generation {}): nothing changed", View().generation);
  } else {
    spdlog::info("configuration reloaded (generation {}): changed {}", View().generation,
                 Join(changed));
  }
  return Status::Ok();
}

void ConfigReloader::Count(const Status& outcome) {
  metrics_.config_reloads.Increment({outcome.ok() ? "ok" : "refused"});
}

void ConfigReloader::Record(const Status& outcome) {
  MutexLock lock(&mu_);
  if (outcome.ok()) ++view_.generation;
  view_.last_reload = ConfigView::Reload{clock_.WallNow(), outcome.ok(), outcome.message()};
}

ConfigView ConfigReloader::View() const {
  MutexLock lock(&mu_);
  return view_;
}

}  // namespace zkelect
