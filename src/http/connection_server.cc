#include "zkelect/http/connection_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <functional>
#include <optional>
#include <utility>

#include "zkelect/http/connection_stream.h"
#include "zkelect/http/elastic_thread_pool.h"
#include "zkelect/http/http_request.h"
#include "zkelect/http/http_response.h"

namespace zkelect {
namespace {

using std::chrono::steady_clock;

// Up to http.max_waiters clients (1000 and more) come back at once after a
// leader change; a short backlog would overflow and leave them waiting for a
// SYN retransmit (1s). The kernel caps this at net.core.somaxconn (4096 by
// default).
constexpr int kListenBacklog = SOMAXCONN;

// A connection's deepest stack (parsing, routing, rendering JSON, logging)
// is a few tens of KiB; only touched pages become resident.
constexpr size_t kStackBytes = 256 * 1024;

// Out of descriptors, the queued connection stays queued and the listen
// socket stays readable: wait this long before trying again rather than
// spin (connections that end meanwhile give descriptors back).
constexpr int kAcceptBackoffMs = 50;

// Connections taken from the listen queue per wake-up, so that Stop() is
// noticed between bursts.
constexpr int kMaxAcceptsPerWake = 64;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Opens, binds and listens on the first address of `host`:`port` that
// works; -1 with errno set, or with errno 0 when the host resolves to none.
int Listen(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found) != 0) {
    errno = 0;
    return -1;
  }
  errno = 0;
  int fd = -1;
  for (const addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, kListenBacklog) != 0) {
      const int error = errno;
      ::close(fd);
      fd = -1;
      errno = error;
    }
  }
  ::freeaddrinfo(found);
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return -1;
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

ConnectionHeader HeaderFor(bool keep_alive, bool http10) {
  if (!keep_alive) return ConnectionHeader::kClose;
  return http10 ? ConnectionHeader::kKeepAlive : ConnectionHeader::kNone;
}

int NewEventFd() {
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    spdlog::critical("HTTP: eventfd: {}", std::strerror(errno));
    std::abort();
  }
  return fd;
}

int NewEpollFd() {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) {
    spdlog::critical("HTTP: epoll_create1: {}", std::strerror(errno));
    std::abort();
  }
  return fd;
}

// Whether `sock` is a Unix-domain socket (its peer is on this host).
bool IsUnixDomain(int sock) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  return ::getsockname(sock, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
         address.ss_family == AF_UNIX;
}

// Hang-ups read per wake-up of the accept loop.
constexpr int kMaxHangUpsPerWake = 64;

}  // namespace

// One accepted connection, between the threads that serve it in turn.
struct HttpConnection {
  HttpConnection(int sock, std::chrono::milliseconds write_timeout)
      : stream(sock, write_timeout),
        unix_domain(IsUnixDomain(sock)),
        remote_addr(unix_domain ? "unix socket" : stream.RemoteAddress()) {}

  ConnectionStream stream;
  const bool unix_domain;
  const std::string remote_addr;
  size_t served = 0;         // requests read so far
  std::string unsent;        // the part of a pending answer that Send() could not write
  bool close_after = false;  // once that answer is written

  // The watch for the client's hang-up while an answer is pending, between
  // the handler's thread, the one that sends the answer and Serve()'s.
  Mutex mu;
  std::function<void()> on_hang_up GUARDED_BY(mu);  // PendingAnswer::OnHangUp(); runs once
  uint64_t watch_id GUARDED_BY(mu) = 0;             // in ConnectionServer::watched_ (0: none)
  bool answered GUARDED_BY(mu) = false;             // the pending answer went out or was dropped
};

PendingAnswer& PendingAnswer::operator=(PendingAnswer&& other) noexcept {
  if (this != &other) {
    Unwatch();
    server_ = other.server_;
    connection_ = std::move(other.connection_);
    head_only_ = other.head_only_;
    keep_alive_ = other.keep_alive_;
    http10_ = other.http10_;
  }
  return *this;
}

PendingAnswer::~PendingAnswer() { Unwatch(); }

void PendingAnswer::OnHangUp(std::function<void()> gone) {
  if (!connection_) return;
  MutexLock lock(&connection_->mu);
  connection_->on_hang_up = std::move(gone);
}

void PendingAnswer::Unwatch() {
  if (!connection_) return;
  MutexLock lock(&connection_->mu);
  connection_->answered = true;
  connection_->on_hang_up = nullptr;
  server_->Unwatch(connection_->stream.socket(), std::exchange(connection_->watch_id, 0));
}

std::string PendingAnswer::Serialize(const HttpResponse& response, bool* keep_alive) const {
  *keep_alive = keep_alive_ && !server_->stopping();
  return SerializeResponse(response, head_only_, HeaderFor(*keep_alive, http10_));
}

void PendingAnswer::Send(const HttpResponse& response) {
  if (!connection_) return;
  Unwatch();
  std::shared_ptr<HttpConnection> connection = std::move(connection_);
  bool keep_alive = false;
  const std::string data = Serialize(response, &keep_alive);
  const size_t sent = connection->stream.TrySend(data, /*end_stream=*/!keep_alive);
  connection->close_after = !keep_alive || connection->stream.broken();
  if (!connection->stream.broken()) connection->unsent.assign(data, sent);
  server_->Resume(std::move(connection));
}

ConnectionServer::ConnectionServer(const Limits& limits, Handler handler,
                                   ErrorHandler error_handler)
    : limits_(limits),
      handler_(std::move(handler)),
      error_handler_(std::move(error_handler)),
      wake_fd_(NewEventFd()),
      resume_fd_(NewEventFd()),
      hang_up_fd_(NewEpollFd()) {}

ConnectionServer::~ConnectionServer() {
  for (const int fd : listen_fds_) ::close(fd);
  ::close(wake_fd_);
  ::close(resume_fd_);
  ::close(hang_up_fd_);
}

int ConnectionServer::Bind(const std::string& host, int port) {
  const int fd = Listen(host, port);
  if (fd < 0) return -1;
  const int bound = BoundPort(fd);
  if (bound <= 0) {
    const int error = errno;
    ::close(fd);
    errno = error;
    return -1;
  }
  listen_fds_.push_back(fd);
  return bound;
}

void ConnectionServer::AddListener(int socket) { listen_fds_.push_back(socket); }

void ConnectionServer::Serve() {
  ElasticThreadPool::Options options;
  options.max_threads = limits_.max_threads;
  options.stack_bytes = kStackBytes;
  ElasticThreadPool pool(options);
  bool starved = false;  // out of descriptors: back off before accepting again
  // The three event descriptors, then the listen sockets.
  constexpr size_t kEvents = 3;
  std::vector<pollfd> fds = {
      {wake_fd_, POLLIN, 0}, {resume_fd_, POLLIN, 0}, {hang_up_fd_, POLLIN, 0}};
  for (const int fd : listen_fds_) fds.push_back({fd, POLLIN, 0});
  for (;;) {
    for (pollfd& fd : fds) fd.revents = 0;
    const int ready =
        ::poll(fds.data(), starved ? kEvents : fds.size(), starved ? kAcceptBackoffMs : -1);
    if (ready < 0 && errno != EINTR) {
      spdlog::error("HTTP: poll on the listen socket: {}", std::strerror(errno));
      break;
    }
    if (ready > 0 && fds[0].revents != 0) break;  // Stop()
    if (ready > 0 && fds[1].revents != 0) DispatchResumed(pool);
    if (ready > 0 && fds[2].revents != 0) DispatchHangUps();
    const bool was_starved = starved;
    for (size_t i = kEvents; i < fds.size(); ++i) {
      // Out of descriptors, any wake-up (the back-off is over, or resumed
      // connections may have closed) is worth another try.
      if (!was_starved && fds[i].revents == 0) continue;
      starved = !AcceptReady(fds[i].fd, pool);
      if (starved) break;
    }
    if (starved && !was_starved) {
      spdlog::warn(
          "HTTP: out of file descriptors ({}): not accepting connections, retrying "
          "every {}ms",
          std::strerror(errno), kAcceptBackoffMs);
    }
  }
  for (const int fd : listen_fds_) ::close(fd);
  listen_fds_.clear();
  pool.Shutdown();
  std::vector<std::shared_ptr<HttpConnection>> left;  // closed as it goes
  MutexLock lock(&mu_);
  finished_ = true;
  left.swap(resumed_);
}

bool ConnectionServer::AcceptReady(int listen_fd, ElasticThreadPool& pool) {
  for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
    // SOCK_CLOEXEC: hooks are spawned concurrently and must never inherit a
    // client's connection (it would stay open as long as the hook runs).
    const int sock = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (sock < 0) {
      if (errno == EMFILE || errno == ENFILE) return false;
      return true;  // EAGAIN: drained; ECONNABORTED and the like: that client is gone
    }
    // Answers go out in one send each; Nagle's algorithm would hold the
    // next one back until the client's (delayed) ACK of the previous. (A
    // Unix-domain socket has no such option and refuses it: harmless.)
    const int yes = 1;
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    auto connection = std::make_shared<HttpConnection>(sock, limits_.write_timeout);
    pool.Submit([this, connection] { ServeConnection(connection); });
  }
  return true;
}

void ConnectionServer::Stop() {
  MutexLock lock(&mu_);
  if (stopping_) return;
  stopping_ = true;
  // Wakes their poll(): they read the end of the stream and close.
  for (const int sock : idle_) ::shutdown(sock, SHUT_RDWR);
  const uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof(one)) != sizeof(one)) {
    spdlog::error("HTTP: cannot wake the accept loop: {}", std::strerror(errno));
  }
}

void ConnectionServer::ServeConnection(std::shared_ptr<HttpConnection> connection) {
  while (connection->served < limits_.max_requests_per_connection) {
    if (!AwaitRequest(connection->stream)) return;
    connection->stream.BeginRequest(steady_clock::now() + limits_.request_timeout,
                                    limits_.max_request_bytes);
    const bool last = ++connection->served == limits_.max_requests_per_connection;
    if (ServeRequest(connection, last) != Next::kRead) return;
  }
}

ConnectionServer::Next ConnectionServer::ServeRequest(
    const std::shared_ptr<HttpConnection>& connection, bool last) {
  ConnectionStream& stream = connection->stream;
  HttpRequest request;
  request.remote_addr = connection->remote_addr;
  request.unix_socket = connection->unix_domain;
  std::string head;
  const ConnectionStream::ReadResult read = stream.ReadHead(head);
  if (read == ConnectionStream::ReadResult::kTooLarge) {
    Refuse(stream, request, OversizedHead(head));
    return Next::kClose;
  }
  if (read != ConnectionStream::ReadResult::kOk) return Next::kClose;

  RequestLimits parse_limits;
  parse_limits.max_body_bytes = limits_.max_body_bytes;
  if (const std::optional<RequestError> error = ParseRequestHead(head, parse_limits, request)) {
    Refuse(stream, request, *error);
    return Next::kClose;
  }
  if (request.expects_continue && request.content_length > 0 && !stream.Write(kContinue)) {
    return Next::kClose;
  }
  if (stream.ReadBody(request.content_length, request.body) != ConnectionStream::ReadResult::kOk) {
    return Next::kClose;
  }

  {
    MutexLock lock(&connection->mu);  // what the previous request's answer left
    connection->answered = false;
    connection->on_hang_up = nullptr;
  }
  HttpResponse response;
  PendingAnswer later;
  later.server_ = this;
  later.connection_ = connection;
  later.head_only_ = request.method == "HEAD";
  later.keep_alive_ = request.KeepAlive() && !last;
  later.http10_ = request.minor_version == 0;
  handler_(request, response, later);
  if (!later) {
    WatchHangUp(connection);
    return Next::kDeferred;
  }

  bool keep_alive = false;
  const std::string data = later.Serialize(response, &keep_alive);
  return stream.Write(data, /*end_stream=*/!keep_alive) && keep_alive ? Next::kRead : Next::kClose;
}

void ConnectionServer::Resume(std::shared_ptr<HttpConnection> connection) {
  bool wake = false;
  {
    MutexLock lock(&mu_);
    if (!finished_) {
      // One wake-up per batch: Serve() takes the whole queue when it wakes.
      wake = resumed_.empty();
      resumed_.push_back(std::move(connection));
    }
  }
  connection.reset();  // Serve() has returned: close it (here, not under the lock)
  const uint64_t one = 1;
  if (wake && ::write(resume_fd_, &one, sizeof(one)) != sizeof(one)) {
    spdlog::error("HTTP: cannot wake the accept loop: {}", std::strerror(errno));
  }
}

void ConnectionServer::DispatchResumed(ElasticThreadPool& pool) {
  uint64_t count = 0;
  if (::read(resume_fd_, &count, sizeof(count)) < 0 && errno != EAGAIN) {
    spdlog::error("HTTP: reading the resume eventfd: {}", std::strerror(errno));
  }
  std::vector<std::shared_ptr<HttpConnection>> resumed;
  {
    MutexLock lock(&mu_);
    resumed.swap(resumed_);
  }
  for (std::shared_ptr<HttpConnection>& connection : resumed) {
    // An answer written whole on a connection that ends: closed here, with
    // no thread to wake.
    if (connection->unsent.empty() && connection->close_after) continue;
    pool.Submit([this, connection = std::move(connection)] { Continue(connection); });
  }
}

void ConnectionServer::Continue(std::shared_ptr<HttpConnection> connection) {
  if (!connection->unsent.empty()) {
    if (!connection->stream.Write(connection->unsent, connection->close_after)) return;
    std::string().swap(connection->unsent);
  }
  if (connection->close_after) return;
  ServeConnection(std::move(connection));
}

// Why epoll and EPOLLRDHUP: a parked connection must not be read (the
// client may have pipelined its next request, which is served after the
// answer), so readable data is no sign; the end of the client's stream
// (EPOLLRDHUP), a reset or an error (EPOLLHUP, EPOLLERR, always reported)
// are. One-shot: a connection is reported once, then its watch is over.
void ConnectionServer::WatchHangUp(const std::shared_ptr<HttpConnection>& connection) {
  MutexLock lock(&connection->mu);
  if (connection->answered || !connection->on_hang_up) return;
  uint64_t id = 0;
  {
    MutexLock server_lock(&mu_);
    id = ++last_watch_id_;
    watched_.emplace(id, connection);
  }
  epoll_event event{};
  event.events = EPOLLRDHUP | EPOLLONESHOT;
  event.data.u64 = id;
  if (::epoll_ctl(hang_up_fd_, EPOLL_CTL_ADD, connection->stream.socket(), &event) != 0) {
    spdlog::warn("HTTP: cannot watch a parked connection from {} for hang-up: {}",
                 connection->remote_addr, std::strerror(errno));
    MutexLock server_lock(&mu_);
    watched_.erase(id);
    return;
  }
  connection->watch_id = id;
}

void ConnectionServer::Unwatch(int socket, uint64_t watch_id) {
  if (watch_id == 0) return;
  ::epoll_ctl(hang_up_fd_, EPOLL_CTL_DEL, socket, nullptr);
  MutexLock lock(&mu_);
  watched_.erase(watch_id);
}

void ConnectionServer::DispatchHangUps() {
  epoll_event events[kMaxHangUpsPerWake];
  const int count = ::epoll_wait(hang_up_fd_, events, kMaxHangUpsPerWake, 0);
  for (int i = 0; i < count; ++i) {
    const uint64_t id = events[i].data.u64;
    std::shared_ptr<HttpConnection> connection;
    {
      MutexLock lock(&mu_);
      const auto it = watched_.find(id);
      if (it == watched_.end()) continue;  // answered meanwhile
      connection = it->second.lock();
    }
    if (!connection) continue;
    std::function<void()> gone;
    {
      MutexLock lock(&connection->mu);
      if (connection->watch_id != id) continue;  // answered meanwhile
      Unwatch(connection->stream.socket(), std::exchange(connection->watch_id, 0));
      gone = std::move(connection->on_hang_up);
      connection->on_hang_up = nullptr;
    }
    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("HTTP: {} went away while its answer was pending", connection->remote_addr);
    }
    // Drops the pending answer, which may close the connection here.
    try {
      if (gone) gone();
    } catch (const std::exception& e) {
      spdlog::error("HTTP: dropping a request whose client went away: {}", e.what());
    }
  }
}

bool ConnectionServer::stopping() const {
  MutexLock lock(&mu_);
  return stopping_;
}

void ConnectionServer::Refuse(ConnectionStream& stream, const HttpRequest& request,
                              const RequestError& error) {
  HttpResponse response;
  error_handler_(request, error, response);
  if (stream.Write(SerializeResponse(response, request.method == "HEAD", ConnectionHeader::kClose),
                   /*end_stream=*/true)) {
    stream.DrainBeforeClose();
  }
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
