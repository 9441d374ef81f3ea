#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <set>
#include <string>

#include "zkelect/common/mutex.h"
#include "zkelect/http/elastic_thread_pool.h"

namespace zkelect {

class ConnectionStream;

// An httplib::Server whose connections cannot starve each other: the
// library keeps routing, parsing and writing, and this class replaces how a
// connection is served (see ElasticThreadPool and ConnectionStream).
//  - Each connection runs on an elastic pool thread (up to `max_threads`),
//    so idle or slow connections park threads but never block new ones.
//  - A connection waits at most `idle_timeout` for a request to begin (the
//    first one too), and a request must arrive whole within
//    `request_timeout` of its first byte and `max_request_bytes`; then the
//    connection is closed.
//  - Stop() closes idle keep-alive connections at once instead of letting
//    them run out their timeout.
// Includes <httplib.h>: build with the library's pkg-config flags.
//
// Configure it like an httplib::Server before listening; Stop() is for the
// owning thread.
class ConnectionServer final : public httplib::Server {
 public:
  struct Limits {
    size_t max_threads = 256;
    std::chrono::milliseconds idle_timeout{2'000};
    std::chrono::milliseconds request_timeout{5'000};
    std::chrono::milliseconds write_timeout{5'000};
    size_t max_request_bytes = 256 * 1024;  // request line, headers and body
    size_t max_requests_per_connection = 100;
  };

  explicit ConnectionServer(const Limits& limits);
  ConnectionServer(const ConnectionServer&) = delete;
  ConnectionServer& operator=(const ConnectionServer&) = delete;

  // Binds host:port (port 0: a free one) with SO_REUSEADDR but not the
  // library's SO_REUSEPORT (which would let a second daemon bind the same
  // port without an error), and a listen backlog of SOMAXCONN instead of 5.
  // Returns the port, or -1 with errno set (0 for an unusable host).
  int Bind(const std::string& host, int port);

  // Stops accepting and closes idle connections; listen_after_bind() then
  // returns once the requests in progress are answered.
  void Stop() EXCLUDES(mu_);

 private:
  // Serves one accepted connection until it closes, breaks or times out.
  // Called by the library on a pool thread.
  bool process_and_close_socket(int sock) override;
  // Waits for the next request on `stream`, where Stop() can cut it short.
  bool AwaitRequest(ConnectionStream& stream) EXCLUDES(mu_);

  // Constant after construction.
  const Limits limits_;
  int listen_socket_ = -1;  // set while binding

  Mutex mu_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::set<int> idle_ GUARDED_BY(mu_);  // sockets waiting for a request
};

}  // namespace zkelect
