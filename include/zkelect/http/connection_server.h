#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <set>
#include <string>

#include "zkelect/common/mutex.h"

namespace zkelect {

class ConnectionStream;
class ElasticThreadPool;
struct HttpRequest;
struct HttpResponse;
struct RequestError;

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

  // Fills the answer to a parsed request. `request.method` is never HEAD's
  // business: a HEAD answer is written without its body.
  using Handler = std::function<void(const HttpRequest& request, HttpResponse& response)>;
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
  // Call once, before Serve().
  int Bind(const std::string& host, int port);

  // Accepts and serves connections until Stop(); then lets the requests in
  // progress finish, joins every connection thread and returns. Call once,
  // after a successful Bind().
  void Serve() EXCLUDES(mu_);

  // Stops accepting and closes idle connections; Serve() then returns once
  // the requests in progress are answered. Any thread; idempotent.
  void Stop() EXCLUDES(mu_);

 private:
  // Accepts what the listen socket has queued; false, with errno set, when
  // the process is out of descriptors (the caller backs off).
  bool AcceptReady(ElasticThreadPool& pool);
  // Serves one accepted connection until it closes, breaks or times out.
  void ServeConnection(int sock) EXCLUDES(mu_);
  // Reads, answers and writes one request; false when the connection must
  // close.
  bool ServeRequest(ConnectionStream& stream, const std::string& remote_addr, bool last)
      EXCLUDES(mu_);
  // Waits for the next request on `stream`, where Stop() can cut it short.
  bool AwaitRequest(ConnectionStream& stream) EXCLUDES(mu_);
  // Answers `error` and ends the connection.
  void Refuse(ConnectionStream& stream, const HttpRequest& request, const RequestError& error);

  // Constant after construction.
  const Limits limits_;
  const Handler handler_;
  const ErrorHandler error_handler_;
  const int wake_fd_;   // eventfd: Stop() wakes Serve()
  int listen_fd_ = -1;  // set by Bind()

  Mutex mu_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::set<int> idle_ GUARDED_BY(mu_);  // sockets waiting for a request
};

}  // namespace zkelect
