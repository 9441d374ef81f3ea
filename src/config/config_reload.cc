#include "zkelect/config/config_reload.h"

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "zkelect/common/duration.h"

namespace zkelect {
namespace {

using Show = std::string (*)(const Config&);

// One configuration key as a reload compares it: its value as text (what is
// compared, and shown unless the key is a secret) and whether a reload may
// change it.
struct Field {
  const char* key;
  bool reloadable;
  Show show;
  bool secret = false;
};

std::string Quoted(const std::string& s) { return nlohmann::json(s).dump(); }
std::string List(const std::vector<std::string>& v) { return nlohmann::json(v).dump(); }
std::string Flag(bool b) { return b ? "true" : "false"; }
std::string FormatFileMode(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof text, "\"%04o\"", mode & 07777U);
  return text;
}

constexpr std::array<Field, 38> kFields = {{
    {"id", false, [](const Config& c) { return Quoted(c.id); }},
    {"address", true, [](const Config& c) { return Quoted(c.address); }},
    {"meta", true, [](const Config& c) { return nlohmann::json(c.meta).dump(); }},
    {"state_dir", false, [](const Config& c) { return Quoted(c.state_dir); }},
    {"zk.servers", false, [](const Config& c) { return Quoted(c.zk.servers); }},
    {"zk.session_timeout", false,
     [](const Config& c) { return FormatDuration(c.zk.session_timeout); }},
    {"zk.auth", false, [](const Config& c) { return c.zk.digest_auth; }, true},
    {"zk.auth_file", false, [](const Config& c) { return Quoted(c.zk.auth_file); }},
    {"election.path", false, [](const Config& c) { return Quoted(c.election.path); }},
    {"election.campaign", false, [](const Config& c) { return Flag(c.election.campaign); }},
    {"election.recheck_interval", true,
     [](const Config& c) { return FormatDuration(c.election.recheck_interval); }},
    {"election.priority", true,
     [](const Config& c) { return std::to_string(c.election.priority); }},
    {"election.preempt", true, [](const Config& c) { return Flag(c.election.preempt); }},
    {"election.preempt_delay", true,
     [](const Config& c) { return FormatDuration(c.election.preempt_delay); }},
    {"http.listen", false, [](const Config& c) { return List(c.http.listen); }},
    {"http.socket_mode", false, [](const Config& c) { return FormatFileMode(c.http.socket_mode); }},
    {"http.allowed_hosts", true, [](const Config& c) { return List(c.http.allowed_hosts); }},
    {"http.token_file", true, [](const Config& c) { return Quoted(c.http.token_file); }},
    {"http.token", true, [](const Config& c) { return c.http.token; }, true},
    {"http.max_waiters", true, [](const Config& c) { return std::to_string(c.http.max_waiters); }},
    {"http.default_wait", true,
     [](const Config& c) { return FormatDuration(c.http.default_wait); }},
    {"http.max_wait", true, [](const Config& c) { return FormatDuration(c.http.max_wait); }},
    {"hooks.on_start", true, [](const Config& c) { return List(c.hooks.on_start); }},
    {"hooks.on_stop", true, [](const Config& c) { return List(c.hooks.on_stop); }},
    {"hooks.on_change", true, [](const Config& c) { return List(c.hooks.on_change); }},
    {"hooks.timeout", true, [](const Config& c) { return FormatDuration(c.hooks.timeout); }},
    {"hooks.kill_grace", true, [](const Config& c) { return FormatDuration(c.hooks.kill_grace); }},
    {"hooks.start_failure", true,
     [](const Config& c) {
       return Quoted(c.hooks.start_failure == HooksConfig::StartFailure::kResign ? "resign"
                                                                                 : "ignore");
     }},
    {"health.command", true, [](const Config& c) { return List(c.health.command); }},
    {"health.http", true, [](const Config& c) { return Quoted(c.health.http); }},
    {"health.interval", true, [](const Config& c) { return FormatDuration(c.health.interval); }},
    {"health.timeout", true, [](const Config& c) { return FormatDuration(c.health.timeout); }},
    {"health.rise", true, [](const Config& c) { return std::to_string(c.health.rise); }},
    {"health.fall", true, [](const Config& c) { return std::to_string(c.health.fall); }},
    {"child.on_exit", true,
     [](const Config& c) {
       return Quoted(c.child.on_exit == ChildConfig::OnExit::kResign ? "resign" : "restart");
     }},
    {"child.stop_grace", true, [](const Config& c) { return FormatDuration(c.child.stop_grace); }},
    {"log.level", true, [](const Config& c) { return Quoted(c.log.level); }},
    {"log.format", true,
     [](const Config& c) {
       return Quoted(c.log.format == LogConfig::Format::kJson ? "json" : "text");
     }},
}};

// A secret is shown as "***" (or "" when empty), never echoed.
std::string Shown(const Field& field, const std::string& value) {
  if (!field.secret) return value;
  return value.empty() ? "\"\"" : "***";
}

}  // namespace

Result<std::vector<std::string>> DiffForReload(const Config& running, const Config& next) {
  std::vector<std::string> changed;
  for (const Field& field : kFields) {
    const std::string before = field.show(running);
    const std::string after = field.show(next);
    if (before == after) continue;
    if (!field.reloadable) {
      return Status::InvalidArgument(std::string(field.key) + " = " + Shown(field, after) +
                                     " (running: " + Shown(field, before) +
                                     "): expected no change on reload (it needs a restart)");
    }
    changed.emplace_back(field.key);
  }
  return changed;
}

}  // namespace zkelect
