#include "zkelect/http/connection_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "zkelect/http/connection_stream.h"

namespace zkelect {
namespace {

using std::chrono::steady_clock;

// The library listens with a backlog of 5; a burst of probes and long-poll
// clients reconnecting after a change would overflow it and wait for a SYN
// retransmit (1s). Up to http.max_waiters clients (1000 and more) come back
// at once after a leader change; the kernel caps this at
// net.core.somaxconn (4096 by default).
constexpr int kListenBacklog = SOMAXCONN;

// A connection's deepest stack (parsing, routing, rendering JSON, logging)
// is a few tens of KiB; only touched pages become resident.
constexpr size_t kStackBytes = 256 * 1024;

void SetCork(int sock, bool on) {
  const int value = on ? 1 : 0;
  ::setsockopt(sock, IPPROTO_TCP, TCP_CORK, &value, sizeof(value));
}

// The library's hook for where connections run.
class PoolTaskQueue final : public httplib::TaskQueue {
 public:
  explicit PoolTaskQueue(const ElasticThreadPool::Options& options) : pool_(options) {}
  void enqueue(std::function<void()> fn) override { pool_.Submit(std::move(fn)); }
  void shutdown() override { pool_.Shutdown(); }

 private:
  ElasticThreadPool pool_;
};

}  // namespace

ConnectionServer::ConnectionServer(const Limits& limits) : limits_(limits) {
  new_task_queue = [max_threads = limits.max_threads]() -> httplib::TaskQueue* {
    ElasticThreadPool::Options options;
    options.max_threads = max_threads;
    options.stack_bytes = kStackBytes;
    return new PoolTaskQueue(options);
  };
  // Only for the Keep-Alive header that the library writes.
  set_keep_alive_timeout(std::chrono::ceil<std::chrono::seconds>(limits.idle_timeout).count());
  set_keep_alive_max_count(limits.max_requests_per_connection);
  set_socket_options([this](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_socket_ = sock;
  });
}

int ConnectionServer::Bind(const std::string& host, int port) {
  errno = 0;
  const int bound = port == 0 ? bind_to_any_port(host) : (bind_to_port(host, port) ? port : -1);
  if (bound > 0 && ::listen(listen_socket_, kListenBacklog) != 0) {
    spdlog::warn("HTTP: cannot widen the listen backlog of port {}: {}", bound,
                 std::strerror(errno));
  }
  return bound;
}

void ConnectionServer::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    // Wakes their poll(): they read the end of the stream and close.
    for (const int sock : idle_) ::shutdown(sock, SHUT_RDWR);
  }
  stop();
}

// Replaces the library's loop, which polls an idle connection every 10ms
// for up to the keep-alive timeout, and reads with a timeout per byte.
bool ConnectionServer::process_and_close_socket(int sock) {
  ConnectionStream stream(sock, limits_.write_timeout);
  for (size_t served = 0; served < limits_.max_requests_per_connection; ++served) {
    if (!AwaitRequest(stream)) break;
    stream.BeginRequest(steady_clock::now() + limits_.request_timeout, limits_.max_request_bytes);
    const bool last = served + 1 == limits_.max_requests_per_connection;
    bool client_closes = false;
    // The library writes a response's head and body in two sends; corked,
    // they leave as one segment when the request is done (one packet and
    // one wake-up of the client instead of two, which counts when a leader
    // change answers a thousand long-polls at once). A "100 Continue",
    // which no zkelect endpoint needs, waits up to the kernel's 200 ms cork
    // limit.
    SetCork(sock, true);
    const bool served_ok = process_request(stream, last, client_closes, nullptr);
    SetCork(sock, false);
    if (!served_ok || client_closes || stream.broken()) break;
  }
  return true;
}

bool ConnectionServer::AwaitRequest(ConnectionStream& stream) {
  {
    MutexLock lock(&mu_);
    if (stopping_) return false;
    idle_.insert(stream.socket());
  }
  const bool ready = stream.AwaitRequest(steady_clock::now() + limits_.idle_timeout);
  MutexLock lock(&mu_);
  idle_.erase(stream.socket());
  return ready && !stopping_;
}

}  // namespace zkelect
