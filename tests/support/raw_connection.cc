#include "support/raw_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <utility>

namespace zkelect::test {

using std::chrono::steady_clock;

RawConnection::RawConnection(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  // A send that the server never drains fails instead of hanging the test.
  const timeval send_timeout{10, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawConnection::RawConnection(RawConnection&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void RawConnection::Reset() {
  if (fd_ < 0) return;
  const linger reset{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  ::close(fd_);
  fd_ = -1;
}

void RawConnection::ShutdownWrite() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool RawConnection::Send(std::string_view data) {
  while (fd_ >= 0 && !data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd_);
      fd_ = -1;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return fd_ >= 0;
}

std::string RawConnection::ReadUntilClosed(std::chrono::milliseconds timeout, bool* closed) {
  return Read(timeout, closed, [](std::string_view) { return false; });
}

std::string RawConnection::ReadUntil(std::string_view marker, size_t count,
                                     std::chrono::milliseconds timeout) {
  bool closed = false;
  return Read(timeout, &closed, [&](std::string_view received) {
    size_t seen = 0;
    for (size_t at = received.find(marker); at != std::string_view::npos && seen < count;
         at = received.find(marker, at + marker.size())) {
      ++seen;
    }
    return seen >= count;
  });
}

std::string RawConnection::Read(std::chrono::milliseconds timeout, bool* closed,
                                const std::function<bool(std::string_view)>& enough) {
  *closed = false;
  std::string received;
  const auto deadline = steady_clock::now() + timeout;
  char buffer[4096];
  while (fd_ >= 0 && !enough(received)) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) break;
    pollfd entry{fd_, POLLIN, 0};
    if (::poll(&entry, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n > 0) {
      received.append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      *closed = true;  // end of stream, or reset by the server
      break;
    }
  }
  return received;
}

int StatusOf(std::string_view raw) {
  if (raw.size() < 12 || raw.substr(0, 5) != "HTTP/") return 0;
  const size_t space = raw.find(' ');
  if (space == std::string_view::npos || space + 4 > raw.size()) return 0;
  int status = 0;
  for (const char c : raw.substr(space + 1, 3)) {
    if (c < '0' || c > '9') return 0;
    status = status * 10 + (c - '0');
  }
  return status;
}

std::string BodyOf(std::string_view raw) {
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string_view::npos) return "";
  std::string head(raw.substr(0, end));
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t length_at = head.find("\r\ncontent-length:");
  size_t length = std::string_view::npos;
  if (length_at != std::string::npos) {
    length = std::strtoul(head.c_str() + length_at + 17, nullptr, 10);
  }
  return std::string(raw.substr(end + 4, length));
}

}  // namespace zkelect::test
