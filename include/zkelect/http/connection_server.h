#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "zkelect/common/mutex.h"

namespace zkelect {

class ConnectionServer;
class ConnectionStream;
class ElasticThreadPool;
struct HttpConnection;  // connection_server.cc
struct HttpRequest;
struct HttpResponse;
struct RequestError;

// The answer to a request that its handler gives later, from any thread (a
// parked long-poll); meanwhile the connection waits without a thread.
// Move-only; must not outlive its ConnectionServer. Dropped unsent, or sent
// once Serve() has returned, it closes the connection.
class PendingAnswer {
 public:
  PendingAnswer() = default;
  PendingAnswer(PendingAnswer&&) noexcept = default;
  // Drops what this one held (as the destructor), then takes `other`'s.
  PendingAnswer& operator=(PendingAnswer&& other) noexcept;
  // Unsent: stops watching the connection and closes it (once nothing else
  // holds it).
  ~PendingAnswer();

  // Whether there is a connection to answer: not sent yet, not moved away.
  explicit operator bool() const { return connection_ != nullptr; }

  // While the answer is pending, the server watches the connection, from
  // the moment the handler returns: when the client goes away (a reset, an
  // error, or the end of its stream: a client that half-closes after its
  // request will not read the answer of a long wait either), `gone` runs
  // once, on the server's accept thread, and should drop this answer
  // (sending it is harmless too). It never runs after Send() began or once
  // this answer is dropped. Call before moving the answer away; must not
  // block. Without it, a client that goes away is noticed only by Send().
  void OnHangUp(std::function<void()> gone);

  // Writes `response` (its head only, for a HEAD request) as far as the
  // socket takes it without waiting, and hands the connection back to the
  // server, which writes the rest on a connection thread and then serves
  // the next request or closes. Once; does nothing on an empty one.
  void Send(const HttpResponse& response);

 private:
  friend class ConnectionServer;

  // `response` on the wire, announcing whether the connection goes on
  // (`*keep_alive`: if the request allows it and the server is not
  // stopping).
  std::string Serialize(const HttpResponse& response, bool* keep_alive) const;
  // Stops the watch for hang-up, if any; keeps the connection.
  void Unwatch();

  ConnectionServer* server_ = nullptr;
  std::shared_ptr<HttpConnection> connection_;
  bool head_only_ = false;
  bool keep_alive_ = false;  // the request allows it, and it is not the connection's last
  bool http10_ = false;
};

// An HTTP/1.1 server whose connections cannot starve each other. It accepts,
// reads and parses requests (http_request.h), hands each to a handler and
// writes the answer (http_response.h); what the answers say is the
// handler's business.
//  - Each connection runs on an elastic pool thread (up to `max_threads`),
//    so idle or slow connections park threads but never block new ones.
//  - A connection waits at most `idle_timeout` for a request to begin (the
//    first one too), and a request must arrive whole within
//    `request_timeout` of its first byte and `max_request_bytes`; then the
//    connection is closed.
//  - Keep-alive per HTTP/1.x, up to `max_requests_per_connection` requests
//    (pipelined ones too, answered in order); "Expect: 100-continue" gets its
//    "100 Continue" before the body is read. A request that cannot be parsed
//    is answered by the error handler and the connection closed.
//  - Stop() closes idle keep-alive connections at once instead of letting
//    them run out their timeout.
//  - A handler may answer later (PendingAnswer): the connection then holds
//    no thread until the answer is sent, and the accept thread watches it
//    for the client's hang-up (PendingAnswer::OnHangUp), so that a client
//    that went away does not hold what its request reserved until then.
//
// Bind(), Serve() and Stop() are for the owning thread(s): Serve() blocks
// (typically on a thread of its own) until Stop(), which may come from any
// thread, before or during Serve(). The handlers run on pool threads,
// concurrently.
class ConnectionServer final {
 public:
  struct Limits {
    size_t max_threads = 256;
    std::chrono::milliseconds idle_timeout{2'000};
    std::chrono::milliseconds request_timeout{5'000};
    std::chrono::milliseconds write_timeout{5'000};
    size_t max_request_bytes = 256 * 1024;  // request line, headers and body
    size_t max_body_bytes = 64 * 1024;      // Content-Length beyond: 413
    size_t max_requests_per_connection = 100;
  };

  // Fills the answer to a parsed request, or moves `later` away to send the
  // answer from elsewhere (`response` is ignored then). `request.method` is
  // never HEAD's business: a HEAD answer is written without its body.
  using Handler =
      std::function<void(const HttpRequest& request, HttpResponse& response, PendingAnswer& later)>;
  // Fills the answer to a request refused by the parser; `request` holds
  // what was parsed before the error (perhaps nothing).
  using ErrorHandler = std::function<void(const HttpRequest& request, const RequestError& error,
                                          HttpResponse& response)>;

  ConnectionServer(const Limits& limits, Handler handler, ErrorHandler error_handler);
  ConnectionServer(const ConnectionServer&) = delete;
  ConnectionServer& operator=(const ConnectionServer&) = delete;
  // Closes the sockets; Serve() must have returned (or never run).
  ~ConnectionServer();

  // Binds host:port (port 0: a free one) with SO_REUSEADDR but not
  // SO_REUSEPORT (which would let a second daemon bind the same port without
  // an error), and listens with a backlog of SOMAXCONN. `host` is a numeric
  // address or a name; an IPv6 literal comes without brackets. Returns the
  // port, or -1 with errno set (0 for a host that resolves to nothing).
  // May be called for more than one address, before Serve().
  int Bind(const std::string& host, int port);

  // Serves the connections of `socket` too: a listening stream socket of any
  // family (a Unix-domain one: UnixSocketFile), non-blocking and
  // close-on-exec, which the server owns from now on. Before Serve().
  void AddListener(int socket);

  // Accepts and serves connections until Stop(); then lets the requests in
  // progress finish, joins every connection thread and returns. Answers
  // still pending then are the owner's: sent later, their connections are
  // closed. Call once, after a successful Bind().
  void Serve() EXCLUDES(mu_);

  // Stops accepting and closes idle connections; Serve() then returns once
  // the requests in progress are answered. Any thread; idempotent.
  void Stop() EXCLUDES(mu_);

 private:
  friend class PendingAnswer;

  // What a connection does after a request.
  enum class Next {
    kRead,      // wait for the next request
    kClose,     // close it
    kDeferred,  // nothing here: a PendingAnswer has it
  };

  // Accepts what `listen_fd` has queued; false, with errno set, when the
  // process is out of descriptors (the caller backs off).
  bool AcceptReady(int listen_fd, ElasticThreadPool& pool);
  // Serves a connection until it closes, breaks, times out or waits for a
  // pending answer.
  void ServeConnection(std::shared_ptr<HttpConnection> connection) EXCLUDES(mu_);
  // Reads, answers and writes one request.
  Next ServeRequest(const std::shared_ptr<HttpConnection>& connection, bool last) EXCLUDES(mu_);
  // A sent PendingAnswer gives its connection back (any thread): Serve()
  // has it finished on the pool.
  void Resume(std::shared_ptr<HttpConnection> connection) EXCLUDES(mu_);
  // Hands the resumed connections to the pool (Serve()'s thread).
  void DispatchResumed(ElasticThreadPool& pool) EXCLUDES(mu_);
  // On the pool: writes what a pending answer could not, then goes on.
  void Continue(std::shared_ptr<HttpConnection> connection) EXCLUDES(mu_);
  bool stopping() const EXCLUDES(mu_);
  // Waits for the next request on `stream`, where Stop() can cut it short.
  bool AwaitRequest(ConnectionStream& stream) EXCLUDES(mu_);
  // Answers `error` and ends the connection.
  void Refuse(ConnectionStream& stream, const HttpRequest& request, const RequestError& error);
  // After its handler deferred the answer: watches the connection for the
  // client's hang-up if the handler asked for it (PendingAnswer::OnHangUp)
  // and the answer is not sent yet.
  void WatchHangUp(const std::shared_ptr<HttpConnection>& connection) EXCLUDES(mu_);
  // Ends the watch `watch_id` of `socket` (0: none), once its answer is
  // sent or dropped, or its client went away.
  void Unwatch(int socket, uint64_t watch_id) EXCLUDES(mu_);
  // Runs the hang-up callbacks of the connections that epoll reports gone
  // (Serve()'s thread).
  void DispatchHangUps() EXCLUDES(mu_);

  // Constant after construction.
  const Limits limits_;
  const Handler handler_;
  const ErrorHandler error_handler_;
  const int wake_fd_;            // eventfd: Stop() wakes Serve()
  const int resume_fd_;          // eventfd: Resume() wakes Serve()
  const int hang_up_fd_;         // epoll: parked connections whose clients may go away
  std::vector<int> listen_fds_;  // Bind(), AddListener(); closed when Serve() ends

  mutable Mutex mu_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::set<int> idle_ GUARDED_BY(mu_);  // sockets waiting for a request
  std::vector<std::shared_ptr<HttpConnection>> resumed_ GUARDED_BY(mu_);
  bool finished_ GUARDED_BY(mu_) = false;  // Serve() is done: resumed ones are closed
  // Watched parked connections by watch id (the epoll events' data).
  std::map<uint64_t, std::weak_ptr<HttpConnection>> watched_ GUARDED_BY(mu_);
  uint64_t last_watch_id_ GUARDED_BY(mu_) = 0;
};

}  // namespace zkelect
