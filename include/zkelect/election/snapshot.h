#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "zkelect/election/role.h"

namespace zkelect {

// What one candidate node says about itself (design §3 rule 11).
struct NodeIdentity {
  std::string id;
  std::string address;
  // Only string values survive parsing; others are rendered as JSON text.
  std::map<std::string, std::string> meta;
  // election.priority (design §3 rule 13): higher leads first. A node that
  // publishes none (a Curator peer, foreign data) counts as 0.
  int64_t priority = 0;
  bool operator==(const NodeIdentity&) const = default;
};

// The current leader as this daemon knows it.
struct LeaderView {
  NodeIdentity identity;
  std::string node;   // znode name under the election path
  int64_t epoch = 0;  // the leader node's czxid: the fencing token
  // When this daemon first saw this node lead (wall clock).
  std::chrono::system_clock::time_point since;
  bool operator==(const LeaderView&) const = default;
};

struct SessionView {
  std::string state = "connecting";  // connecting, connected, expired, auth_failed, closed
  int64_t session_id = 0;
  std::chrono::milliseconds negotiated_timeout{0};
  std::string servers;
  bool operator==(const SessionView&) const = default;
};

struct TransitionView {
  std::chrono::system_clock::time_point time;
  Role from = Role::kStarting;
  Role to = Role::kStarting;
  Reason reason = Reason::kStarted;
  bool operator==(const TransitionView&) const = default;
};

// The last hook that ran, for /status.
struct HookResultView {
  std::string hook;    // on_start, on_stop, on_change
  std::string reason;  // ZKELECT_REASON it ran with
  bool ok = false;
  std::string result;  // "exit status 0", "timed out after 30s", ...
  std::chrono::milliseconds duration{0};
  std::chrono::system_clock::time_point finished;
  bool operator==(const HookResultView&) const = default;
};

struct HooksView {
  bool configured = false;  // any hook or a leader-only child
  std::optional<std::string> running;
  std::optional<HookResultView> last;
  bool operator==(const HooksView&) const = default;
};

// Local health gating (health.*).
struct HealthView {
  bool enabled = false;
  std::optional<bool> healthy;  // nullopt until the first check
  std::string detail;
  bool operator==(const HealthView&) const = default;
};

// The running configuration and the last live reload (design §6), for
// /status.
struct ConfigView {
  uint64_t generation = 1;  // 1 as started, +1 for each reload applied
  struct Reload {
    std::chrono::system_clock::time_point at;
    bool ok = false;    // false: refused, the running configuration kept
    std::string error;  // why it was refused (one line, no secret); empty when ok
    bool operator==(const Reload&) const = default;
  };
  std::optional<Reload> last_reload;  // nullopt until the first SIGHUP
  bool operator==(const ConfigView&) const = default;
};

// How many role changes a Snapshot keeps in recent_transitions.
inline constexpr size_t kRecentTransitions = 20;

// An immutable picture of the election state, made by the election loop and
// read by HTTP threads through the StateBoard. Everything /status, /leader,
// /is-leader and /readyz answer comes from one Snapshot.
struct Snapshot {
  std::string id;
  Role role = Role::kStarting;
  bool campaign = true;
  int64_t priority = 0;  // this node's election.priority (as last reloaded)
  // election.preempt and its delay; while we lead and a handoff is waiting
  // for the delay, whom it would elect and when.
  struct Preemption {
    bool enabled = false;
    std::chrono::milliseconds delay{0};
    struct Pending {
      std::string node;
      std::string id;
      int64_t priority = 0;
      std::chrono::system_clock::time_point due;
      bool operator==(const Pending&) const = default;
    };
    std::optional<Pending> pending;
    bool operator==(const Preemption&) const = default;
  };
  Preemption preempt;
  SessionView session;
  std::string election_path;
  std::optional<std::string> own_node;
  std::optional<size_t> position;       // 0-based place of own_node in candidates
  std::vector<std::string> candidates;  // node names, leader first
  std::optional<LeaderView> leader;
  // Why there is no leader, when leader is empty: "no_session", "disconnected",
  // "no_candidates", "starting".
  std::string no_leader_reason = "starting";
  std::optional<TransitionView> last_transition;
  // This node's latest role changes, oldest first, at most
  // kRecentTransitions of them (the last is last_transition).
  std::vector<TransitionView> recent_transitions;
  HooksView hooks;
  HealthView health;
  ConfigView config;
  // Set while this node is in maintenance (POST /withdraw, until POST /join):
  // since when (wall clock; kept across restarts with state_dir).
  std::optional<std::chrono::system_clock::time_point> maintenance_since;
  // Session connected, healthy (when gated) and (own node registered,
  // observer, or in maintenance: healthy, only out of the running).
  bool ready = false;
  bool operator==(const Snapshot&) const = default;
};

}  // namespace zkelect
