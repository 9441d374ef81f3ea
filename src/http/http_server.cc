#include "zkelect/http/http_server.h"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include "zkelect/common/clock.h"
#include "zkelect/common/duration.h"
#include "zkelect/election/election_control.h"
#include "zkelect/http/api_json.h"
#include "zkelect/http/connection_server.h"
#include "zkelect/http/http_request.h"
#include "zkelect/http/http_response.h"
#include "zkelect/http/request_params.h"
#include "zkelect/http/status_page.h"
#include "zkelect/http/unix_socket_file.h"
#include "zkelect/metrics/metrics.h"
#include "zkelect/metrics/prometheus_writer.h"

namespace zkelect {
namespace {

constexpr char kIndexHeader[] = "X-Zkelect-Index";
constexpr char kJson[] = "application/json";

// Connection threads beyond max_waiters. A parked long-poll holds none, but
// its connection takes one again between two polls (the client's next
// request is read on it), as does every idle keep-alive connection. Each
// idle thread costs tens of KiB; far more connections than one sidecar's
// clients open, so that probes find a thread even while hundreds of idle
// connections run out their 2s.
constexpr size_t kConnectionThreads = 1024;
// No endpoint takes a body; this only bounds what a client can make us read.
constexpr size_t kMaxBodyBytes = 64 * 1024;
// Long-poll clients come back right after each answer, so a short keep-alive
// is enough; it also bounds how long an idle connection holds a thread.
constexpr std::chrono::seconds kKeepAlive{2};
// From the first byte of a request to its last: real clients send a request
// in one packet; a slow loris is cut off here.
constexpr std::chrono::seconds kRequestTimeout{5};
constexpr std::chrono::seconds kWriteTimeout{5};
constexpr size_t kKeepAliveMaxRequests = 100;
// How long a /status waits for the candidates' ids not read yet before it
// answers with "id_pending" for them (issue 16 point 5): a slow ZooKeeper
// delays /status by this much at most.
constexpr std::chrono::milliseconds kCandidateIdWait{250};
// Request line and headers (8 KiB a line, any number of lines up to this)
// plus the largest body: a head beyond it is answered 431.
constexpr size_t kMaxRequestBytes = 64 * 1024 + kMaxBodyBytes;
// How long POST /resign waits for the election loop: the stop hook runs in
// between, so this is generous, but a request must not hang forever.
constexpr std::chrono::minutes kResignTimeout{2};
// Resigns waiting at once: each holds a thread while the stop hook runs.
constexpr size_t kMaxPendingResigns = 4;

void Reply(HttpResponse& res, int status, std::string body) {
  res.status = status;
  res.SetContent(std::move(body), kJson);
}

void ReplyError(HttpResponse& res, int status, std::string_view code, std::string_view message) {
  Reply(res, status, ErrorBody(code, message));
}

void SetIndex(HttpResponse& res, uint64_t index) {
  res.SetHeader(kIndexHeader, std::to_string(index));
}

// A resign or withdraw whose node a POST /join kept: it never completed.
void ReplyCancelled(HttpResponse& res) {
  ReplyError(res, 409, "cancelled",
             "a POST /join ended the maintenance before this node's candidate node was deleted; "
             "see /status for the current role");
}

void ReplyNotFound(const HttpRequest& req, HttpResponse& res) {
  ReplyError(res, 404, "not_found",
             "no endpoint at \"" + Printable(req.path) +
                 "\": expected /, /leader, /status, /is-leader, /healthz, /readyz, /resign, "
                 "/withdraw, /join or /metrics");
}

ConnectionServer::Limits ConnectionLimits(const HttpConfig& config) {
  ConnectionServer::Limits limits;
  limits.max_threads = static_cast<size_t>(std::max(config.max_waiters, 0)) + kMaxPendingResigns +
                       kConnectionThreads;
  limits.idle_timeout = kKeepAlive;
  limits.request_timeout = kRequestTimeout;
  limits.write_timeout = kWriteTimeout;
  limits.max_requests_per_connection = kKeepAliveMaxRequests;
  limits.max_request_bytes = kMaxRequestBytes;
  limits.max_body_bytes = kMaxBodyBytes;
  return limits;
}

// Each connection holds a descriptor, and the usual soft limit (1024) would
// stop accepting (ConnectionServer backs off while out of descriptors) below
// the connection count that the server allows. Raises the soft limit to
// `wanted`, within the hard limit, which is the operator's (systemd
// LimitNOFILE=).
void RaiseOpenFileLimit(rlim_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= wanted) return;
  limit.rlim_cur = std::min(wanted, limit.rlim_max);
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn("HTTP: cannot raise the open file limit: {}", std::strerror(errno));
  }
}

// glibc gives threads their own malloc arenas, up to 8 per core, and each
// keeps up to its trim threshold (128 KiB and more) of freed memory at its
// top for good: after a burst of connection threads, megabytes that never
// come back. The daemon allocates little and rarely; two arenas are plenty.
// Process-wide, and set here because the HTTP server is what makes threads
// by the hundred; must run before they exist.
void LimitMallocArenas() {
  constexpr int kMallocArenas = 2;
  if (::mallopt(M_ARENA_MAX, kMallocArenas) != 1) {
    spdlog::warn("HTTP: cannot limit malloc arenas to {}", kMallocArenas);
  }
}

}  // namespace

// A long-poll parked in the hub: what answers it, and its place among the
// http.max_waiters, given back when it is answered or dropped (its client
// went away, or answering it failed), whichever comes first.
struct HttpServer::ParkedPoll {
  ParkedPoll(std::atomic<int>& waiter_count, HttpRequest parked_request, PendingAnswer answer)
      : waiters(waiter_count), request(std::move(parked_request)), pending(std::move(answer)) {}
  ParkedPoll(const ParkedPoll&) = delete;
  ParkedPoll& operator=(const ParkedPoll&) = delete;
  ~ParkedPoll() { Release(); }

  void Release() {
    if (holds_place) waiters.fetch_sub(1);
    holds_place = false;
  }

  std::atomic<int>& waiters;
  const HttpRequest request;  // what Finish() reads of it
  PendingAnswer pending;
  // Until Release(): by the answer (on the hub's thread) or by the
  // destructor, which come one after the other, never at once.
  bool holds_place = true;
  // Set by the handler before it returns, read by the hang-up callback,
  // which ConnectionServer runs only after that.
  LongPollHub::Ticket ticket = 0;
};

// One POST /resign waiting for its outcome. Shared between the handler, the
// callback given to ElectionControl (which may run after the handler gave up,
// or after the server is gone) and Stop().
struct HttpServer::ResignCall {
  enum class End { kOutcome, kTimeout, kAbandoned };

  void Finish(ElectionControl::ResignOutcome result) {
    {
      MutexLock lock(&mu);
      outcome = result;
    }
    done.notify_all();
  }

  // The server is stopping: the handler answers without the outcome.
  void Abandon() {
    {
      MutexLock lock(&mu);
      abandoned = true;
    }
    done.notify_all();
  }

  // Blocks until Finish(), Abandon() or `deadline`. On kOutcome, `*result`
  // holds the outcome.
  End Await(std::chrono::steady_clock::time_point deadline,
            ElectionControl::ResignOutcome* result) {
    MutexLock lock(&mu);
    while (!outcome && !abandoned) {
      if (lock.WaitUntil(done, deadline) == std::cv_status::timeout) break;
    }
    if (outcome) {
      *result = *outcome;
      return End::kOutcome;
    }
    return abandoned ? End::kAbandoned : End::kTimeout;
  }

  Mutex mu;
  std::condition_variable done;
  std::optional<ElectionControl::ResignOutcome> outcome GUARDED_BY(mu);
  bool abandoned GUARDED_BY(mu) = false;
};

HttpServer::HttpServer(const HttpConfig& config, const StateBoard& board, ElectionControl& control,
                       Metrics& metrics, std::string version)
    : config_(config),
      board_(board),
      control_(control),
      metrics_(metrics),
      version_(std::move(version)),
      settings_(std::make_shared<const Reloadable>(Reloadable{config, HostPolicy(config)})),
      leader_answers_([](const StateBoard::View& view) {
        return Answer{view.snapshot->leader ? 200 : 503, LeaderBody(*view.snapshot, view.index)};
      }),
      is_leader_answers_([](const StateBoard::View& view) {
        return Answer{view.snapshot->role == Role::kLeader ? 200 : 503,
                      IsLeaderBody(*view.snapshot, view.index)};
      }),
      candidate_ids_(std::make_shared<CandidateIdCache>(
          [this](std::vector<std::string> nodes) { ReadCandidateIds(std::move(nodes)); })),
      hub_(board) {}

void HttpServer::ReadCandidateIds(std::vector<std::string> nodes) {
  // The answers come on the election loop thread, maybe after this server
  // is gone: they hold the cache only weakly.
  control_.ReadNodeData(std::move(nodes),
                        [cache = std::weak_ptr<CandidateIdCache>(candidate_ids_)](
                            const std::string& node, std::optional<std::string> data) {
                          if (const auto alive = cache.lock()) alive->Deliver(node, data);
                        });
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Reconfigure(const HttpConfig& config) {
  auto next = std::make_shared<const Reloadable>(Reloadable{config, HostPolicy(config)});
  const bool opens = next->policy.OpenToLocalUsers();
  bool was_open = false;
  {
    MutexLock lock(&settings_mu_);
    was_open = settings_->policy.OpenToLocalUsers();
    settings_ = std::move(next);
  }
  if (opens && !was_open) WarnOpenToLocalUsers();
}

void HttpServer::WarnOpenToLocalUsers() const {
  spdlog::warn(
      "HTTP: POST endpoints (/resign, /withdraw, /join) on {} are open to every user of this "
      "host (no http.token_file): set http.token_file, or listen on a Unix socket alone "
      "(http.listen = \"unix:/run/zkelect/api.sock\", whose file mode http.socket_mode says who "
      "may write)",
      listen_address());
}

std::shared_ptr<const HttpServer::Reloadable> HttpServer::settings() const {
  MutexLock lock(&settings_mu_);
  return settings_;
}

Status HttpServer::Start() {
  {
    MutexLock lock(&mu_);
    if (stopping_ || server_) {
      return Status::Internal("HttpServer::Start() called twice or after Stop()");
    }
  }
  if (config_.listen.empty()) {
    return Status::InvalidArgument("http.listen = []: expected at least one address");
  }
  const ConnectionServer::Limits limits = ConnectionLimits(config_);
  // Connections, plus the daemon's own descriptors and a margin.
  RaiseOpenFileLimit(static_cast<rlim_t>(limits.max_threads + 256));
  LimitMallocArenas();
  server_ = std::make_unique<ConnectionServer>(
      limits,
      [this](const HttpRequest& req, HttpResponse& res, PendingAnswer& later) {
        Serve(req, res, later);
      },
      [this](const HttpRequest& req, const RequestError& error, HttpResponse& res) {
        Refuse(req, error, res);
      });
  for (const std::string& address : config_.listen) {
    if (Status listening = Listen(address); !listening.ok()) {
      server_.reset();
      socket_files_.clear();  // removes the socket files made so far
      bound_.clear();
      return listening;
    }
  }
  if (settings()->policy.OpenToLocalUsers()) WarnOpenToLocalUsers();

  hub_.Start();
  listener_ = std::thread([this] { server_->Serve(); });
  spdlog::debug("http: bound {}", listen_urls());
  return Status::Ok();
}

Status HttpServer::Listen(const std::string& address) {
  if (const std::optional<std::string_view> path = UnixListenPath(address)) {
    Result<std::unique_ptr<UnixSocketFile>> file =
        UnixSocketFile::Listen(std::string(*path), config_.socket_mode, SOMAXCONN);
    if (!file.ok()) return file.status();
    server_->AddListener(file.value()->TakeSocket());
    socket_files_.push_back(std::move(file).value());
    bound_.push_back(address);
    return Status::Ok();
  }
  const std::optional<HostPort> listen = SplitHostPort(address);
  int port = -1;
  if (listen && !listen->host.empty() && !listen->port.empty() && listen->port.size() <= 5) {
    port = std::stoi(listen->port);
  }
  if (port < 0 || port > 65535) {
    return Status::InvalidArgument("http.listen = \"" + address +
                                   "\": expected host:port, like 127.0.0.1:4040 or [::1]:4040, "
                                   "or unix:/path");
  }
  const int bound = server_->Bind(listen->host, port);
  if (bound <= 0) {
    const int error = errno;
    return Status::Unavailable("http.listen = \"" + address + "\": cannot listen there (" +
                               (error != 0 ? std::strerror(error) : "not a local address") +
                               "): expected a free port on a local address");
  }
  const bool ipv6 = listen->host.find(':') != std::string::npos;
  const std::string as_bound =
      (ipv6 ? "[" + listen->host + "]" : listen->host) + ":" + std::to_string(bound);
  if (tcp_address_.empty()) {
    tcp_address_ = as_bound;
    port_ = bound;
  }
  bound_.push_back("http://" + as_bound);
  return Status::Ok();
}

std::string HttpServer::listen_address() const { return tcp_address_; }

std::string HttpServer::listen_urls() const {
  std::string urls;
  for (const std::string& url : bound_) urls += (urls.empty() ? "" : " and ") + url;
  return urls;
}

void HttpServer::Stop() {
  std::set<std::shared_ptr<ResignCall>> calls;
  {
    MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    calls = resign_calls_;
  }
  for (const std::shared_ptr<ResignCall>& call : calls) call->Abandon();
  // Parked long-polls first: answered now, their connections go back to the
  // server, which is still serving; later ones are answered at once.
  hub_.Stop();
  if (listener_.joinable()) {
    server_->Stop();
    listener_.join();
  }
  socket_files_.clear();
}

// The endpoints. HEAD is served by the GET endpoints (without the body).
struct HttpServer::Route {
  std::string_view path;
  std::string_view method;  // GET or POST
  Endpoint endpoint;
  Access access;
  std::string_view allow;  // the Allow header of a 405
};

const HttpServer::Route* HttpServer::FindRoute(std::string_view path) {
  static constexpr std::array<Route, 10> kRoutes = {{
      {"/", "GET", &HttpServer::HandleStatusPage, Access::kRead, "GET, HEAD"},
      {"/leader", "GET", &HttpServer::HandleLeader, Access::kRead, "GET, HEAD"},
      {"/status", "GET", &HttpServer::HandleStatus, Access::kRead, "GET, HEAD"},
      {"/is-leader", "GET", &HttpServer::HandleIsLeader, Access::kRead, "GET, HEAD"},
      {"/healthz", "GET", &HttpServer::HandleHealthz, Access::kRead, "GET, HEAD"},
      {"/readyz", "GET", &HttpServer::HandleReadyz, Access::kRead, "GET, HEAD"},
      {"/resign", "POST", &HttpServer::HandleResign, Access::kWrite, "POST"},
      {"/withdraw", "POST", &HttpServer::HandleWithdraw, Access::kWrite, "POST"},
      {"/join", "POST", &HttpServer::HandleJoin, Access::kWrite, "POST"},
      {"/metrics", "GET", &HttpServer::HandleMetrics, Access::kRead, "GET, HEAD"},
  }};
  const auto it = std::find_if(kRoutes.begin(), kRoutes.end(),
                               [path](const Route& route) { return route.path == path; });
  return it == kRoutes.end() ? nullptr : &*it;
}

void HttpServer::Serve(const HttpRequest& req, HttpResponse& res, PendingAnswer& later) {
  std::optional<std::string> failure;
  try {
    Dispatch(req, res, later);
    if (!later) return;  // parked: Finish() comes with the answer
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  if (failure) {
    spdlog::error("HTTP {} {}: {}", Printable(req.method), Printable(req.path), *failure);
    res = HttpResponse();
    ReplyError(res, 500, "internal", "the server failed to answer this request");
  }
  Finish(req, res);
}

void HttpServer::Refuse(const HttpRequest& req, const RequestError& error, HttpResponse& res) {
  ReplyError(res, error.status, error.code, error.message);
  Finish(req, res);
}

void HttpServer::Dispatch(const HttpRequest& req, HttpResponse& res, PendingAnswer& later) {
  const Route* route = FindRoute(req.path);
  if (route == nullptr) return ReplyNotFound(req, res);
  const bool served =
      req.method == route->method || (req.method == "HEAD" && route->method == "GET");
  if (!served) return RejectMethod(req, route->allow, res);
  if (!AdmitHost(req, res)) return;
  if (route->access == Access::kWrite && (!AdmitOrigin(req, res) || !AdmitWrite(req, res))) return;
  (this->*route->endpoint)(req, res, later);
}

void HttpServer::Finish(const HttpRequest& req, HttpResponse& res) {
  // Every answer carries the board index: the one the handler rendered, or
  // the current one for errors.
  if (!res.HasHeader(kIndexHeader)) SetIndex(res, board_.Current().index);
  if (!res.HasHeader("Cache-Control")) res.SetHeader("Cache-Control", "no-store");
  // The path label is a known endpoint or "other": clients choose paths,
  // and each label value is a series kept forever.
  const Route* route = FindRoute(req.path);
  metrics_.http_requests.Increment(
      {route != nullptr ? std::string(route->path) : std::string("other"),
       std::to_string(res.status)});
  // Printable() would run for every request even with debug lines off.
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("HTTP {} {} from {} -> {}", Printable(req.method), Printable(req.target),
                  req.remote_addr, res.status);
  }
}

void HttpServer::RejectMethod(const HttpRequest& req, std::string_view allow, HttpResponse& res) {
  if (!AdmitHost(req, res)) return;
  ReplyError(
      res, 405, "method_not_allowed",
      Printable(req.method) + " " + req.path + " is not served: expected " + std::string(allow));
  res.SetHeader("Allow", std::string(allow));
}

bool HttpServer::AdmitHost(const HttpRequest& req, HttpResponse& res) const {
  const size_t hosts = req.HeaderCount("Host");
  if (hosts > 1) {
    ReplyError(res, 400, "bad_request",
               "the request has " + std::to_string(hosts) + " Host headers: expected one");
    return false;
  }
  const std::string_view host = req.Header("Host");
  if (settings()->policy.AllowsHost(host, req.unix_socket)) return true;
  ReplyError(res, 403, "forbidden_host",
             "Host \"" + Printable(host) +
                 "\" is not allowed: expected an IP address, localhost or a name listed in "
                 "http.allowed_hosts");
  return false;
}

bool HttpServer::AdmitOrigin(const HttpRequest& req, HttpResponse& res) const {
  const std::string_view origin = req.Header("Origin");
  const std::string_view fetch_site = req.Header("Sec-Fetch-Site");
  const bool one_each = req.HeaderCount("Origin") <= 1 && req.HeaderCount("Sec-Fetch-Site") <= 1;
  if (one_each && HostPolicy::IsSameOrigin(origin, fetch_site, req.Header("Host"))) return true;
  ReplyError(res, 403, "cross_site_request",
             req.method + " " + req.path + " from a web page is refused (Origin \"" +
                 Printable(origin) + "\", Sec-Fetch-Site \"" + Printable(fetch_site) +
                 "\"): expected no Origin or http://<Host> (" + Printable(req.Header("Host")) +
                 "), and Sec-Fetch-Site same-origin or none; curl and the zkelect commands send "
                 "neither");
  return false;
}

bool HttpServer::AdmitWrite(const HttpRequest& req, HttpResponse& res) const {
  switch (settings()->policy.CheckWrite(req.Header("Authorization"), req.unix_socket)) {
    case HostPolicy::WriteAccess::kAllowed:
      return true;
    case HostPolicy::WriteAccess::kUnauthorized:
      ReplyError(res, 401, "unauthorized",
                 req.method + " " + req.path +
                     " needs the header \"Authorization: Bearer <token>\" with the token of "
                     "http.token_file");
      res.SetHeader("WWW-Authenticate", "Bearer realm=\"zkelect\"");
      return false;
    case HostPolicy::WriteAccess::kTokenRequired:
      ReplyError(res, 403, "token_required",
                 req.method + " " + req.path + " is refused: the server listens on " +
                     listen_urls() +
                     ", beyond loopback, without a token: expected http.token_file to be set, or "
                     "the request over a unix: listener");
      return false;
  }
  return false;
}

void HttpServer::ReplyView(HttpResponse& res, const ViewAnswer& answer,
                           const StateBoard::View& view) {
  const std::shared_ptr<const Answer> reply = answer(view);
  Reply(res, reply->status, reply->body);
  SetIndex(res, view.index);
}

void HttpServer::ServeView(const HttpRequest& req, HttpResponse& res, PendingAnswer& later,
                           StateBoard::Topic topic, const ViewAnswer& answer,
                           const ViewAnswer* now_answer) {
  const std::shared_ptr<const Reloadable> settings = this->settings();
  const Result<LongPollParams> params = ParseLongPollParams(req.params, settings->config);
  if (!params.ok()) return ReplyError(res, 400, "bad_request", params.status().message());

  const StateBoard::View view = board_.Current();
  // Park only when the client has seen exactly this index. An older one means
  // news already; a newer one cannot come from this process (the daemon was
  // restarted and its index began again), so the client must hear now.
  if (!params->index || *params->index != view.index) {
    return ReplyView(res, now_answer ? *now_answer : answer, view);
  }
  if (waiters_.fetch_add(1) >= settings->config.max_waiters) {
    waiters_.fetch_sub(1);
    return ReplyError(res, 503, "too_many_waiters",
                      std::to_string(settings->config.max_waiters) +
                          " long-polls are parked already (http.max_waiters): expected a retry "
                          "later, or a request without index");
  }
  // What Finish() reads of the request; the rest (headers, body) is not kept
  // while the poll is parked.
  HttpRequest request;
  request.method = req.method;
  request.target = req.target;
  request.path = req.path;
  request.remote_addr = req.remote_addr;
  auto poll = std::make_shared<ParkedPoll>(waiters_, std::move(request), std::move(later));
  // The server watches for the hang-up only once this handler has returned,
  // so the ticket is set by then (ConnectionServer orders the two).
  poll->pending.OnHangUp([this, poll = std::weak_ptr<ParkedPoll>(poll)] {
    if (const std::shared_ptr<ParkedPoll> gone = poll.lock()) hub_.Cancel(gone->ticket);
  });
  poll->ticket = hub_.Park(topic, *params->index, std::chrono::steady_clock::now() + params->wait,
                           [this, answer, poll](const StateBoard::View& ended) {
                             HttpResponse response;
                             ReplyView(response, answer, ended);
                             poll->Release();
                             Finish(poll->request, response);
                             poll->pending.Send(response);
                           });
}

void HttpServer::HandleLeader(const HttpRequest& req, HttpResponse& res, PendingAnswer& later) {
  ServeView(req, res, later, StateBoard::Topic::kLeader,
            [this](const StateBoard::View& view) { return leader_answers_.Get(view); });
}

void HttpServer::HandleStatus(const HttpRequest& req, HttpResponse& res, PendingAnswer& later) {
  const ViewAnswer now = [this](const StateBoard::View& view) { return StatusAnswer(view, true); };
  ServeView(
      req, res, later, StateBoard::Topic::kAny,
      [this](const StateBoard::View& view) { return StatusAnswer(view, false); }, &now);
}

std::shared_ptr<const HttpServer::Answer> HttpServer::StatusAnswer(const StateBoard::View& view,
                                                                    bool may_wait) {
  // A session that is not connected reads nothing: the ids known are shown.
  const bool connected = view.snapshot->session.state == "connected";
  const auto deadline = std::chrono::steady_clock::now() +
                        (may_wait && connected ? kCandidateIdWait : std::chrono::milliseconds(0));
  const CandidateIds ids =
      candidate_ids_->Lookup(view.index, view.snapshot->candidates, connected, deadline);
  // Not cached: it shows the parked waiters, which change between requests.
  return std::make_shared<const Answer>(
      Answer{200, StatusBody(*view.snapshot, view.index, version_,
                             HttpStats{waiters_.load(), settings()->config.max_waiters}, ids)});
}

void HttpServer::HandleIsLeader(const HttpRequest& req, HttpResponse& res, PendingAnswer& later) {
  ServeView(req, res, later, StateBoard::Topic::kRole,
            [this](const StateBoard::View& view) { return is_leader_answers_.Get(view); });
}

void HttpServer::HandleStatusPage(const HttpRequest&, HttpResponse& res, PendingAnswer&) {
  const std::string nonce = NewNonce();
  res.SetContent(StatusPageHtml(nonce), "text/html; charset=utf-8");
  res.SetHeader("Content-Security-Policy", StatusPagePolicy(nonce));
  res.SetHeader("X-Content-Type-Options", "nosniff");
  res.SetHeader("Referrer-Policy", "no-referrer");
}

void HttpServer::HandleHealthz(const HttpRequest&, HttpResponse& res, PendingAnswer&) {
  const bool responsive = control_.IsResponsive();
  Reply(res, responsive ? 200 : 503, HealthBody(responsive));
}

void HttpServer::HandleReadyz(const HttpRequest&, HttpResponse& res, PendingAnswer&) {
  const StateBoard::View view = board_.Current();
  Reply(res, view.snapshot->ready ? 200 : 503, ReadyBody(*view.snapshot, view.index));
  SetIndex(res, view.index);
}

void HttpServer::HandleMetrics(const HttpRequest&, HttpResponse& res, PendingAnswer&) {
  const StateBoard::View view = board_.Current();
  res.status = 200;
  res.SetContent(metrics_.Render(*view.snapshot, waiters_.load(), BootClock::now()),
                 kPrometheusContentType);
  SetIndex(res, view.index);
}

std::optional<ElectionControl::ResignOutcome> HttpServer::AwaitControl(
    std::string_view what, const std::function<void(ControlDone)>& ask, HttpResponse& res) {
  auto call = std::make_shared<ResignCall>();
  {
    MutexLock lock(&mu_);
    if (stopping_) {
      ReplyError(res, 503, "shutting_down", "the daemon is shutting down");
      return std::nullopt;
    }
    if (resign_calls_.size() >= kMaxPendingResigns) {
      ReplyError(res, 503, "too_many_resigns",
                 std::to_string(resign_calls_.size()) +
                     " resign, withdraw or join requests are pending already: expected a retry "
                     "once they are answered");
      return std::nullopt;
    }
    resign_calls_.insert(call);
  }
  ask([call](ElectionControl::ResignOutcome outcome) { call->Finish(outcome); });
  ElectionControl::ResignOutcome outcome{};
  const ResignCall::End end =
      call->Await(std::chrono::steady_clock::now() + kResignTimeout, &outcome);
  {
    MutexLock lock(&mu_);
    resign_calls_.erase(call);
  }
  if (end == ResignCall::End::kTimeout) {
    spdlog::warn("HTTP POST /{}: no answer from the election loop within {}", what,
                 FormatDuration(kResignTimeout));
    ReplyError(res, 503, std::string(what) + "_timeout",
               "the election loop did not finish the " + std::string(what) + " within " +
                   FormatDuration(kResignTimeout) + "; see /status for the current role");
    return std::nullopt;
  }
  if (end == ResignCall::End::kAbandoned) {
    ReplyError(res, 503, "shutting_down", "the daemon is shutting down");
    return std::nullopt;
  }
  return outcome;
}

void HttpServer::HandleResign(const HttpRequest& req, HttpResponse& res, PendingAnswer&) {
  const Result<ResignParams> params = ParseResignParams(req.params);
  if (!params.ok()) return ReplyError(res, 400, "bad_request", params.status().message());
  const std::optional<ElectionControl::ResignOutcome> outcome = AwaitControl(
      "resign", [&](ControlDone done) { control_.Resign(params->hold, std::move(done)); }, res);
  if (!outcome) return;
  switch (*outcome) {
    case ElectionControl::ResignOutcome::kDone:
      return Reply(res, 200, ResignedBody(params->hold));
    case ElectionControl::ResignOutcome::kNotLeader:
      return ReplyError(res, 409, "not_leader",
                        "this node is not the leader (role: " +
                            std::string(RoleName(board_.Current().snapshot->role)) +
                            "): expected POST /resign on the leader");
    case ElectionControl::ResignOutcome::kShuttingDown:
      return ReplyError(res, 503, "shutting_down", "the daemon is shutting down");
    case ElectionControl::ResignOutcome::kCancelled:
      return ReplyCancelled(res);
    case ElectionControl::ResignOutcome::kObserver:
    case ElectionControl::ResignOutcome::kNotSaved:
      break;
  }
  ReplyError(res, 500, "internal", "unexpected outcome of a resign");
}

void HttpServer::HandleWithdraw(const HttpRequest&, HttpResponse& res, PendingAnswer&) {
  AnswerMaintenance(/*on=*/true, res);
}

void HttpServer::HandleJoin(const HttpRequest&, HttpResponse& res, PendingAnswer&) {
  AnswerMaintenance(/*on=*/false, res);
}

void HttpServer::AnswerMaintenance(bool on, HttpResponse& res) {
  const std::string_view what = on ? "withdraw" : "join";
  const std::optional<ElectionControl::ResignOutcome> outcome = AwaitControl(
      what, [&](ControlDone done) { control_.SetMaintenance(on, std::move(done)); }, res);
  if (!outcome) return;
  switch (*outcome) {
    case ElectionControl::ResignOutcome::kDone:
      return Reply(res, 200, MaintenanceBody(on));
    case ElectionControl::ResignOutcome::kObserver:
      return ReplyError(res, 409, "observer",
                        "this node is an observer (election.campaign = false): it holds no place "
                        "in the election; expected POST /" +
                            std::string(what) + " on a candidate");
    case ElectionControl::ResignOutcome::kNotSaved:
      return ReplyError(res, 500, "state_not_saved",
                        "the maintenance state could not be written to state_dir (see the "
                        "daemon's log); nothing changed");
    case ElectionControl::ResignOutcome::kShuttingDown:
      return ReplyError(res, 503, "shutting_down", "the daemon is shutting down");
    case ElectionControl::ResignOutcome::kCancelled:
      return ReplyCancelled(res);
    case ElectionControl::ResignOutcome::kNotLeader:
      break;
  }
  ReplyError(res, 500, "internal", "unexpected outcome of a " + std::string(what));
}

}  // namespace zkelect
