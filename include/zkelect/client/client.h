#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "zkelect/common/status.h"

namespace zkelect {

// Where a local daemon's HTTP API answers, as a client connects to it.
struct DaemonAddress {
  std::string host;  // an IP literal without brackets, or a name ("localhost")
  int port = 0;      // 1..65535
  // A Unix-domain socket's path instead of host and port; empty for TCP.
  std::string unix_path;

  // "127.0.0.1:4040", "[::1]:4040" or "unix:/run/zkelect/api.sock": for
  // messages.
  std::string ToString() const;
};

// Parses an http.listen value ("host:port", "[v6]:port", "unix:/path") into
// the address a client connects to: a wildcard host (0.0.0.0, [::]) becomes
// the loopback address of its family, since the daemon answers there too.
// Errors (InvalidArgument) for anything else than host:port with a port in
// 1..65535 or unix: and an absolute path that fits sun_path (107 bytes);
// the message says what was expected but not where the value came from
// (callers add that).
Result<DaemonAddress> ParseDaemonAddress(std::string_view listen);

// One answer of the daemon.
struct DaemonReply {
  int status = 0;       // HTTP status
  uint64_t index = 0;   // X-Zkelect-Index; 0 when absent (never a daemon's)
  std::string body;     // as received, at most DaemonClient::kMaxBodyBytes
  nlohmann::json json;  // `body` parsed; discarded() when it is not JSON
};

// A client of the local daemon's HTTP API (design §4): plain GETs, long-polls
// (`?index=N&wait=D`) and POSTs, each bounded in time, with the bearer token
// when one is given. No retries: every call is one request on a fresh
// connection (src/http/http_client.h), closed when the answer is in.
//
// Not thread-safe: one thread uses an instance at a time.
class DaemonClient {
 public:
  // A long-poll: answer once the board's index differs from `index`, or after
  // `wait` with the current state.
  struct LongPoll {
    uint64_t index = 0;
    std::chrono::milliseconds wait{0};
  };

  // The longest body taken: a daemon's answers are a few KiB of JSON (a
  // /status with thousands of candidates, a few hundred KiB). A longer one
  // is not read further: the call is Unavailable, saying so.
  static constexpr size_t kMaxBodyBytes = 4 * 1024 * 1024;

  // `timeout` bounds the connect and, for plain requests, the whole
  // exchange. `token`
  // (empty for none) goes out as "Authorization: Bearer <token>" on POSTs.
  // Nothing is connected yet.
  DaemonClient(DaemonAddress address, std::chrono::milliseconds timeout, std::string token);
  DaemonClient(const DaemonClient&) = delete;
  DaemonClient& operator=(const DaemonClient&) = delete;

  // GET `path` (e.g. "/status"), with `?index=..&wait=..` when `poll` is
  // given; the exchange may then take `poll->wait` plus the timeout. Any HTTP
  // status is a reply; Unavailable when no answer came (the message names
  // the address and what failed).
  Result<DaemonReply> Get(std::string_view path, std::optional<LongPoll> poll = std::nullopt);

  // POST `target` (path and query, e.g. "/resign?hold=5s") with an empty
  // body: the connect within the timeout, the whole exchange within
  // `read_timeout`. Errors as for Get.
  Result<DaemonReply> Post(std::string_view target, std::chrono::milliseconds read_timeout);

  const DaemonAddress& address() const { return address_; }

 private:
  // Sends one request whose connect must be done within the timeout and
  // whose whole exchange within `total`; `what` ("GET /status") and `total`
  // are for messages.
  Result<DaemonReply> Exchange(std::string method, std::string target, std::string_view what,
                               std::chrono::milliseconds total);

  // Constant after construction.
  const DaemonAddress address_;
  const std::chrono::milliseconds timeout_;
  const std::string token_;
};

}  // namespace zkelect
