#include "zkelect/http/connection_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "zkelect/http/http_request.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// DrainBeforeClose(): how long and how much. Enough for a request body that
// a client sends before it reads the answer (the largest body a client can
// start sending is about a socket buffer), short enough not to hold a thread.
constexpr milliseconds kDrainTime{500};
constexpr size_t kMaxDrainBytes = 1024 * 1024;

}  // namespace

ConnectionStream::ConnectionStream(int socket, milliseconds write_timeout)
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

ConnectionStream::ReadResult ConnectionStream::ReadHead(std::string& head) {
  head.clear();
  for (;;) {
    if (begin_ == end_ && !Fill()) return ReadResult::kFailed;
    if (head.empty()) {
      while (begin_ < end_ && read_budget_ > 0 &&
             (buffer_[begin_] == '\r' || buffer_[begin_] == '\n')) {
        ++begin_;
        --read_budget_;
      }
      if (begin_ == end_) continue;
    }
    const std::string_view chunk = Take(end_ - begin_);
    if (chunk.empty()) return ReadResult::kTooLarge;
    // The empty line may begin up to two bytes before the new chunk.
    const size_t from = head.size() < 2 ? 0 : head.size() - 2;
    head.append(chunk);
    const size_t end = FindHeadEnd(head, from);
    if (end != std::string::npos) {
      // Give back what follows the head: a body or the next request.
      const size_t extra = head.size() - end;
      begin_ -= extra;
      read_budget_ += extra;
      head.resize(end);
      return ReadResult::kOk;
    }
  }
}

ConnectionStream::ReadResult ConnectionStream::ReadBody(size_t length, std::string& body) {
  body.clear();
  while (body.size() < length) {
    if (begin_ == end_ && !Fill()) return ReadResult::kFailed;
    const std::string_view chunk = Take(length - body.size());
    if (chunk.empty()) return ReadResult::kTooLarge;
    body.append(chunk);
  }
  return ReadResult::kOk;
}

std::string_view ConnectionStream::Take(size_t size) {
  const size_t n = std::min({size, end_ - begin_, read_budget_});
  const std::string_view taken(buffer_.data() + begin_, n);
  begin_ += n;
  read_budget_ -= n;
  if (n == 0) broken_ = true;
  return taken;
}

bool ConnectionStream::Fill() {
  begin_ = end_ = 0;
  for (;;) {
    if (!Wait(POLLIN, read_deadline_)) break;
    const ssize_t n = ::recv(socket_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n > 0) {
      end_ = static_cast<size_t>(n);
      return true;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) break;
  }
  broken_ = true;
  return false;
}

bool ConnectionStream::Write(std::string_view data, bool end_stream) {
  const TimePoint deadline = steady_clock::now() + write_timeout_;
  const int flags = SendFlags(end_stream);
  while (!data.empty()) {
    const ssize_t n = ::send(socket_, data.data(), data.size(), flags);
    if (n >= 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if ((errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) || !Wait(POLLOUT, deadline)) {
      broken_ = true;
      return false;
    }
  }
  if (end_stream) EndStream();
  return true;
}

size_t ConnectionStream::TrySend(std::string_view data, bool end_stream) {
  size_t sent = 0;
  const int flags = SendFlags(end_stream);
  while (sent < data.size()) {
    const ssize_t n = ::send(socket_, data.data() + sent, data.size() - sent, flags);
    if (n >= 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) broken_ = true;
    break;
  }
  if (end_stream && sent == data.size()) EndStream();
  return sent;
}

int ConnectionStream::SendFlags(bool end_stream) {
  // MSG_MORE holds the last bytes back (like TCP_CORK) until EndStream():
  // the kernel then sets FIN on the segment that is still queued, so data
  // and end of stream leave together.
  return MSG_DONTWAIT | MSG_NOSIGNAL | (end_stream ? MSG_MORE : 0);
}

void ConnectionStream::EndStream() {
  broken_ = true;
  ::shutdown(socket_, SHUT_WR);
}

void ConnectionStream::DrainBeforeClose() {
  EndStream();
  const TimePoint deadline = steady_clock::now() + kDrainTime;
  size_t drained = 0;
  while (drained < kMaxDrainBytes && Wait(POLLIN, deadline)) {
    const ssize_t n = ::recv(socket_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return;
    if (n > 0) drained += static_cast<size_t>(n);
  }
  begin_ = end_ = 0;
}

bool ConnectionStream::Wait(short events, TimePoint deadline) const {
  for (;;) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd entry{socket_, events, 0};
    const int ready = ::poll(&entry, 1, static_cast<int>(std::min<int64_t>(left, 60'000)));
    if (ready > 0) return true;  // readiness, hang-up or error: the next call tells which
    if (ready < 0 && errno != EINTR) return false;
  }
}

std::string ConnectionStream::RemoteAddress() const {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getpeername(socket_, reinterpret_cast<sockaddr*>(&address), &length) != 0) return "";
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&address)->sin_addr, text,
                sizeof(text));
  } else if (address.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr, text,
                sizeof(text));
  }
  return text;
}

}  // namespace zkelect
