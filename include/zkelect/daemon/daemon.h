#pragma once

#include "zkelect/config/config.h"
#include "zkelect/daemon/config_reloader.h"

namespace zkelect {

// The `zkelect run` daemon: wires the pieces of design §2 (ZooKeeper client,
// recipe, election loop, state board, HTTP server) and runs until SIGTERM or
// SIGINT.
//
// Shutdown: the first signal makes the recipe leave the election (stop,
// delete our node, close the session) within a bounded time, then the HTTP
// server and the loop stop and Run() returns 0. A second signal during that
// exits the process at once.
//
// SIGHUP reloads the configuration (design §6, ConfigReloader): `reload`
// loads it again as at start, and what may change is applied without
// leaving the election: hooks, health, log, HTTP limits, allowed hosts, the
// token, the recheck interval, and address and meta (our node's data is
// rewritten). A change that needs a restart, or a bad value, refuses the
// whole reload with one line; the daemon runs on unchanged.
//
// As PID 1 (a container), Run() first splits the process in two
// (InitShim): PID 1 reaps orphans and forwards signals, its child runs the
// daemon.
class Daemon {
 public:
  // `config` is the configuration loaded at start; `reload` loads it again
  // the same way (on the main thread, at each SIGHUP).
  Daemon(Config config, ConfigReloader::Loader reload);
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs in the calling (main) thread, which must be the process's only
  // thread; returns the process exit code: 0 after a clean shutdown, 1 when
  // the daemon cannot start (e.g. the HTTP address is taken); as PID 1, the
  // daemon's.
  int Run();

 private:
  const Config config_;
  const ConfigReloader::Loader reload_;
};

}  // namespace zkelect
