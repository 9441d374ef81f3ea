#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "zkelect/election/candidate_id_cache.h"

namespace zkelect {

struct Snapshot;

// The JSON bodies of the HTTP API (design §4), one function per answer. The
// HTTP status that goes with each body is the caller's business.
//
// Strings that came from ZooKeeper (other candidates' ids, addresses, meta,
// node names) may hold any bytes: control characters are escaped and bytes
// that are not UTF-8 are replaced by U+FFFD, so every body is valid JSON.
//
// Pure functions of their arguments; thread-safe.

// /leader: `{"leader": {id, address, meta, node, epoch, since}, "is_self",
// "index"}` when snapshot.leader is set, else `{"leader": null, "reason",
// "index"}` (the reason is snapshot.no_leader_reason).
std::string LeaderBody(const Snapshot& snapshot, uint64_t index);

// The HTTP server's own state shown in /status.
struct HttpStats {
  int waiters = 0;      // long-polls parked now
  int max_waiters = 0;  // http.max_waiters
};

// /status: this node's whole view (id, role, campaign, session, election,
// leader, last_transition, recent_transitions (newest first), hooks, health,
// maintenance {active, since}, http, ready, index, version).
// election.candidate_ids has one object per candidate, in the order of
// election.candidates: {"node", "id", "address", "id_state"}, id_state one
// of "known", "pending", "unreadable", "not_read" (CandidateId::State); id
// and address are null unless "known". `ids` shorter than the candidates:
// the rest are pending.
std::string StatusBody(const Snapshot& snapshot, uint64_t index, std::string_view version,
                       const HttpStats& http = {}, const CandidateIds& ids = {});

// /is-leader: `{"leader": true, "index"}` on the leader, else
// `{"leader": false, "role", "index"}`.
std::string IsLeaderBody(const Snapshot& snapshot, uint64_t index);

// /readyz: `{"ready", "role", "session", "index"}`, plus a snake_case
// `"reason"` when not ready (`session_<state>`, `withdrawn`, `not_registered`).
std::string ReadyBody(const Snapshot& snapshot, uint64_t index);

// /healthz: `{"status": "ok"}` or `{"status": "unresponsive"}`.
std::string HealthBody(bool responsive);

// POST /resign, done: `{"resigned": true, "hold_ms"}`.
std::string ResignedBody(std::chrono::milliseconds hold);

// POST /withdraw and /join, done: `{"maintenance": true}` (or false).
std::string MaintenanceBody(bool on);

// Every error: `{"error": {"code": <snake_case>, "message": <sentence>}}`.
std::string ErrorBody(std::string_view code, std::string_view message);

// RFC 3339 in UTC with milliseconds: "2024-05-01T12:34:56.789Z".
std::string FormatTimestamp(std::chrono::system_clock::time_point time);

// A ZooKeeper session id as ZooKeeper's own logs show it: "0x1000a3b2c0001".
std::string FormatSessionId(int64_t session_id);

}  // namespace zkelect
