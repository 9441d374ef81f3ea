#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "zkelect/http/http_response_parser.h"

namespace zkelect {

// Ends HTTP requests in flight from another thread: FetchHttp() polls its
// descriptor alongside the socket, so Cancel() wakes it at once.
//
// Once cancelled, it stays so: every later FetchHttp() given it ends at
// once. Thread-safe.
class HttpCanceller {
 public:
  HttpCanceller();  // an eventfd; see fd()
  HttpCanceller(const HttpCanceller&) = delete;
  HttpCanceller& operator=(const HttpCanceller&) = delete;
  ~HttpCanceller();

  void Cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  // Readable once cancelled; -1 when no eventfd could be had (descriptors
  // exhausted), and then a request looks at cancelled() every 50ms instead.
  int fd() const { return fd_; }

 private:
  const int fd_;
  std::atomic<bool> cancelled_{false};
};

// One request, sent as HTTP/1.1 with `Connection: close`.
struct ClientRequest {
  std::string method = "GET";
  // Where to connect: an IPv4 or IPv6 literal (no brackets) or a name, which
  // getaddrinfo() resolves. Its addresses are tried in turn: a failed one
  // (refused, unreachable) passes to the next, but one that does not answer
  // uses up the connect deadline, which is one for them all.
  std::string host;
  int port = 0;
  // Instead of host and port: the path of a Unix-domain socket to connect
  // to (the Host header is still `authority`).
  std::string unix_path;
  // The Host header, as the server expects it: "name:port", "[v6]:port".
  std::string authority;
  // Path and query, starting with '/'.
  std::string target = "/";
  // Further headers (not Host, Connection or Content-Length, which the
  // client writes).
  std::vector<std::pair<std::string, std::string>> headers;
  // Sent with a Content-Length header when not empty, or when the method is
  // POST or PUT.
  std::string body;
};

// What bounds a request.
struct HttpLimits {
  using TimePoint = std::chrono::steady_clock::time_point;

  // The whole exchange (connect, send, read the answer) ends by then.
  TimePoint deadline;
  // The connection must be up by then, if earlier than `deadline`.
  std::optional<TimePoint> connect_deadline;
  // The body kept; a longer one ends the exchange there (ClientResponse's
  // body_truncated).
  size_t max_body = 1024 * 1024;
  // Optional; must outlive the call.
  const HttpCanceller* cancel = nullptr;
};

// Why a request got no answer.
struct HttpFailure {
  enum class Kind {
    kBadRequest,     // the request cannot be written (a line break in a header...)
    kCannotResolve,  // getaddrinfo failed
    kCannotConnect,  // every address refused or failed; `error_number` of the last
    kTimedOut,       // the deadline passed during `step`
    kCannotSend,     // the connection failed while sending; `error_number`
    kBadResponse,    // not HTTP, over a limit, cut short or reset
    kCancelled,      // HttpCanceller::Cancel()
  };
  enum class Step { kConnect, kSend, kReceive };

  Kind kind = Kind::kBadResponse;
  Step step = Step::kConnect;  // where it happened
  int error_number = 0;        // errno when one explains it, else 0
  // A phrase for people, in lower case, without the address: for
  // kCannotConnect and kCannotSend the errno's ("connection refused",
  // "broken pipe"); else what happened ("cannot resolve db1: Name or service
  // not known", "timed out connecting", "malformed status line \"...\"",
  // "connection closed before an answer", "cancelled").
  std::string detail;
};

using HttpResult = std::variant<ClientResponse, HttpFailure>;

// Sends `request` on a new connection and reads the answer until the server
// closes it or the response is complete (as HttpResponseParser says),
// blocking the calling thread until then, the deadline or a cancellation.
// Any status is a response; redirects are not followed.
//
// The socket is non-blocking and close-on-exec (a hook spawned meanwhile
// does not inherit it), and is closed on return. Name resolution is the one
// step the deadline and the canceller do not bound (getaddrinfo() cannot be
// interrupted; IP literals and /etc/hosts names need no lookup).
//
// Thread-safe: no shared state.
HttpResult FetchHttp(const ClientRequest& request, const HttpLimits& limits);

}  // namespace zkelect
