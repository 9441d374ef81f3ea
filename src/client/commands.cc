#include "zkelect/client/commands.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "zkelect/client/client.h"
#include "zkelect/common/duration.h"
#include "zkelect/http/unix_socket_file.h"

namespace zkelect {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;

constexpr int kSuccess = 0;
constexpr int kFalse = 1;
constexpr int kUsageError = 2;

// Bounds every request: connect, and read for requests that do not wait.
constexpr milliseconds kRequestTimeout{5'000};
// The daemon answers POST /resign once the stop hook has run, within 2
// minutes (http_server.cc); a little more so that its own answer comes first.
constexpr milliseconds kResignReadTimeout{130'000};
// One long-poll of `wait` parks at most this long (the daemon's default).
constexpr milliseconds kMaxPollWait{60'000};
// After 503 too_many_waiters, try again this much later.
constexpr milliseconds kBusyRetry{1'000};
// After a long-poll that came back early with nothing new, wait this long.
constexpr milliseconds kEarlyRetry{100};

constexpr char kListenEnv[] = "ZKELECT_HTTP_LISTEN";
constexpr char kTokenFileEnv[] = "ZKELECT_HTTP_TOKEN_FILE";
constexpr char kConfigEnv[] = "ZKELECT_CONFIG";

// The subcommands, in the order of --help.
constexpr std::string_view kStatus = "status";
constexpr std::string_view kLeader = "leader";
constexpr std::string_view kResign = "resign";
constexpr std::string_view kWithdraw = "withdraw";
constexpr std::string_view kJoin = "join";
constexpr std::string_view kWait = "wait";
constexpr std::string_view kCheck = "check";

// --- Output helpers -------------------------------------------------------

// The bidirectional embeddings, overrides and isolates (U+202A..U+202E,
// U+2066..U+2069) that start text.substr(i), three bytes each in UTF-8: the
// code point, or 0 when there is none.
unsigned BidiControlAt(std::string_view text, size_t i) {
  if (i + 2 >= text.size() || static_cast<unsigned char>(text[i]) != 0xe2) return 0;
  const auto second = static_cast<unsigned char>(text[i + 1]);
  const auto third = static_cast<unsigned char>(text[i + 2]);
  if ((second == 0x80 && third >= 0xaa && third <= 0xae) ||
      (second == 0x81 && third >= 0xa6 && third <= 0xa9)) {
    return 0x2000u | ((second & 0x3fu) << 6) | (third & 0x3fu);
  }
  return 0;
}

// Text that came from the daemon (ids, node names: data of other ZooKeeper
// clients), made safe for a terminal: control characters, C0 and C1, are
// written as \xNN so that nothing can move the cursor or end a line, and
// bidirectional controls as \uNNNN so that nothing reorders what follows.
std::string Printable(std::string_view text) {
  constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (const unsigned bidi = BidiControlAt(text, i); bidi != 0) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(bidi >> shift) & 0xfu];
      i += 2;
      continue;
    }
    const auto byte = static_cast<unsigned char>(text[i]);
    // U+0080..U+009F, encoded as C2 80..C2 9F.
    const bool c1 = byte == 0xc2 && i + 1 < text.size() &&
                    static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(text[i + 1]) <= 0x9f;
    if (byte < 0x20 || byte == 0x7f || c1) {
      const auto shown = c1 ? static_cast<unsigned char>(text[++i]) : byte;
      out += "\\x";
      out += kHex[shown >> 4];
      out += kHex[shown & 0xf];
    } else {
      out += static_cast<char>(byte);
    }
  }
  return out;
}

// Fields of a JSON object, tolerant of a daemon that leaves some out or
// changes a type: absent or mistyped fields read as empty.
std::string Text(const Json& object, const char* key) {
  if (!object.is_object()) return "";
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? Printable(it->get<std::string>()) : "";
}

std::optional<int64_t> Number(const Json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

bool Flag(const Json& object, const char* key) {
  if (!object.is_object()) return false;
  const auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

const Json& Member(const Json& object, const char* key) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  const auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

// "node-1 10.0.0.5:8080 epoch 13": id, address ("-" when empty, so that the
// fields keep their places), epoch.
std::string LeaderLine(const Json& leader) {
  const std::string address = Text(leader, "address");
  const std::optional<int64_t> epoch = Number(leader, "epoch");
  return Text(leader, "id") + " " + (address.empty() ? "-" : address) + " epoch " +
         (epoch ? std::to_string(*epoch) : "?");
}

// "no leader (no_session)".
std::string NoLeaderLine(const Json& body) {
  const std::string reason = Text(body, "reason");
  return "no leader" + (reason.empty() ? "" : " (" + reason + ")");
}

// "role: follower, leader: node-2 10.0.0.6:8080 epoch 14", from a /status body.
std::string RoleLine(const Json& status) {
  const Json& leader = Member(status, "leader");
  return "role: " + Text(status, "role") +
         ", leader: " + (leader.is_object() ? LeaderLine(leader) : "none");
}

void PrintField(std::ostream& out, std::string_view label, const std::string& value) {
  out << std::left << std::setw(11) << (std::string(label) + ":") << value << "\n";
}

// One line per candidate of election.candidate_ids, in order: "node-b
// 10.0.0.2:8080 (node _c_…-latch-0000000001, leader)"; "-" for an empty
// address, and why the id is missing when it is.
void PrintCandidates(std::ostream& out, const Json& status) {
  const Json& election = Member(status, "election");
  const Json& ids = Member(election, "candidate_ids");
  if (!ids.is_array()) return;
  const std::string leader = Text(Member(status, "leader"), "node");
  const std::string own = Text(election, "own_node");
  for (const Json& candidate : ids) {
    const std::string node = Text(candidate, "node");
    const std::string state = Text(candidate, "id_state");
    std::string line;
    if (state == "known") {
      const std::string address = Text(candidate, "address");
      line = Text(candidate, "id") + " " + (address.empty() ? "-" : address) + " (node " + node;
    } else {
      line = "? (node " + node + ", id " + (state == "not_read" ? "not read" : state);
    }
    if (!node.empty() && node == leader) line += ", leader";
    if (!node.empty() && node == own) line += ", this node";
    PrintField(out, "candidate", line + ")");
  }
}

// The human form of GET /status: a few aligned lines.
void PrintStatus(std::ostream& out, const Json& status) {
  PrintField(out, "id", Text(status, "id"));
  PrintField(out, "role", Text(status, "role"));

  const Json& leader = Member(status, "leader");
  if (leader.is_object()) {
    const std::string address = Text(leader, "address");
    const std::optional<int64_t> epoch = Number(leader, "epoch");
    PrintField(out, "leader",
               Text(leader, "id") + (address.empty() ? "" : " " + address) + " (epoch " +
                   (epoch ? std::to_string(*epoch) : "?") + ", node " + Text(leader, "node") +
                   ", since " + Text(leader, "since") + ")");
  } else {
    PrintField(out, "leader", "none");
  }

  const Json& session = Member(status, "session");
  std::string session_line = Text(session, "state");
  const std::string session_id = Text(session, "id");
  if (!session_id.empty() && session_id != "0x0") session_line += " " + session_id;
  if (const std::optional<int64_t> timeout = Number(session, "negotiated_timeout_ms");
      timeout && *timeout > 0) {
    session_line += ", timeout " + FormatDuration(milliseconds(*timeout));
  }
  if (const std::string servers = Text(session, "servers"); !servers.empty()) {
    session_line += ", servers " + servers;
  }
  PrintField(out, "session", session_line);

  const Json& election = Member(status, "election");
  const Json& candidates = Member(election, "candidates");
  const size_t count = candidates.is_array() ? candidates.size() : 0;
  std::string election_line = Text(election, "path");
  if (const std::optional<int64_t> position = Number(election, "position")) {
    election_line += ", position " + std::to_string(*position) + " of " + std::to_string(count);
  } else if (Member(status, "campaign").is_boolean() && !Flag(status, "campaign")) {
    election_line += ", observer (" + std::to_string(count) + " candidates)";
  } else {
    election_line += ", not a candidate (" + std::to_string(count) + " candidates)";
  }
  PrintField(out, "election", election_line);
  PrintCandidates(out, status);

  PrintField(out, "ready", Flag(status, "ready") ? "yes" : "no");

  // Shown only when health.* is configured.
  const Json& health = Member(status, "health");
  if (Flag(health, "enabled")) {
    const Json& healthy = Member(health, "healthy");
    std::string health_line = !healthy.is_boolean() ? "not checked yet"
                              : healthy.get<bool>() ? "healthy"
                                                    : "unhealthy";
    if (const std::string detail = Text(health, "detail"); !detail.empty()) {
      health_line += ": " + detail;
    }
    PrintField(out, "health", health_line);
  }

  // Shown only when a hook or a leader-only child is configured.
  const Json& hooks = Member(status, "hooks");
  if (Flag(hooks, "configured")) {
    const std::string running = Text(hooks, "running");
    std::string hooks_line = running.empty() ? "idle" : "running " + running;
    const Json& last = Member(hooks, "last");
    if (last.is_object()) {
      const std::optional<int64_t> duration = Number(last, "duration_ms");
      hooks_line += ", last " + Text(last, "hook") + " (" + Text(last, "reason") + ") " +
                    (Flag(last, "ok") ? "ok" : "failed") + ": " + Text(last, "result") +
                    (duration ? " in " + FormatDuration(milliseconds(*duration)) : "") + " at " +
                    Text(last, "finished");
    }
    PrintField(out, "hooks", hooks_line);
  }

  const Json& maintenance = Member(status, "maintenance");
  if (Flag(maintenance, "active")) {
    PrintField(out, "withdrawn", "for maintenance since " + Text(maintenance, "since"));
  }

  // Shown when a priority or preemption is set (rule 13).
  const std::optional<int64_t> priority = Number(status, "priority");
  const Json& preempt = Member(status, "preempt");
  if ((priority && *priority != 0) || Flag(preempt, "enabled")) {
    std::string priority_line = priority ? std::to_string(*priority) : "?";
    if (Flag(preempt, "enabled")) {
      const std::optional<int64_t> delay = Number(preempt, "effective_delay_ms");
      priority_line += ", preemption after " + (delay ? FormatDuration(milliseconds(*delay)) : "?");
      const Json& pending = Member(preempt, "pending");
      if (pending.is_object()) {
        priority_line += "; handing over to " + Text(pending, "id") + " (priority " +
                         std::to_string(Number(pending, "priority").value_or(0)) + ") at " +
                         Text(pending, "due");
      }
    }
    PrintField(out, "priority", priority_line);
  }

  // Shown once a reload came (the runbook checks its outcome here).
  const Json& config = Member(status, "config");
  const Json& reload = Member(config, "last_reload");
  if (reload.is_object()) {
    const std::optional<int64_t> generation = Number(config, "generation");
    std::string config_line = "generation " + (generation ? std::to_string(*generation) : "?") +
                              ", last reload " + Text(reload, "result") + " at " +
                              Text(reload, "at");
    if (const std::string error = Text(reload, "error"); !error.empty()) {
      config_line += ": " + error;
    }
    PrintField(out, "config", config_line);
  }

  const Json& transition = Member(status, "last_transition");
  if (transition.is_object()) {
    PrintField(out, "changed",
               Text(transition, "time") + " " + Text(transition, "from") + " -> " +
                   Text(transition, "to") + " (" + Text(transition, "reason") + ")");
  }
  if (const std::string version = Text(status, "version"); !version.empty()) {
    PrintField(out, "version", version);
  }
}

// --- One run ----------------------------------------------------------------

// Where to send the requests, and with which token.
struct Target {
  DaemonAddress address;
  std::string origin;  // where the address came from, for messages
  std::string token;
};

// Of the daemon's listeners, the one a client uses: its Unix socket if it
// has one (POSTs need no token there), else its first address.
const std::string& PreferredListener(const std::vector<std::string>& listen) {
  const auto unix_socket = std::find_if(listen.begin(), listen.end(), [](const std::string& a) {
    return UnixListenPath(a).has_value();
  });
  return unix_socket != listen.end() ? *unix_socket : listen.front();
}

// Resolves the daemon's address (and for resign the token) from the options,
// the environment and the configuration file, through the daemon's own
// loader so that both read the same file (the daemon's default one too) and
// http.listen and http.token_file alike. Only the variables that matter here
// are passed on, so that a stray ZKELECT_* value meant for the daemon cannot
// stop a probe; secrets that a client does not need (zk.auth_file; the token
// unless `want_token`) are not read.
Result<Target> ResolveTarget(const ClientOptions& options, const Environment& env,
                             bool want_token) {
  Environment relevant;
  for (const char* name : {kConfigEnv, kListenEnv, kTokenFileEnv}) {
    if (name == std::string_view(kTokenFileEnv) && !want_token) continue;
    if (const auto it = env.find(name); it != env.end()) relevant.insert(*it);
  }
  RawFlags flags;
  flags.config_path = options.config_path;  // unset: ZKELECT_CONFIG, else the default file
  // With --addr the file has nothing more to give, unless the token: it is
  // not read at all, so that even a file that no longer parses (a ConfigMap
  // edit every pod sees at once) cannot fail a probe.
  if (!options.addr.empty() && (!want_token || !options.token_file.empty())) {
    flags.config_path = std::string();
  }
  flags.default_config_path = options.default_config_path;
  // The file read, for messages; the default one only when it exists.
  std::string config_file;
  if (options.config_path) {
    config_file = *options.config_path;
  } else if (relevant.contains(kConfigEnv)) {
    config_file = relevant.at(kConfigEnv);
  } else if (::access(options.default_config_path.c_str(), F_OK) == 0) {
    config_file = options.default_config_path;
  }
  // Of the file, only what reaches the daemon: a bad value of another key is
  // the daemon's to refuse (it runs on, or a reload keeps the old one), and
  // must not fail a liveness probe meanwhile.
  flags.only_file_keys = std::set<std::string>{"http.listen"};
  if (want_token) flags.only_file_keys->insert("http.token_file");
  flags.values["zk.auth_file"] = "";
  if (!want_token) {
    flags.values["http.token_file"] = "";
  } else if (!options.token_file.empty()) {
    flags.values["http.token_file"] = options.token_file;
  }

  Result<Config> config = LoadConfig(flags, relevant);
  if (!config.ok()) {
    std::string message = config.status().message();
    // The loader names the flag it was handed; the user typed --token-file.
    constexpr std::string_view kLoaderFlag = "(from --http.token_file)";
    if (const size_t at = message.find(kLoaderFlag); at != std::string::npos) {
      message.replace(at, kLoaderFlag.size(), "(from --token-file)");
    }
    return Status::InvalidArgument("configuration error: " + message);
  }

  Target target;
  std::string listen;
  if (!options.addr.empty()) {
    listen = options.addr;
    target.origin = "--addr";
  } else {
    listen = PreferredListener(config->http.listen);
    if (relevant.contains(kListenEnv)) {
      target.origin = kListenEnv;
    } else if (!config_file.empty()) {
      target.origin = "http.listen in " + config_file;
    } else {
      target.origin = "the default";
    }
  }
  Result<DaemonAddress> address = ParseDaemonAddress(listen);
  if (!address.ok()) {
    const std::string shown = "\"" + Printable(listen) + "\"";
    return Status::InvalidArgument((options.addr.empty()
                                        ? "http.listen = " + shown + " (from " + target.origin + ")"
                                        : "--addr = " + shown) +
                                   ": " + address.status().message());
  }
  target.address = std::move(address).value();
  target.token = config->http.token;
  return target;
}

// One client command being run: its name for messages, the options and the
// streams.
class Invocation {
 public:
  Invocation(std::string name, const ClientOptions& options, std::ostream& out, std::ostream& err)
      : name_(std::move(name)), options_(options), out_(out), err_(err) {}

  // Writes "zkelect <command>: <message>" to the error stream; returns `code`.
  int Fail(int code, const std::string& message) {
    err_ << "zkelect " << name_ << ": " << message << "\n";
    return code;
  }

  // No answer from the daemon: the message also says where the address came
  // from, which is what to fix when it is the wrong one.
  int Unreachable(const Status& status, const Target& target) {
    std::string message = status.message() + ": expected `zkelect run` listening there";
    if (target.origin != "--addr") {
      message += " (address from " + target.origin + "; --addr, " + kListenEnv +
                 " or --config name another)";
    }
    return Fail(kFalse, message);
  }

  // The daemon answered, but not with what the command expected.
  int Refused(const DaemonReply& reply) {
    const Json& error = Member(reply.json, "error");
    std::string message = Text(error, "message");
    if (message.empty()) {
      message = "the daemon answered HTTP " + std::to_string(reply.status);
      if (reply.json.is_discarded()) message += " without a JSON body: expected a zkelect daemon";
    }
    if (reply.status == 401) {
      message += " (give --token-file FILE, " + std::string(kTokenFileEnv) + " or --config)";
    }
    return Fail(kFalse, message);
  }

  // With --json: the body as received, one line.
  void PrintBody(const DaemonReply& reply) {
    out_ << reply.body;
    if (reply.body.empty() || reply.body.back() != '\n') out_ << "\n";
  }

  // Whether `reply` carries a JSON object; complains otherwise.
  bool IsJsonObject(const DaemonReply& reply, const DaemonAddress& address) {
    if (reply.json.is_object()) return true;
    Fail(kFalse, "the answer of " + address.ToString() + " (HTTP " + std::to_string(reply.status) +
                     ") is not a JSON object: expected a zkelect daemon there");
    return false;
  }

  const ClientOptions& options() const { return options_; }
  std::ostream& out() { return out_; }

 private:
  const std::string name_;
  const ClientOptions& options_;
  std::ostream& out_;
  std::ostream& err_;
};

int RunStatus(Invocation& call, DaemonClient& client, const Target& target) {
  Result<DaemonReply> reply = client.Get("/status");
  if (!reply.ok()) return call.Unreachable(reply.status(), target);
  if (reply->status != 200) return call.Refused(*reply);
  if (!call.IsJsonObject(*reply, target.address)) return kFalse;
  if (call.options().json) {
    call.PrintBody(*reply);
  } else {
    PrintStatus(call.out(), reply->json);
  }
  return kSuccess;
}

int RunLeader(Invocation& call, DaemonClient& client, const Target& target) {
  Result<DaemonReply> reply = client.Get("/leader");
  if (!reply.ok()) return call.Unreachable(reply.status(), target);
  const bool known = reply->status == 200;
  const bool unknown = reply->status == 503 && Member(reply->json, "leader").is_null() &&
                       Member(reply->json, "error").is_null();
  if (!known && !unknown) return call.Refused(*reply);
  if (!call.IsJsonObject(*reply, target.address)) return kFalse;
  if (call.options().json) {
    call.PrintBody(*reply);
  } else if (known) {
    call.out() << LeaderLine(Member(reply->json, "leader"))
               << (Flag(reply->json, "is_self") ? " (this node)" : "") << "\n";
  } else {
    call.out() << NoLeaderLine(reply->json) << "\n";
  }
  return known ? kSuccess : kFalse;
}

int RunResign(Invocation& call, DaemonClient& client, const Target& target) {
  std::string request = "/resign";
  if (!call.options().hold.empty()) {
    Result<milliseconds> hold = ParseDuration(call.options().hold);
    if (!hold.ok()) {
      return call.Fail(kUsageError, "--hold = \"" + Printable(call.options().hold) +
                                        "\": " + hold.status().message());
    }
    request += "?hold=" + FormatDuration(*hold);
  }
  Result<DaemonReply> reply = client.Post(request, kResignReadTimeout);
  if (!reply.ok()) return call.Unreachable(reply.status(), target);
  if (call.options().json) {
    call.PrintBody(*reply);
    return reply->status == 200 ? kSuccess : kFalse;
  }
  if (reply->status != 200) return call.Refused(*reply);
  const milliseconds hold(Number(reply->json, "hold_ms").value_or(0));
  call.out() << "resigned: stop hook done, node deleted; rejoining the election "
             << (hold.count() > 0 ? "after " + FormatDuration(hold) : std::string("now"))
             << " at the back of the queue\n";
  return kSuccess;
}

// Whether the daemon's health check is failing now (false when it has none,
// or cannot be asked).
bool FailsItsHealthCheck(DaemonClient& client) {
  const Result<DaemonReply> reply = client.Get("/status");
  if (!reply.ok() || reply->status != 200) return false;
  const Json& healthy = Member(Member(reply->json, "health"), "healthy");
  return healthy.is_boolean() && !healthy.get<bool>();
}

// POST /withdraw or /join: waits like resign (a leader's withdraw runs its
// stop hook first).
int RunMaintenance(Invocation& call, DaemonClient& client, const Target& target, bool on) {
  Result<DaemonReply> reply = client.Post(on ? "/withdraw" : "/join", kResignReadTimeout);
  if (!reply.ok()) return call.Unreachable(reply.status(), target);
  if (call.options().json) {
    call.PrintBody(*reply);
    return reply->status == 200 ? kSuccess : kFalse;
  }
  if (reply->status != 200) return call.Refused(*reply);
  if (on) {
    call.out() << "withdrawn for maintenance: no node of ours in the election (a leader's stop "
                  "hook ran first); `zkelect join` ends it\n";
  } else if (FailsItsHealthCheck(client)) {
    // The daemon answers a join at once while its health check fails: the
    // maintenance is over, the health gate keeps the node out.
    call.out() << "joined: maintenance ended, but the health check fails: the node joins the "
                  "election once it passes (zkelect status shows the check)\n";
  } else {
    call.out() << "joined: back in the election at the back of the queue\n";
  }
  return kSuccess;
}

// The leader as `wait --change` compares it: node and epoch, or none.
std::optional<std::pair<std::string, int64_t>> LeaderKey(const Json& status) {
  const Json& leader = Member(status, "leader");
  if (!leader.is_object()) return std::nullopt;
  return std::make_pair(Text(leader, "node"), Number(leader, "epoch").value_or(0));
}

// Long-polls GET /status until the condition holds (see commands.h).
int RunWait(Invocation& call, DaemonClient& client, const Target& target) {
  const ClientOptions& options = call.options();
  const int conditions =
      int{options.wait_leader} + int{options.wait_follower} + int{options.wait_change};
  if (conditions != 1) {
    return call.Fail(kUsageError, "expected exactly one of --leader, --follower or --change");
  }
  std::optional<milliseconds> limit;
  if (!options.timeout.empty()) {
    Result<milliseconds> parsed = ParseDuration(options.timeout);
    if (!parsed.ok()) {
      return call.Fail(kUsageError, "--timeout = \"" + Printable(options.timeout) +
                                        "\": " + parsed.status().message());
    }
    limit = *parsed;
  }
  const auto deadline = std::chrono::steady_clock::now() + limit.value_or(milliseconds(0));

  // A reply to build on: 200, a JSON object and an index to long-poll from.
  const auto usable = [&](const DaemonReply& reply) {
    if (reply.status != 200) {
      call.Refused(reply);
      return false;
    }
    if (!call.IsJsonObject(reply, target.address)) return false;
    if (reply.index == 0) {
      call.Fail(kFalse, "the answer of " + target.address.ToString() +
                            " has no X-Zkelect-Index header: expected a zkelect daemon there");
      return false;
    }
    return true;
  };

  Result<DaemonReply> first = client.Get("/status");
  if (!first.ok()) return call.Unreachable(first.status(), target);
  if (!usable(*first)) return kFalse;
  DaemonReply reply = std::move(first).value();
  const auto initial_leader = LeaderKey(reply.json);

  for (;;) {
    const std::string role = Text(reply.json, "role");
    const bool holds = options.wait_leader     ? role == "leader"
                       : options.wait_follower ? role == "follower"
                                               : LeaderKey(reply.json) != initial_leader;
    if (holds) {
      if (options.json) {
        call.PrintBody(reply);
      } else {
        call.out() << RoleLine(reply.json) << "\n";
      }
      return kSuccess;
    }

    milliseconds poll_wait = kMaxPollWait;
    if (limit) {
      const milliseconds remaining =
          std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (remaining <= milliseconds(0)) {
        return call.Fail(kFalse,
                         "timed out after " + FormatDuration(*limit) + "; " + RoleLine(reply.json));
      }
      poll_wait = std::min(poll_wait, remaining);
    }

    const auto asked = std::chrono::steady_clock::now();
    Result<DaemonReply> next =
        client.Get("/status", DaemonClient::LongPoll{reply.index, poll_wait});
    if (!next.ok()) return call.Unreachable(next.status(), target);
    if (next->status == 503 && Text(Member(next->json, "error"), "code") == "too_many_waiters") {
      // Every long-poll place is taken: try again shortly (the deadline still holds).
      std::this_thread::sleep_for(std::min(kBusyRetry, poll_wait));
      continue;
    }
    if (!usable(*next)) return kFalse;
    // Nothing new, and much sooner than asked (a daemon shutting down answers
    // parked polls at once): pause, so that this loop never spins.
    if (next->index == reply.index && std::chrono::steady_clock::now() - asked < poll_wait / 2) {
      std::this_thread::sleep_for(std::min(kEarlyRetry, poll_wait));
    }
    reply = std::move(next).value();
  }
}

int RunCheck(Invocation& call, DaemonClient& client, const Target& target) {
  const std::string& probe = call.options().probe;
  const char* path = probe == "live" ? "/healthz" : probe == "ready" ? "/readyz" : "/is-leader";
  Result<DaemonReply> reply = client.Get(path);
  if (!reply.ok()) return call.Unreachable(reply.status(), target);
  const bool yes = reply->status == 200;
  if (!yes && (reply->status != 503 || !Member(reply->json, "error").is_null())) {
    return call.Refused(*reply);
  }
  if (!call.IsJsonObject(*reply, target.address)) return kFalse;
  if (call.options().json) {
    call.PrintBody(*reply);
  } else if (yes) {
    call.out() << probe << ": yes\n";
  } else {
    const std::string why = probe == "live"    ? Text(reply->json, "status")
                            : probe == "ready" ? Text(reply->json, "reason")
                                               : "role " + Text(reply->json, "role");
    call.out() << probe << ": no" << (why.empty() ? "" : " (" + why + ")") << "\n";
  }
  return yes ? kSuccess : kFalse;
}

// Options that every client subcommand takes.
void AddCommonOptions(CLI::App& command, ClientOptions* options) {
  command
      .add_option("--addr", options->addr,
                  std::string("the daemon's HTTP address, host:port or unix:/path [default: env ") +
                      kListenEnv +
                      ", else http.listen of the configuration file (its unix: socket if it has "
                      "one), else " +
                      HttpConfig().listen.front() + "]")
      ->type_name("ADDRESS");
  command
      .add_option_function<std::string>(
          "--config", [options](const std::string& value) { options->config_path = value; },
          std::string("read http.listen (and for resign, withdraw and join http.token_file) from "
                      "this TOML file; "
                      "empty for none [default: env ") +
              kConfigEnv + ", else " + kDefaultConfigPath + " if it exists, as the daemon]")
      ->type_name("FILE");
  command.add_flag("--json", options->json, "print the daemon's JSON answer, one line");
}

// The POST subcommands (resign, withdraw, join) send the bearer token.
void AddTokenFileOption(CLI::App& command, ClientOptions* options) {
  command
      .add_option("--token-file", options->token_file,
                  std::string("file holding the bearer token (env ") + kTokenFileEnv +
                      ", else http.token_file of --config)")
      ->type_name("FILE");
}

}  // namespace

void AddClientCommands(CLI::App& app, ClientOptions* options) {
  constexpr char kExit[] =
      "Exit status: 0 success, 1 condition false, timeout or daemon unreachable, 2 usage error.";

  CLI::App* status = app.add_subcommand(std::string(kStatus),
                                        "Show this node's view of the election (GET /status)");
  AddCommonOptions(*status, options);
  status->footer(kExit);

  CLI::App* leader = app.add_subcommand(
      std::string(kLeader), "Print the current leader: id, address, epoch (exit 1: none known)");
  AddCommonOptions(*leader, options);
  leader->footer(kExit);

  CLI::App* resign = app.add_subcommand(
      std::string(kResign),
      "Make this node step down: stop hook, delete its node, rejoin after --hold (exit 1: not "
      "the leader)");
  AddCommonOptions(*resign, options);
  resign->add_option("--hold", options->hold, "stay out of the election this long, e.g. 30s")
      ->type_name("DURATION");
  AddTokenFileOption(*resign, options);
  resign->footer(kExit);

  for (const bool on : {true, false}) {
    CLI::App* maintenance = app.add_subcommand(
        std::string(on ? kWithdraw : kJoin),
        on ? "Maintenance: leave the election and stay out until `zkelect join` (a leader "
             "hands over first: stop hook, then delete)"
           : "End maintenance: rejoin the election at the back of the queue");
    AddCommonOptions(*maintenance, options);
    AddTokenFileOption(*maintenance, options);
    maintenance->footer(kExit);
  }

  CLI::App* wait = app.add_subcommand(
      std::string(kWait),
      "Block until this node leads, follows, or the leader changes (exit 1 on --timeout)");
  wait->footer(std::string("Long-polls GET /status, at most 60s a request. Without --timeout "
                           "it waits until the condition holds or the daemon cannot be "
                           "reached.\n") +
               kExit);
  AddCommonOptions(*wait, options);
  CLI::Option* lead = wait->add_flag("--leader", options->wait_leader, "until this node leads");
  CLI::Option* follow =
      wait->add_flag("--follower", options->wait_follower, "until this node is a follower");
  CLI::Option* change = wait->add_flag("--change", options->wait_change,
                                       "until the leader (node and epoch) differs from the one at "
                                       "the start (a leader appearing or going away counts)");
  lead->excludes(follow)->excludes(change);
  follow->excludes(change);
  wait->add_option("--timeout", options->timeout,
                   "give up after this long, e.g. 90s [default: wait forever]")
      ->type_name("DURATION");

  CLI::App* check = app.add_subcommand(
      std::string(kCheck),
      "Probe: live (/healthz), ready (/readyz) or leader (/is-leader); exit 0 yes, 1 no");
  AddCommonOptions(*check, options);
  check->add_option("probe", options->probe, "live, ready or leader")
      ->required()
      ->check(CLI::IsMember({"live", "ready", "leader"}));
  check->footer(kExit);
}

int RunClientCommand(const CLI::App& app, const ClientOptions& options, const Environment& env,
                     std::ostream& out, std::ostream& err) {
  std::string_view command;
  for (const std::string_view name : {kStatus, kLeader, kResign, kWithdraw, kJoin, kWait, kCheck}) {
    if (app.got_subcommand(std::string(name))) command = name;
  }
  if (command.empty()) {
    err << "zkelect: expected a subcommand: status, leader, resign, withdraw, join, wait or "
           "check\n";
    return kUsageError;
  }
  Invocation call(command == kCheck ? "check " + options.probe : std::string(command), options, out,
                  err);

  const bool posts = command == kResign || command == kWithdraw || command == kJoin;
  Result<Target> target = ResolveTarget(options, env, /*want_token=*/posts);
  if (!target.ok()) return call.Fail(kUsageError, target.status().message());
  DaemonClient client(target->address, kRequestTimeout, target->token);

  if (command == kStatus) return RunStatus(call, client, *target);
  if (command == kLeader) return RunLeader(call, client, *target);
  if (command == kResign) return RunResign(call, client, *target);
  if (command == kWithdraw || command == kJoin) {
    return RunMaintenance(call, client, *target, command == kWithdraw);
  }
  if (command == kWait) return RunWait(call, client, *target);
  return RunCheck(call, client, *target);
}

}  // namespace zkelect
