#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace zkelect::test {

// A TCP connection to 127.0.0.1:<port> that sends exactly the bytes it is
// given, for tests of hostile or broken clients (partial requests, garbage,
// idle connections). Closes on destruction.
class RawConnection {
 public:
  // Connects at once; see ok().
  explicit RawConnection(uint16_t port);
  RawConnection(RawConnection&& other) noexcept;
  RawConnection& operator=(RawConnection&&) = delete;
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  ~RawConnection();

  // Connected (and not broken by a failed send).
  bool ok() const { return fd_ >= 0; }

  // Sends all of `data`; false (and the connection is closed) on failure,
  // for instance once the server has closed it, or when the server has not
  // drained the socket for 10s.
  bool Send(std::string_view data);

  // Closes with a reset (SO_LINGER 0): the server sees ECONNRESET, as from
  // a client that crashed or timed out. The connection is not ok() after.
  void Reset();

  // Half-closes (shutdown SHUT_WR): the server reads end of stream; the
  // connection can still read.
  void ShutdownWrite();

  // Reads until the server closes the connection or `timeout` passes.
  // Returns what was read; `*closed` tells whether the server closed.
  std::string ReadUntilClosed(std::chrono::milliseconds timeout, bool* closed);

  // Reads until what was read holds `marker` `count` times, the server
  // closes or `timeout` passes; returns what was read.
  std::string ReadUntil(std::string_view marker, size_t count, std::chrono::milliseconds timeout);

 private:
  // Reads until `enough` of what was read, the server closes (`*closed`) or
  // `timeout` passes.
  std::string Read(std::chrono::milliseconds timeout, bool* closed,
                   const std::function<bool(std::string_view)>& enough);

  int fd_ = -1;
};

// The status code of the first answer in `raw` ("HTTP/1.1 400 ..."), or 0.
int StatusOf(std::string_view raw);

// The body of the first answer in `raw`: Content-Length bytes after the
// blank line (all of the rest without Content-Length), or "".
std::string BodyOf(std::string_view raw);

}  // namespace zkelect::test
