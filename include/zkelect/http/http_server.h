#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "zkelect/common/mutex.h"
#include "zkelect/common/status.h"
#include "zkelect/config/config.h"
#include "zkelect/election/candidate_id_cache.h"
#include "zkelect/election/election_control.h"
#include "zkelect/election/state_board.h"
#include "zkelect/http/answer_cache.h"
#include "zkelect/http/host_policy.h"
#include "zkelect/http/long_poll_hub.h"

namespace zkelect {

class ConnectionServer;
class PendingAnswer;
class UnixSocketFile;
struct HttpRequest;
struct HttpResponse;
struct Metrics;
struct RequestError;

// The HTTP API of design §4, served by ConnectionServer: GET /leader, /status,
// /is-leader (also HEAD; all three long-poll with ?index=N&wait=D), /healthz,
// /readyz, POST /resign, GET /metrics (Prometheus text format) and GET / (the
// status page, HTML). Answers are JSON, errors
// `{"error": {"code", "message"}}`, and every answer, refused requests
// included, carries `X-Zkelect-Index` and `Cache-Control: no-store`.
//
// Handlers are thin: they parse, read a snapshot from the board (or park a
// long-poll in the hub), or ask `control` for a resign and wait for its
// answer, then render. They never touch the election state. /status also
// names the candidates by id (CandidateIdCache): what is not cached yet is
// read through `control` and awaited for at most 250 ms.
//
// Threads: a connection is served on a thread of its own while it reads or
// answers a request, made on demand (ConnectionServer), up to
// http.max_waiters + 1024. A parked long-poll holds no thread: one hub
// thread answers them all (LongPollHub). At most http.max_waiters
// long-polls park at once (one more gets 503 too_many_waiters at once) and
// at most 4 resigns wait for the election loop (503 too_many_resigns), so
// that /healthz, /is-leader and /resign always find a thread. Idle and
// half-sent connections are closed after 2s and 5s. A parked long-poll
// whose client goes away (reset, or end of its stream) gives its place back
// at once.
//
// Security (HostPolicy): Host names other than IP literals, localhost and
// http.allowed_hosts are refused (DNS rebinding); POSTs need the token when
// one is set, or a loopback listener; and a POST that carries a foreign
// Origin or a cross-site Sec-Fetch-Site is refused (CSRF from a web page).
//
// Listeners: every address of http.listen, TCP ("host:port") or a
// Unix-domain socket ("unix:/path", UnixSocketFile: created with
// http.socket_mode, removed by Stop()), all serving the same API. A request
// over the socket comes from this host: any Host header is accepted, and a
// POST needs no token unless one is configured.
//
// Start() and Stop() are for the owning thread and must not run concurrently;
// port(), listen_address() and listen_urls() are valid after a successful
// Start().
class HttpServer {
 public:
  // `board`, `control` and `metrics` must outlive the server; requests are
  // counted in `metrics`, which GET /metrics renders. Nothing is bound yet.
  HttpServer(const HttpConfig& config, const StateBoard& board, ElectionControl& control,
             Metrics& metrics, std::string version);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  // Calls Stop().
  ~HttpServer();

  // Binds every address of http.listen (port 0: a free port) and starts
  // serving on the server's own threads. Logs one warning when POST
  // endpoints are open to every local user (HostPolicy::OpenToLocalUsers).
  // Errors: InvalidArgument when an address is not host:port or
  // unix:/path (or the path is too long), Unavailable when it cannot be
  // bound (another daemon listens on the socket, a file is in the way);
  // both name the address. Nothing stays bound then. Call once, before
  // Stop() (Internal otherwise).
  Status Start();

  // The bound port of the first TCP listener (the real one when http.listen
  // asked for port 0); 0 when there is none.
  int port() const { return port_; }

  // Long-polls parked right now (for metrics and tests). Any thread.
  int waiters() const { return waiters_.load(); }

  // The first TCP listener, "host:port" as bound, e.g. "127.0.0.1:4040" or
  // "[::1]:4040"; empty when there is none.
  std::string listen_address() const;

  // Every listener, for people: "http://127.0.0.1:4040 and
  // unix:/run/zkelect/api.sock".
  std::string listen_urls() const;

  // A live reload: requests read from now on use `config`'s
  // http.allowed_hosts, token and long-poll limits (max_waiters,
  // default_wait, max_wait); a request already admitted, or a long-poll
  // already parked, keeps the settings it was admitted with. http.listen is
  // not changed (the caller refuses a reload that changes it), and neither
  // is the thread limit made from max_waiters at Start(). Logs Start()'s
  // warning when this reload opens POST endpoints to every local user. Any
  // thread.
  void Reconfigure(const HttpConfig& config) EXCLUDES(settings_mu_);

  // Stops accepting, answers parked long-polls with the current view and
  // pending /resign requests with 503 shutting_down, lets requests in
  // progress finish and joins every thread; idle keep-alive connections are
  // closed at once. Idempotent.
  void Stop();

 private:
  struct ResignCall;
  struct ParkedPoll;
  using Answer = AnswerCache::Answer;
  // Answers in the HttpResponse, or moves the PendingAnswer away to answer
  // later (a parked long-poll).
  using Endpoint = void (HttpServer::*)(const HttpRequest&, HttpResponse&, PendingAnswer&);
  enum class Access { kRead, kWrite };
  struct Route;

  // The endpoint at `path`, or nullptr.
  static const Route* FindRoute(std::string_view path);

  // The handlers given to ConnectionServer (pool threads): answer a parsed
  // request (perhaps later), or one the parser refused, then Finish().
  void Serve(const HttpRequest& req, HttpResponse& res, PendingAnswer& later);
  void Refuse(const HttpRequest& req, const RequestError& error, HttpResponse& res);
  // Routes `req` to its endpoint, or answers 404 or 405.
  void Dispatch(const HttpRequest& req, HttpResponse& res, PendingAnswer& later);
  // What every answer gets: the index and Cache-Control headers, the
  // request counted in the metrics, a debug log line.
  void Finish(const HttpRequest& req, HttpResponse& res);
  // Answers a known path with a method it does not serve: 405 and Allow.
  void RejectMethod(const HttpRequest& req, std::string_view allow, HttpResponse& res);
  bool AdmitHost(const HttpRequest& req, HttpResponse& res) const;
  // A state-changing request from a web page of another origin (CSRF): 403
  // cross_site_request. See HostPolicy::IsSameOrigin().
  bool AdmitOrigin(const HttpRequest& req, HttpResponse& res) const;
  bool AdmitWrite(const HttpRequest& req, HttpResponse& res) const;

  // Binds one address of http.listen on server_.
  Status Listen(const std::string& address);

  // Answers with the view, or parks a long-poll (for a change of `topic`)
  // in the hub and answers when it ends: for /leader, /status and
  // /is-leader.
  using ViewAnswer = std::function<std::shared_ptr<const Answer>(const StateBoard::View&)>;
  // `now_answer`, when given, renders the answer given at once instead of
  // `answer` (which also renders the answer of a parked poll, on the hub's
  // thread, where nothing may wait).
  void ServeView(const HttpRequest& req, HttpResponse& res, PendingAnswer& later,
                 StateBoard::Topic topic, const ViewAnswer& answer,
                 const ViewAnswer* now_answer = nullptr);
  // The /status answer for `view`, with the candidates' ids as the cache has
  // them (reading those it lacks while the session is connected).
  // `may_wait`: wait up to kCandidateIdWait for the reads under way (not on
  // the hub's thread).
  std::shared_ptr<const Answer> StatusAnswer(const StateBoard::View& view, bool may_wait);
  // The cache's reader: asks `control_` for the nodes' data.
  void ReadCandidateIds(std::vector<std::string> nodes);
  // Answers with `view` as `answer` renders it, and its index.
  static void ReplyView(HttpResponse& res, const ViewAnswer& answer, const StateBoard::View& view);

  // GET /: the status page (status_page.h).
  void HandleStatusPage(const HttpRequest& req, HttpResponse& res, PendingAnswer& later);
  void HandleLeader(const HttpRequest& req, HttpResponse& res, PendingAnswer& later);
  void HandleStatus(const HttpRequest& req, HttpResponse& res, PendingAnswer& later);
  void HandleIsLeader(const HttpRequest& req, HttpResponse& res, PendingAnswer& later);
  void HandleHealthz(const HttpRequest& req, HttpResponse& res, PendingAnswer& later);
  void HandleReadyz(const HttpRequest& req, HttpResponse& res, PendingAnswer& later);
  void HandleResign(const HttpRequest& req, HttpResponse& res, PendingAnswer& later);
  void HandleWithdraw(const HttpRequest& req, HttpResponse& res, PendingAnswer& later);
  void HandleJoin(const HttpRequest& req, HttpResponse& res, PendingAnswer& later);
  // POST /withdraw (`on`) and /join.
  void AnswerMaintenance(bool on, HttpResponse& res);
  using ControlDone = std::function<void(ElectionControl::ResignOutcome)>;
  // Every POST that asks the election loop (resign, withdraw, join): `ask`
  // sends the request with the callback to answer; waits for the outcome,
  // bounded. nullopt when `res` is answered already (503: shutting down,
  // too many pending, no answer in time).
  std::optional<ElectionControl::ResignOutcome> AwaitControl(
      std::string_view what, const std::function<void(ControlDone)>& ask, HttpResponse& res);
  void HandleMetrics(const HttpRequest& req, HttpResponse& res, PendingAnswer& later);

  // The one warning line for POST endpoints open to every local user.
  void WarnOpenToLocalUsers() const;

  // What Reconfigure() replaces, whole.
  struct Reloadable {
    HttpConfig config;
    HostPolicy policy;
  };
  std::shared_ptr<const Reloadable> settings() const EXCLUDES(settings_mu_);

  // Constant after construction (http.listen and the limits of Start()).
  const HttpConfig config_;
  const StateBoard& board_;
  ElectionControl& control_;
  Metrics& metrics_;
  const std::string version_;
  mutable Mutex settings_mu_;
  std::shared_ptr<const Reloadable> settings_ GUARDED_BY(settings_mu_);

  // Thread-safe: the answers of /leader and /is-leader, shared by the
  // requests that serve the same view.
  AnswerCache leader_answers_;
  AnswerCache is_leader_answers_;
  // Thread-safe: the candidates' ids for /status, read through `control_`
  // on demand. Constant after construction; the reads under way hold it
  // weakly (they may answer after the server is gone).
  const std::shared_ptr<CandidateIdCache> candidate_ids_;

  // Owned by the owning thread (Start/Stop); constant while serving.
  std::unique_ptr<ConnectionServer> server_;
  std::thread listener_;
  std::vector<std::string> bound_;  // as listen_urls() shows them
  std::string tcp_address_;         // listen_address()
  int port_ = 0;
  std::vector<std::unique_ptr<UnixSocketFile>> socket_files_;  // removed by Stop()

  // Long-polls parked right now (HTTP threads and the hub's).
  std::atomic<int> waiters_{0};
  // Where they wait. Started and stopped with the server.
  LongPollHub hub_;

  Mutex mu_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::set<std::shared_ptr<ResignCall>> resign_calls_ GUARDED_BY(mu_);  // awaiting an outcome
};

}  // namespace zkelect
