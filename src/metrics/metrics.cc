#include "zkelect/metrics/metrics.h"

#include <array>

#include "zkelect/election/role.h"
#include "zkelect/election/snapshot.h"
#include "zkelect/metrics/prometheus_writer.h"
#include "zkelect/version.h"

namespace zkelect {
namespace {

using Type = PrometheusWriter::Type;

// ZooKeeper replies on loopback take ~0.1-2 ms, across a WAN tens of ms; a
// session in trouble shows in the seconds buckets.
const std::vector<double> kZkBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                       0.05,   0.1,   0.25,   0.5,   1,    2.5};
// Hooks are programs: milliseconds to minutes (hooks.timeout).
const std::vector<double> kHookBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                         1,     2.5,  5,     10,   30,  60,   300};

constexpr std::array kRoles = {Role::kStarting,  Role::kFollower,     Role::kLeader,
                               Role::kWithdrawn, Role::kDisconnected, Role::kObserver};
constexpr std::array kReasons = {Reason::kElected,     Reason::kResigned,   Reason::kDisconnected,
                                 Reason::kExpired,     Reason::kShutdown,   Reason::kUnhealthy,
                                 Reason::kDeleted,     Reason::kHookFailed, Reason::kStarted,
                                 Reason::kConnected,   Reason::kJoined,     Reason::kHoldOver,
                                 Reason::kMaintenance, Reason::kPreempted};

void Gauge(PrometheusWriter& out, std::string_view name, std::string_view help, double value) {
  out.Family(name, help, Type::kGauge);
  out.Sample(name, {}, value);
}

}  // namespace

Metrics::Metrics()
    : transitions("zkelect_transitions_total", "Role changes of this node, by reason.", {"reason"}),
      session_reconnects("zkelect_session_reconnects_total",
                         "Connections re-established after a connection loss, same session.", {}),
      session_expirations("zkelect_session_expirations_total",
                          "Sessions that the ZooKeeper ensemble reported expired.", {}),
      sessions_opened("zkelect_sessions_opened_total",
                      "ZooKeeper sessions opened (the first, and one after each expiry, auth "
                      "failure or session given up after silence).",
                      {}),
      zk_requests("zkelect_zk_requests_total",
                  "ZooKeeper requests completed, by operation and result.", {"op", "result"}),
      zk_request_duration("zkelect_zk_request_duration_seconds",
                          "Time from sending a ZooKeeper request to handling its reply.", {"op"},
                          kZkBounds),
      hook_runs("zkelect_hook_runs_total", "Hook commands run, by hook and result.",
                {"hook", "result"}),
      hook_duration("zkelect_hook_duration_seconds", "How long hook commands ran.", {"hook"},
                    kHookBounds),
      hook_over_budget("zkelect_hook_over_budget_total",
                       "Stop hooks after an involuntary loss that ran past session_timeout/2, "
                       "when another node may already lead.",
                       {}),
      http_requests("zkelect_http_requests_total", "HTTP requests answered, by path and status.",
                    {"path", "code"}),
      config_reloads("zkelect_config_reloads_total",
                     "Configuration reloads (SIGHUP), by result: ok or refused.", {"result"}) {
  for (const Reason reason : kReasons) transitions.Declare({std::string(ReasonName(reason))});
  session_reconnects.Declare({});
  session_expirations.Declare({});
  sessions_opened.Declare({});
  hook_over_budget.Declare({});
  config_reloads.Declare({"ok"});
  config_reloads.Declare({"refused"});
}

void Metrics::NoteServerReply(Clock::TimePoint when) {
  last_server_reply_.store(when.time_since_epoch().count(), std::memory_order_relaxed);
}

std::string Metrics::Render(const Snapshot& snapshot, int http_waiters,
                            Clock::TimePoint now) const {
  PrometheusWriter out;
  out.Family("zkelect_build_info", "Always 1; the version is a label.", Type::kGauge);
  out.Sample("zkelect_build_info", {{"version", kVersion}}, uint64_t{1});

  Gauge(out, "zkelect_is_leader", "1 while this node leads (what /is-leader answers), else 0.",
        snapshot.role == Role::kLeader ? 1 : 0);
  out.Family("zkelect_role", "1 for this node's current role, 0 for the others.", Type::kGauge);
  for (const Role role : kRoles) {
    out.Sample("zkelect_role", {{"role", std::string(RoleName(role))}},
               uint64_t{snapshot.role == role ? 1u : 0u});
  }
  Gauge(out, "zkelect_maintenance",
        "1 while this node is in maintenance (POST /withdraw until POST /join), else 0.",
        snapshot.maintenance_since ? 1 : 0);
  Gauge(out, "zkelect_maintenance_since_seconds",
        "Unix time at which the maintenance began; 0 when not in maintenance.",
        snapshot.maintenance_since
            ? std::chrono::duration<double>(snapshot.maintenance_since->time_since_epoch()).count()
            : 0.0);
  Gauge(out, "zkelect_leader_epoch",
        "The current leader's epoch (its node's czxid, the fencing token); 0 when no leader is "
        "known.",
        snapshot.leader ? static_cast<double>(snapshot.leader->epoch) : 0);
  Gauge(out, "zkelect_candidates", "Candidates in the election, as last listed.",
        static_cast<double>(snapshot.candidates.size()));
  Gauge(out, "zkelect_session_connected", "1 while the ZooKeeper session is connected.",
        snapshot.session.state == "connected" ? 1 : 0);
  const Clock::Duration::rep last = last_server_reply_.load(std::memory_order_relaxed);
  out.Family("zkelect_last_server_response_age_seconds",
             "Seconds since a ZooKeeper server last answered a request (absent before the first "
             "answer).",
             Type::kGauge);
  if (last != 0) {
    const auto age = now - Clock::TimePoint(Clock::Duration(last));
    out.Sample("zkelect_last_server_response_age_seconds", {},
               std::chrono::duration<double>(age).count());
  }
  Gauge(out, "zkelect_http_waiters", "Long-poll requests parked right now.", http_waiters);

  transitions.WriteTo(out);
  session_reconnects.WriteTo(out);
  session_expirations.WriteTo(out);
  sessions_opened.WriteTo(out);
  zk_requests.WriteTo(out);
  zk_request_duration.WriteTo(out);
  hook_runs.WriteTo(out);
  hook_duration.WriteTo(out);
  hook_over_budget.WriteTo(out);
  http_requests.WriteTo(out);
  config_reloads.WriteTo(out);
  return out.text();
}

}  // namespace zkelect
