#include "support/scripted_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

namespace zkelect::test {
namespace {

using std::chrono::milliseconds;

// How long the server waits for a client, a request or the test.
constexpr milliseconds kPatience{5'000};
// How long it holds a connection open at most.
constexpr milliseconds kHoldAtMost{30'000};

}  // namespace

uint16_t LocalPort(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  return ntohs(address.ss_family == AF_INET6
                   ? reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port
                   : reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

ScriptedServer::ScriptedServer(std::vector<std::string> pieces, Then then, const std::string& host)
    : pieces_(std::move(pieces)), then_(then) {
  const bool v6 = host.find(':') != std::string::npos;
  listener_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage address{};
  socklen_t length = 0;
  if (v6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
    in6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr);
    length = sizeof *in6;
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&address);
    in4->sin_family = AF_INET;
    inet_pton(AF_INET, host.c_str(), &in4->sin_addr);
    length = sizeof *in4;
  }
  if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listener_, 8) != 0 || pipe2(stop_, O_CLOEXEC) != 0) {
    return;
  }
  port_ = LocalPort(listener_);
  thread_ = std::thread([this] { Serve(); });
}

ScriptedServer::~ScriptedServer() {
  if (thread_.joinable()) {
    (void)!write(stop_[1], "x", 1);
    thread_.join();
  }
  for (const int fd : {listener_, stop_[0], stop_[1]}) {
    if (fd >= 0) close(fd);
  }
}

std::string ScriptedServer::WaitForRequest() {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, kPatience, [this] { return answered_; });
  return request_;
}

bool ScriptedServer::Readable(int fd) const {
  pollfd fds[2] = {{fd, POLLIN, 0}, {stop_[0], POLLIN, 0}};
  return poll(fds, 2, static_cast<int>(kPatience.count())) > 0 && fds[1].revents == 0;
}

void ScriptedServer::Serve() {
  for (int served = 0; served < 8 && Readable(listener_); ++served) {
    const int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    Answer(fd);
    close(fd);
  }
}

void ScriptedServer::Answer(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string head;
  char buffer[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536 && Readable(fd)) {
    const ssize_t got = recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) break;
    head.append(buffer, static_cast<size_t>(got));
  }
  for (const std::string& piece : pieces_) {
    if (send(fd, piece.data(), piece.size(), MSG_NOSIGNAL) < 0) break;
    std::this_thread::sleep_for(milliseconds(2));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!answered_) request_ = head;
    answered_ = true;
  }
  changed_.notify_all();
  if (then_ == Then::kHoldOpen) {
    pollfd stop{stop_[0], POLLIN, 0};
    poll(&stop, 1, static_cast<int>(kHoldAtMost.count()));
  }
}

}  // namespace zkelect::test
