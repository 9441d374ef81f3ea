#pragma once

#include <functional>
#include <string>
#include <vector>

#include "zkelect/common/mutex.h"
#include "zkelect/common/status.h"
#include "zkelect/config/config.h"
#include "zkelect/election/snapshot.h"

namespace zkelect {

class Clock;
struct Metrics;

// Live reload (design §6 "Reload", SIGHUP): loads the configuration again as
// at start, refuses it whole or applies it whole, and keeps the outcome for
// /status and /metrics.
//
// A reload builds the new Config completely (every value validated by the
// loader), then compares it with the running one (DiffForReload: a change
// to a key that needs a restart refuses it), and only then applies it, in
// one call of the Applier. Refused, nothing is applied and the running
// configuration stays whole.
//
// Threading: Reload() and running() are for one thread at a time, the
// owner of reloads (the daemon's main thread, which handles signals one
// after another: that serializes reloads). View() may be called from any
// thread.
class ConfigReloader {
 public:
  // Loads the configuration as at start (file, environment, the command
  // line's flags); warnings go to *warnings.
  using Loader = std::function<Result<Config>(std::vector<std::string>* warnings)>;
  // Applies a validated configuration of which the keys `changed` differ
  // from the running one (never empty). Cannot fail.
  using Applier = std::function<void(const Config& next, const std::vector<std::string>& changed)>;

  // `metrics` and `clock` must outlive the reloader. `running` is the
  // configuration the daemon started with (generation 1).
  ConfigReloader(Config running, Loader load, Applier apply, Metrics& metrics, const Clock& clock);
  ConfigReloader(const ConfigReloader&) = delete;
  ConfigReloader& operator=(const ConfigReloader&) = delete;

  // One reload. Refused (a bad value, or a key that needs a restart): one
  // warning line "configuration reload refused: <key> = <value> ...: <what
  // was expected>" (secrets masked), and that line is returned as
  // InvalidArgument. Otherwise the changes are applied (none when nothing
  // changed), the generation grows by one, and one info line names the keys
  // that changed. The leader-only command (`run -- CMD`) comes from the
  // command line and is kept. Either way View() shows the outcome at once;
  // Count() counts it.
  Status Reload() EXCLUDES(mu_);

  // Counts the outcome of a Reload() in zkelect_config_reloads_total{result}.
  // Apart from Reload() so that the owner can count a reload only once
  // /status shows it: a client that sees the count move must find that
  // reload in /status (the daemon counts on the election loop, after the
  // loop republished its snapshot). Any thread.
  void Count(const Status& outcome);

  // The configuration in force. Owner thread only.
  const Config& running() const { return running_; }

  // Generation and last outcome, for /status. Any thread.
  ConfigView View() const EXCLUDES(mu_);

 private:
  void Record(const Status& outcome) EXCLUDES(mu_);

  // Constant after construction.
  const Loader load_;
  const Applier apply_;
  Metrics& metrics_;
  const Clock& clock_;

  // Owner thread only.
  Config running_;

  mutable Mutex mu_;
  ConfigView view_ GUARDED_BY(mu_);
};

}  // namespace zkelect
