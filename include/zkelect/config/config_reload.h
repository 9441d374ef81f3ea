#pragma once

#include <string>
#include <vector>

#include "zkelect/common/status.h"
#include "zkelect/config/config.h"

namespace zkelect {

// What a live reload (design §6 "Reload", SIGHUP) may change, decided by
// comparing the running configuration with a freshly loaded one.
//
// Not reloadable (they need a new session or a new listener, or would change
// this node's role): id, zk.servers, zk.session_timeout, zk.auth,
// zk.auth_file, election.path, election.campaign (a candidate that became an
// observer would leave the election, one that became a candidate would join
// it: a role change, which a reload promises not to make; restart instead)
// and http.listen. Everything else is reloadable.
//
// Returns the keys that differ, in the order of the shipped config file
// ("address", "hooks.on_start", "log.level", ...; the bearer token re-read
// from an unchanged http.token_file shows as "http.token"), empty when
// nothing changed. When a non-reloadable key differs: InvalidArgument with
// one line naming the first such key, the new value, the running one and what
// was expected, e.g.
//   zk.servers = "zk9:2181" (running: "zk1:2181"): expected no change on
//   reload (it needs a restart)
// Secrets (zk.auth, the token) are shown as "***", never echoed.
// Pure function; thread-safe.
Result<std::vector<std::string>> DiffForReload(const Config& running, const Config& next);

}  // namespace zkelect
