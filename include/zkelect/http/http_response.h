#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zkelect {

// One HTTP answer as a handler builds it: status, content and the extra
// header fields. Content-Length, Content-Type and Connection are written by
// SerializeResponse(), never set as headers. A plain value.
struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // in order

  void SetContent(std::string content, std::string_view type) {
    body = std::move(content);
    content_type = type;
  }
  // Sets `name` to `value`, replacing an earlier value (names compare
  // case-insensitively).
  void SetHeader(std::string_view name, std::string value);
  bool HasHeader(std::string_view name) const;
};

// How the connection goes on after an answer, as the answer announces it.
enum class ConnectionHeader {
  kNone,       // HTTP/1.1 keep-alive: nothing to say
  kKeepAlive,  // "Connection: keep-alive", for an HTTP/1.0 client that asked
  kClose,      // "Connection: close": the server closes after this answer
};

// "OK", "Not Found", ...; "Unknown" for a status without a known phrase.
std::string_view ReasonPhrase(int status);

// The whole answer on the wire, head and body in one buffer: HTTP/1.1
// status line with its reason phrase, Content-Type (when set),
// Content-Length, the Connection header that `connection` asks for, the
// response's own headers and, unless `head_only` (HEAD requests), the body.
// Pure.
std::string SerializeResponse(const HttpResponse& response, bool head_only,
                              ConnectionHeader connection);

}  // namespace zkelect
