#pragma once

#include "zkelect/config/config.h"

namespace zkelect {

// The `zkelect run` daemon: wires the pieces of design §2 (ZooKeeper client,
// recipe, election loop, state board, HTTP server) and runs until SIGTERM or
// SIGINT.
//
// Shutdown: the first signal makes the recipe leave the election (stop,
// delete our node, close the session) within a bounded time, then the HTTP
// server and the loop stop and Run() returns 0. A second signal during that
// exits the process at once. SIGHUP is logged and ignored (reload is not
// supported yet).
//
// As PID 1 (a container), Run() first splits the process in two
// (InitShim): PID 1 reaps orphans and forwards signals, its child runs the
// daemon.
class Daemon {
 public:
  explicit Daemon(Config config);
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs in the calling (main) thread, which must be the process's only
  // thread; returns the process exit code: 0 after a clean shutdown, 1 when
  // the daemon cannot start (e.g. the HTTP address is taken); as PID 1, the
  // daemon's.
  int Run();

 private:
  const Config config_;
};

}  // namespace zkelect
