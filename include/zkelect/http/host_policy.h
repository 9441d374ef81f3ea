#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zkelect {

struct HttpConfig;

// Who may use the HTTP API (design §4, "Security"). Three independent checks:
//
//  - The Host header, against DNS rebinding: a web page on an attacker's name
//    that resolves to 127.0.0.1 reaches the daemon with its own name in Host.
//    Accepted: no Host at all, an IPv4 literal, a bracketed IPv6 literal,
//    "localhost", or a name of http.allowed_hosts (case-insensitive, with an
//    optional trailing dot), each with an optional ":port".
//  - Write access (POST endpoints): with a token configured, the request must
//    carry `Authorization: Bearer <token>` (compared in constant time);
//    without one, writes are allowed over a Unix-domain socket (whose file
//    permissions say who may connect) and over TCP only while every TCP
//    listener is on loopback (any local user may then write: see
//    OpenToLocalUsers()). Read-only endpoints never need a token.
//  - The origin of a write, against cross-site request forgery: a web page
//    open in a browser on the host can post a form (or a "simple" fetch) to
//    127.0.0.1 without the page's author ever reading the answer, and the
//    Host header is then an IP literal, which the first check lets through.
//    Browsers say where such a request comes from (Origin on every
//    cross-origin POST, Sec-Fetch-Site on all requests of recent browsers);
//    curl and the client commands send neither. See IsSameOrigin().
//
// Immutable after construction; thread-safe.
class HostPolicy {
 public:
  enum class WriteAccess {
    kAllowed,
    kUnauthorized,   // token configured; header missing, malformed or wrong: 401
    kTokenRequired,  // no token configured, and listening beyond loopback: 403
  };

  // Reads http.listen, http.allowed_hosts and http.token. A listen address
  // that cannot be parsed counts as not loopback (the stricter answer).
  explicit HostPolicy(const HttpConfig& config);

  // `host_header` is the Host header's value, "" when the request has none.
  // Over a Unix-domain socket (`unix_socket`) any Host is fine: no web page
  // can reach one, so DNS rebinding cannot either (and curl --unix-socket
  // sends the URL's host, whatever it is).
  bool AllowsHost(std::string_view host_header, bool unix_socket) const;

  // `authorization` is the Authorization header's value, "" when absent;
  // `unix_socket`: the request came over a Unix-domain socket.
  WriteAccess CheckWrite(std::string_view authorization, bool unix_socket) const;

  // True when POST endpoints are open to every local user: no token, and a
  // TCP listener on loopback (a port any user of the host can connect to).
  bool OpenToLocalUsers() const { return token_.empty() && tcp_listener_ && loopback_only_; }

  // Whether a state-changing request may come from where its headers say
  // it comes from. `origin`, `sec_fetch_site` and `host_header` are the
  // values of those headers, "" when absent. Refused:
  //  - a Sec-Fetch-Site other than "same-origin" or "none" (the user typed
  //    the address): "cross-site", "same-site" (another port of the host is
  //    another site's server), or anything unknown;
  //  - an Origin that is not the daemon's own: "http://" and the Host the
  //    request was addressed to (scheme and host case-insensitive, port 80
  //    when absent), compared as scheme, host and port; "null" (sandboxed
  //    frames, file: pages) and anything unparsable are foreign, and so is
  //    any Origin when there is no Host to compare it with.
  // Without either header (curl, zkelect's own client), allowed.
  static bool IsSameOrigin(std::string_view origin, std::string_view sec_fetch_site,
                           std::string_view host_header);

  // True when every TCP address of http.listen names a loopback host
  // (Unix-domain sockets are local too).
  bool loopback_only() const { return loopback_only_; }

  // True for "localhost", 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104; `host`
  // carries no brackets and no port.
  static bool IsLoopbackHost(std::string_view host);

 private:
  // Constant after construction.
  std::vector<std::string> allowed_hosts_;  // lower case, no trailing dot
  std::string token_;
  bool loopback_only_ = false;
  bool tcp_listener_ = false;  // http.listen has a host:port
};

// "host", "host:port", "[v6]" or "[v6]:port", split. The host loses its
// brackets; the port is digits or empty.
struct HostPort {
  std::string host;
  std::string port;
  bool bracketed = false;  // the host was written as [IPv6]
};

// Splits `text` as above; empty when it is none of those forms (for example
// an IPv6 literal without brackets, or a port that is not all digits).
std::optional<HostPort> SplitHostPort(std::string_view text);

}  // namespace zkelect
