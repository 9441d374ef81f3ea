#include "zkelect/http/connection_server.h"

#include <sys/socket.h>

#include <utility>

#include "zkelect/http/connection_stream.h"

namespace zkelect {
namespace {

using std::chrono::steady_clock;

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
    return new PoolTaskQueue(options);
  };
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
    stream.BeginRequest(steady_clock::now() + limits_.request_timeout);
    const bool last = served + 1 == limits_.max_requests_per_connection;
    bool client_closes = false;
    if (!process_request(stream, last, client_closes, nullptr) || client_closes ||
        stream.broken()) {
      break;
    }
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
