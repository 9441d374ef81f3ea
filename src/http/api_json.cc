#include "zkelect/http/api_json.h"

#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "zkelect/election/snapshot.h"

namespace zkelect {
namespace {

// Ordered, so that fields come out in the order the API documents them.
using Json = nlohmann::ordered_json;

// Never throws on bytes that are not UTF-8: they become U+FFFD.
std::string Dump(const Json& body) {
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json LeaderObject(const LeaderView& leader) {
  Json meta = Json::object();
  for (const auto& [key, value] : leader.identity.meta) meta[key] = value;
  return Json{{"id", leader.identity.id},
              {"address", leader.identity.address},
              {"meta", std::move(meta)},
              {"node", leader.node},
              {"epoch", leader.epoch},
              {"since", FormatTimestamp(leader.since)},
              {"priority", leader.identity.priority}};
}

Json OptionalLeader(const Snapshot& snapshot) {
  return snapshot.leader ? LeaderObject(*snapshot.leader) : Json(nullptr);
}

// "is_self" needs both the node name and the role, so that /leader never
// calls this node the leader while /is-leader says it is not (for instance
// while the loop steps down after a disconnect).
bool IsSelf(const Snapshot& snapshot) {
  return snapshot.role == Role::kLeader && snapshot.leader && snapshot.own_node &&
         snapshot.leader->node == *snapshot.own_node;
}

Json TransitionObject(const TransitionView& transition) {
  return Json{{"time", FormatTimestamp(transition.time)},
              {"from", RoleName(transition.from)},
              {"to", RoleName(transition.to)},
              {"reason", ReasonName(transition.reason)}};
}

// Newest first.
Json RecentTransitions(const Snapshot& snapshot) {
  Json list = Json::array();
  for (auto it = snapshot.recent_transitions.rbegin(); it != snapshot.recent_transitions.rend();
       ++it) {
    list.push_back(TransitionObject(*it));
  }
  return list;
}

const char* IdStateName(CandidateId::State state) {
  switch (state) {
    case CandidateId::State::kKnown:
      return "known";
    case CandidateId::State::kPending:
      return "pending";
    case CandidateId::State::kUnreadable:
      return "unreadable";
    case CandidateId::State::kNotRead:
      return "not_read";
  }
  return "pending";
}

Json CandidateIdList(const std::vector<std::string>& candidates, const CandidateIds& ids) {
  Json list = Json::array();
  for (size_t i = 0; i < candidates.size(); ++i) {
    const CandidateId shown = i < ids.size() ? ids[i] : CandidateId{};
    const bool known = shown.state == CandidateId::State::kKnown;
    list.push_back(Json{{"node", candidates[i]},
                        {"id", known ? Json(shown.id) : Json(nullptr)},
                        {"address", known ? Json(shown.address) : Json(nullptr)},
                        {"id_state", IdStateName(shown.state)}});
  }
  return list;
}

std::string NotReadyReason(const Snapshot& snapshot) {
  if (snapshot.session.state != "connected") return "session_" + snapshot.session.state;
  if (snapshot.health.enabled && snapshot.health.healthy != true) return "unhealthy";
  if (snapshot.role == Role::kWithdrawn) return "withdrawn";
  return "not_registered";
}

Json HooksObject(const HooksView& hooks) {
  Json last = nullptr;
  if (hooks.last) {
    last = Json{{"hook", hooks.last->hook},
                {"reason", hooks.last->reason},
                {"ok", hooks.last->ok},
                {"result", hooks.last->result},
                {"duration_ms", hooks.last->duration.count()},
                {"finished", FormatTimestamp(hooks.last->finished)}};
  }
  return Json{{"configured", hooks.configured},
              {"running", hooks.running ? Json(*hooks.running) : Json(nullptr)},
              {"last", std::move(last)}};
}

Json HealthObject(const HealthView& health) {
  if (!health.enabled) return Json{{"enabled", false}};
  return Json{{"enabled", true},
              {"healthy", health.healthy ? Json(*health.healthy) : Json(nullptr)},
              {"detail", health.detail}};
}

// {generation, last_reload: null | {at, result: "ok"|"refused", error}}.
Json ConfigObject(const ConfigView& config) {
  Json last = nullptr;
  if (config.last_reload) {
    last = Json{{"at", FormatTimestamp(config.last_reload->at)},
                {"result", config.last_reload->ok ? "ok" : "refused"},
                {"error", config.last_reload->error}};
  }
  return Json{{"generation", config.generation}, {"last_reload", std::move(last)}};
}

Json PreemptObject(const Snapshot::Preemption& preempt) {
  Json pending = nullptr;
  if (preempt.pending) {
    pending = Json{{"node", preempt.pending->node},
                   {"id", preempt.pending->id},
                   {"priority", preempt.pending->priority},
                   {"due", FormatTimestamp(preempt.pending->due)}};
  }
  return Json{{"enabled", preempt.enabled},
              {"delay_ms", preempt.delay.count()},
              {"pending", std::move(pending)}};
}

}  // namespace

std::string LeaderBody(const Snapshot& snapshot, uint64_t index) {
  if (!snapshot.leader) {
    return Dump(Json{{"leader", nullptr}, {"reason", snapshot.no_leader_reason}, {"index", index}});
  }
  return Dump(Json{
      {"leader", LeaderObject(*snapshot.leader)}, {"is_self", IsSelf(snapshot)}, {"index", index}});
}

std::string StatusBody(const Snapshot& snapshot, uint64_t index, std::string_view version,
                       const HttpStats& http, const CandidateIds& ids) {
  const SessionView& session = snapshot.session;
  Json election{
      {"path", snapshot.election_path},
      {"own_node", snapshot.own_node ? Json(*snapshot.own_node) : Json(nullptr)},
      {"position", snapshot.position ? Json(*snapshot.position) : Json(nullptr)},
      {"candidates", snapshot.candidates},
      {"candidate_ids", CandidateIdList(snapshot.candidates, ids)},
  };
  return Dump(Json{
      {"id", snapshot.id},
      {"role", RoleName(snapshot.role)},
      {"campaign", snapshot.campaign},
      {"priority", snapshot.priority},
      {"preempt", PreemptObject(snapshot.preempt)},
      {"session",
       {{"state", session.state},
        {"id", FormatSessionId(session.session_id)},
        {"negotiated_timeout_ms", session.negotiated_timeout.count()},
        {"servers", session.servers}}},
      {"election", std::move(election)},
      {"leader", OptionalLeader(snapshot)},
      {"last_transition",
       snapshot.last_transition ? TransitionObject(*snapshot.last_transition) : Json(nullptr)},
      {"recent_transitions", RecentTransitions(snapshot)},
      {"hooks", HooksObject(snapshot.hooks)},
      {"health", HealthObject(snapshot.health)},
      {"maintenance",
       {{"active", snapshot.maintenance_since.has_value()},
        {"since", snapshot.maintenance_since ? Json(FormatTimestamp(*snapshot.maintenance_since))
                                             : Json(nullptr)}}},
      {"config", ConfigObject(snapshot.config)},
      {"http", {{"waiters", http.waiters}, {"max_waiters", http.max_waiters}}},
      {"ready", snapshot.ready},
      {"index", index},
      {"version", version},
  });
}

std::string IsLeaderBody(const Snapshot& snapshot, uint64_t index) {
  if (snapshot.role == Role::kLeader) return Dump(Json{{"leader", true}, {"index", index}});
  return Dump(Json{{"leader", false}, {"role", RoleName(snapshot.role)}, {"index", index}});
}

std::string ReadyBody(const Snapshot& snapshot, uint64_t index) {
  Json body{{"ready", snapshot.ready},
            {"role", RoleName(snapshot.role)},
            {"session", snapshot.session.state}};
  if (!snapshot.ready) body["reason"] = NotReadyReason(snapshot);
  body["index"] = index;
  return Dump(body);
}

std::string HealthBody(bool responsive) {
  return Dump(Json{{"status", responsive ? "ok" : "unresponsive"}});
}

std::string ResignedBody(std::chrono::milliseconds hold) {
  return Dump(Json{{"resigned", true}, {"hold_ms", hold.count()}});
}

std::string MaintenanceBody(bool on) { return Dump(Json{{"maintenance", on}}); }

std::string ErrorBody(std::string_view code, std::string_view message) {
  return Dump(Json{{"error", {{"code", code}, {"message", message}}}});
}

std::string FormatTimestamp(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto millis = floor<milliseconds>(time);
  const auto day = floor<days>(millis);
  const year_month_day date(day);
  const hh_mm_ss clock(millis - day);
  char text[48];
  std::snprintf(
      text, sizeof(text), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
      static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
      static_cast<int>(clock.seconds().count()), static_cast<int>(clock.subseconds().count()));
  return text;
}

std::string FormatSessionId(int64_t session_id) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%" PRIx64, static_cast<uint64_t>(session_id));
  return text;
}

}  // namespace zkelect
