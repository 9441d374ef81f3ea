#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "zkelect/common/status.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace zkelect {

// Where a local daemon's HTTP API answers, as a client connects to it.
struct DaemonAddress {
  std::string host;  // an IP literal without brackets, or a name ("localhost")
  int port = 0;      // 1..65535

  // "127.0.0.1:4040" or "[::1]:4040": for messages and the Host header.
  std::string ToString() const;
};

// Parses an http.listen value ("host:port", "[v6]:port") into the address a
// client connects to: a wildcard host (0.0.0.0, [::]) becomes the loopback
// address of its family, since the daemon answers there too. Errors
// (InvalidArgument) for anything else than host:port with a port in
// 1..65535; the message says what was expected but not where the value came
// from (callers add that).
Result<DaemonAddress> ParseDaemonAddress(std::string_view listen);

// One answer of the daemon.
struct DaemonReply {
  int status = 0;       // HTTP status
  uint64_t index = 0;   // X-Zkelect-Index; 0 when absent (never a daemon's)
  std::string body;     // as received
  nlohmann::json json;  // `body` parsed; discarded() when it is not JSON
};

// A client of the local daemon's HTTP API (design §4): plain GETs, long-polls
// (`?index=N&wait=D`) and POSTs, each bounded in time, with the bearer token
// when one is given. No retries: every call is one request on a fresh
// connection.
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

  // `timeout` bounds the connect and, for plain requests, the read. `token`
  // (empty for none) goes out as "Authorization: Bearer <token>" on POSTs.
  // Nothing is connected yet.
  DaemonClient(DaemonAddress address, std::chrono::milliseconds timeout, std::string token);
  DaemonClient(const DaemonClient&) = delete;
  DaemonClient& operator=(const DaemonClient&) = delete;
  ~DaemonClient();

  // GET `path` (e.g. "/status"), with `?index=..&wait=..` when `poll` is
  // given; the read may then take `poll->wait` plus the timeout. Any HTTP
  // status is a reply; Unavailable when no answer came (the message names
  // the address and what failed).
  Result<DaemonReply> Get(std::string_view path, std::optional<LongPoll> poll = std::nullopt);

  // POST `target` (path and query, e.g. "/resign?hold=5s") with an empty
  // body, reading for at most `read_timeout`. Errors as for Get.
  Result<DaemonReply> Post(std::string_view target, std::chrono::milliseconds read_timeout);

  const DaemonAddress& address() const { return address_; }

 private:
  // Constant after construction.
  const DaemonAddress address_;
  const std::chrono::milliseconds timeout_;
  const std::string token_;
  const std::unique_ptr<httplib::Client> http_;
};

}  // namespace zkelect
