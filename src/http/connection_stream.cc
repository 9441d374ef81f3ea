#include "zkelect/http/connection_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace zkelect {
namespace {

using std::chrono::steady_clock;

// The address of `sock` (peer or local) as text and port; empty and -1 when
// unknown.
void FormatAddress(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  auto* raw = reinterpret_cast<sockaddr*>(&address);
  ip.clear();
  port = -1;
  if ((peer ? ::getpeername(sock, raw, &length) : ::getsockname(sock, raw, &length)) != 0) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    port = ntohs(v4->sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    port = ntohs(v6->sin6_port);
  }
  ip = text;
}

}  // namespace

ConnectionStream::ConnectionStream(int socket, std::chrono::milliseconds write_timeout)
    : socket_(socket), write_timeout_(write_timeout), read_deadline_(steady_clock::now()) {}

ConnectionStream::~ConnectionStream() {
  ::shutdown(socket_, SHUT_RDWR);
  ::close(socket_);
}

bool ConnectionStream::AwaitRequest(TimePoint deadline) {
  return begin_ < end_ || Wait(POLLIN, deadline);
}

void ConnectionStream::BeginRequest(TimePoint deadline, size_t max_bytes) {
  read_deadline_ = deadline;
  read_budget_ = max_bytes;
}

bool ConnectionStream::is_readable() const { return begin_ < end_ || Wait(POLLIN, read_deadline_); }

bool ConnectionStream::is_writable() const {
  return Wait(POLLOUT, steady_clock::now() + write_timeout_);
}

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  if (read_budget_ == 0) {
    broken_ = true;
    return -1;
  }
  if (begin_ == end_) {
    const ssize_t filled = Fill();
    if (filled <= 0) {
      broken_ = true;
      return filled;
    }
  }
  const size_t n = std::min({size, end_ - begin_, read_budget_});
  read_budget_ -= n;
  std::memcpy(ptr, buffer_.data() + begin_, n);
  begin_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t ConnectionStream::Fill() {
  begin_ = end_ = 0;
  for (;;) {
    if (!Wait(POLLIN, read_deadline_)) return -1;
    const ssize_t n = ::recv(socket_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n >= 0) {
      end_ = static_cast<size_t>(n);
      return n;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
  }
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  const TimePoint deadline = steady_clock::now() + write_timeout_;
  for (;;) {
    const ssize_t n = ::send(socket_, ptr, size, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return n;
    if ((errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) || !Wait(POLLOUT, deadline)) {
      broken_ = true;
      return -1;
    }
  }
}

bool ConnectionStream::Wait(short events, TimePoint deadline) const {
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd entry{socket_, events, 0};
    const int ready = ::poll(&entry, 1, static_cast<int>(std::min<int64_t>(left, 60'000)));
    if (ready > 0) return true;  // readiness, hang-up or error: the next call tells which
    if (ready < 0 && errno != EINTR) return false;
  }
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  FormatAddress(socket_, /*peer=*/true, ip, port);
}

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const {
  FormatAddress(socket_, /*peer=*/false, ip, port);
}

}  // namespace zkelect
