#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace zkelect {

// The daemon's effective configuration, after defaults < file < environment
// < flags have been merged and every value validated (see config_loader.h).
// Plain data; constant once the daemon starts.
struct ZkConfig {
  // A ZooKeeper connect string: "host:port[,host:port...][/chroot]".
  std::string servers = "127.0.0.1:2181";
  // Requested session timeout; the server may negotiate another one.
  std::chrono::milliseconds session_timeout{10'000};
  // Digest credentials "user:password" (from `zk.auth = "digest:user:password"`
  // or the file named by `zk.auth_file`); empty for none.
  std::string digest_auth;
  // The file digest_auth was read from (`zk.auth_file`); empty when none.
  std::string auth_file;

  friend bool operator==(const ZkConfig&, const ZkConfig&) = default;
};

struct ElectionConfig {
  // Persistent parent of the candidate nodes; created if missing.
  std::string path = "/zkelect/default";
  // false: observer, reports the leader and never leads.
  bool campaign = true;
  // Period of the full re-read of the candidates (heals missed watches).
  std::chrono::milliseconds recheck_interval{30'000};
  // Design §3 rule 13: among the live candidates the highest leads; a
  // lower-priority node first in line yields its place. 0 to 1000000.
  int64_t priority = 0;
  // Rule 13 with preemption: a leader hands over to a higher-priority
  // candidate registered for preempt_delay (0 to 1h).
  bool preempt = false;
  std::chrono::milliseconds preempt_delay{10'000};

  friend bool operator==(const ElectionConfig&, const ElectionConfig&) = default;
};

struct HttpConfig {
  // One address or more, each "host:port" (host an IP literal or
  // "localhost"; port 0 picks a free one) or "unix:/absolute/path" (a
  // Unix-domain socket). Never empty.
  std::vector<std::string> listen = {"127.0.0.1:4040"};
  // Permission bits of the socket files of `unix:` listeners.
  unsigned socket_mode = 0660;
  // DNS names accepted in the Host header besides "localhost", lower-cased.
  std::vector<std::string> allowed_hosts;
  // File holding the bearer token required by POST endpoints; empty for none.
  std::string token_file;
  // The token read from token_file (surrounding whitespace trimmed); empty
  // when token_file is empty, never empty otherwise. A secret: never logged.
  std::string token;
  // Long-poll: most requests parked at once; default and maximum `wait`.
  int max_waiters = 64;
  std::chrono::milliseconds default_wait{60'000};
  std::chrono::milliseconds max_wait{600'000};

  friend bool operator==(const HttpConfig&, const HttpConfig&) = default;
};

// Commands run when the role changes (design §5). Each is an argv, run
// directly (no shell); empty means none.
struct HooksConfig {
  enum class StartFailure { kResign, kIgnore };
  std::vector<std::string> on_start;
  std::vector<std::string> on_stop;
  std::vector<std::string> on_change;
  // Then SIGTERM to the hook's process group, SIGKILL after kill_grace.
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds kill_grace{5'000};
  StartFailure start_failure = StartFailure::kResign;
  bool operator==(const HooksConfig&) const = default;
};

// Local health gating: an unhealthy application withdraws from the election.
struct HealthConfig {
  std::vector<std::string> command;  // healthy when it exits 0 within timeout
  std::string http;                  // healthy when GET answers 2xx within timeout
  std::chrono::milliseconds interval{5'000};
  std::chrono::milliseconds timeout{2'000};
  int rise = 2;  // consecutive successes to become healthy
  int fall = 3;  // consecutive failures to become unhealthy
  bool enabled() const { return !command.empty() || !http.empty(); }
  bool operator==(const HealthConfig&) const = default;
};

// The leader-only child of `zkelect run -- CMD ARGS...`.
struct ChildConfig {
  enum class OnExit { kResign, kRestart };
  std::vector<std::string> command;              // from the command line after `--`
  OnExit on_exit = OnExit::kResign;              // when it exits by itself while leading
  std::chrono::milliseconds stop_grace{10'000};  // SIGTERM, then SIGKILL
  bool operator==(const ChildConfig&) const = default;
};

struct LogConfig {
  enum class Format { kText, kJson };
  std::string level = "info";  // trace, debug, info, warn, error
  Format format = Format::kText;

  friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

struct Config {
  // This candidate's id, published in its node; default: the host name.
  std::string id;
  // What followers should use to reach the leader's application.
  std::string address;
  // Free-form key/value pairs published with the id (the `[meta]` table).
  std::map<std::string, std::string> meta;
  // Where maintenance mode persists across restarts (design §6); empty: not
  // persisted. Must exist and be writable at start.
  std::string state_dir;
  ZkConfig zk;
  ElectionConfig election;
  HttpConfig http;
  HooksConfig hooks;
  HealthConfig health;
  ChildConfig child;
  LogConfig log;

  friend bool operator==(const Config&, const Config&) = default;
};

}  // namespace zkelect
