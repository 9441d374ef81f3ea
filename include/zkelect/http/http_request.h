#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zkelect/http/request_params.h"

namespace zkelect {

// One HTTP/1.x request as ParseRequestHead() read it. A plain value: the
// connection that read it owns it for the time of one request.
struct HttpRequest {
  std::string method;     // as sent, e.g. "GET" (methods are case-sensitive)
  std::string target;     // the request-target as sent: path and query
  std::string path;       // the target's path, percent-decoded
  QueryParams params;     // the target's query, '+' and %XX decoded
  int minor_version = 1;  // HTTP/1.<minor_version>
  // Header fields in the order sent, names as sent, values without the
  // surrounding whitespace.
  std::vector<std::pair<std::string, std::string>> headers;
  size_t content_length = 0;      // 0 without Content-Length
  bool expects_continue = false;  // "Expect: 100-continue"
  std::string body;               // content_length bytes, read after the head
  std::string remote_addr;        // the client's IP address, for logs
  bool unix_socket = false;       // it came over a Unix-domain socket: from this host

  // How many header fields are named `name` (case-insensitive).
  size_t HeaderCount(std::string_view name) const;
  // The value of the first header field named `name` (case-insensitive);
  // "" when there is none.
  std::string_view Header(std::string_view name) const;
  // Whether the connection may carry another request after this one:
  // HTTP/1.1 unless "Connection: close", HTTP/1.0 only with
  // "Connection: keep-alive".
  bool KeepAlive() const;
};

// Why a request is refused before it reaches a handler: the HTTP status, a
// snake_case code and a sentence for the client (`{"error": ...}`).
struct RequestError {
  int status = 400;
  std::string code;
  std::string message;
};

struct RequestLimits {
  // The longest request line (414 beyond) and header line (431 beyond),
  // line ending excluded.
  size_t max_line_bytes = 8 * 1024;
  // The largest Content-Length accepted (413 beyond).
  size_t max_body_bytes = 64 * 1024;
};

// The length of the request head at the start of `buffer`, through the empty
// line that ends it, or std::string_view::npos when the buffer holds no
// complete head yet. Lines end in CRLF or a bare LF. `from` is where to
// resume a search that failed on a shorter prefix of the same buffer.
size_t FindHeadEnd(std::string_view buffer, size_t from = 0);

// Parses a request head (as delimited by FindHeadEnd) strictly:
//  - request line `METHOD SP origin-form SP HTTP/1.0|1.1`: a method that is a
//    token, a target that begins with '/' and is visible ASCII;
//  - header fields `token ":" OWS value OWS`, values without control
//    characters; no obs-fold (a line beginning with whitespace);
//  - lines end in CRLF or a bare LF (which RFC 9112 §2.2 lets a server
//    accept); a CR anywhere else is refused;
//  - Content-Length: at most one, digits only, at most max_body_bytes (413);
//    any Transfer-Encoding is refused (411: zkelect takes no chunked
//    bodies); an Expect other than 100-continue is refused (417);
//  - HTTP/1.2 to 1.9 are read as 1.1 (RFC 9112 §2.3); other versions: 505.
// Fills `request` (all but body and remote_addr) and returns nothing, or the
// error to answer with, after which the connection must close; `request`
// then holds what was read before the error (method and path, for logs).
// Pure; thread-safe.
std::optional<RequestError> ParseRequestHead(std::string_view head, const RequestLimits& limits,
                                             HttpRequest& request);

// The error for a head that reached the request size limit unfinished:
// 414 while its request line is still unfinished, 431 after.
RequestError OversizedHead(std::string_view partial_head);

// Client-controlled text made safe for a log line or a message: control
// characters, '"' and '\\' escaped as \xHH, cut after `max_shown` bytes
// (then "..." follows).
std::string Printable(std::string_view text, size_t max_shown = 200);

// Percent-decodes %XX; with `plus_is_space`, '+' becomes ' ' too (query
// strings). A '%' not followed by two hex digits stays as it is.
std::string PercentDecode(std::string_view text, bool plus_is_space);

// Splits a query string on '&' and each pair on its first '=' (a name
// without '=' has the value ""), then decodes names and values with
// PercentDecode(plus_is_space=true). Empty pairs are skipped.
QueryParams ParseQuery(std::string_view query);

}  // namespace zkelect
