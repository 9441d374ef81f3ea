#include "zkelect/http/host_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "zkelect/config/config.h"
#include "zkelect/http/unix_socket_file.h"

namespace zkelect {
namespace {

bool IsDigits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Lower case, one trailing dot dropped ("Example.COM." -> "example.com"):
// DNS names compare that way.
std::string CanonicalName(std::string_view name) {
  if (name.ends_with('.')) name.remove_suffix(1);
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(), ToLower);
  return out;
}

bool IsIpv4Literal(const std::string& host) {
  in_addr address{};
  return inet_pton(AF_INET, host.c_str(), &address) == 1;
}

bool IsIpv6Literal(const std::string& host) {
  in6_addr address{};
  return inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

// Compares in time that depends on the lengths only, not on where the first
// difference is, so that the token cannot be guessed byte by byte.
bool ConstantTimeEquals(std::string_view presented, std::string_view secret) {
  unsigned difference = presented.size() == secret.size() ? 0U : 1U;
  for (size_t i = 0; i < secret.size(); ++i) {
    const char given = i < presented.size() ? presented[i] : '\0';
    difference |= static_cast<unsigned char>(given ^ secret[i]);
  }
  return difference == 0;
}

// The credentials of `Authorization: Bearer <token>` (scheme case-insensitive,
// RFC 7235), or empty when the header has another form.
std::optional<std::string_view> BearerCredentials(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (ToLower(authorization[i]) != kScheme[i]) return std::nullopt;
  }
  std::string_view rest = authorization.substr(kScheme.size());
  if (rest.front() != ' ') return std::nullopt;
  const size_t begin = rest.find_first_not_of(' ');
  if (begin == std::string_view::npos) return std::nullopt;
  rest.remove_prefix(begin);
  const size_t end = rest.find_last_not_of(" \t");
  return rest.substr(0, end + 1);
}

// "host" or "host:port" of an origin or Host header, as (lower-case host,
// port) with http's default port 80; empty when it is neither form.
std::optional<std::pair<std::string, std::string>> HttpAuthority(std::string_view authority) {
  const std::optional<HostPort> split = SplitHostPort(authority);
  if (!split || split->host.empty()) return std::nullopt;
  std::string host = CanonicalName(split->host);
  if (split->bracketed) host = "[" + host + "]";
  std::string_view port = split->port;
  while (port.size() > 1 && port.front() == '0') port.remove_prefix(1);
  return std::make_pair(std::move(host), port.empty() ? std::string("80") : std::string(port));
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ToLower(x) == ToLower(y);
         });
}

}  // namespace

HostPolicy::HostPolicy(const HttpConfig& config) : token_(config.token) {
  for (const std::string& name : config.allowed_hosts)
    allowed_hosts_.push_back(CanonicalName(name));
  loopback_only_ = true;
  for (const std::string& address : config.listen) {
    if (UnixListenPath(address)) continue;
    tcp_listener_ = true;
    const std::optional<HostPort> listen = SplitHostPort(address);
    loopback_only_ = loopback_only_ && listen && IsLoopbackHost(listen->host);
  }
}

bool HostPolicy::AllowsHost(std::string_view host_header, bool unix_socket) const {
  if (unix_socket) return true;
  if (host_header.empty()) return true;  // HTTP/1.0, or a client that sends none
  const std::optional<HostPort> host = SplitHostPort(host_header);
  if (!host) return false;
  if (host->bracketed) return IsIpv6Literal(host->host);
  if (IsIpv4Literal(host->host)) return true;
  const std::string name = CanonicalName(host->host);
  if (name.empty()) return false;
  if (name == "localhost") return true;
  return std::find(allowed_hosts_.begin(), allowed_hosts_.end(), name) != allowed_hosts_.end();
}

HostPolicy::WriteAccess HostPolicy::CheckWrite(std::string_view authorization,
                                               bool unix_socket) const {
  if (token_.empty()) {
    return unix_socket || loopback_only_ ? WriteAccess::kAllowed : WriteAccess::kTokenRequired;
  }
  const std::optional<std::string_view> presented = BearerCredentials(authorization);
  if (!presented || !ConstantTimeEquals(*presented, token_)) return WriteAccess::kUnauthorized;
  return WriteAccess::kAllowed;
}

bool HostPolicy::IsSameOrigin(std::string_view origin, std::string_view sec_fetch_site,
                              std::string_view host_header) {
  if (!sec_fetch_site.empty() && sec_fetch_site != "same-origin" && sec_fetch_site != "none") {
    return false;
  }
  if (origin.empty()) return true;
  // An origin is scheme "://" host [":" port], nothing more (RFC 6454); we
  // serve http only.
  constexpr std::string_view kScheme = "http://";
  if (origin.size() <= kScheme.size() ||
      !EqualsIgnoringCase(origin.substr(0, kScheme.size()), kScheme)) {
    return false;
  }
  const std::optional<std::pair<std::string, std::string>> from =
      HttpAuthority(origin.substr(kScheme.size()));
  const std::optional<std::pair<std::string, std::string>> to = HttpAuthority(host_header);
  return from && to && *from == *to;
}

bool HostPolicy::IsLoopbackHost(std::string_view host) {
  if (CanonicalName(host) == "localhost") return true;
  const std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

std::optional<HostPort> SplitHostPort(std::string_view text) {
  HostPort out;
  std::string_view rest;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(text.substr(1, close - 1));
    out.bracketed = true;
    rest = text.substr(close + 1);
  } else {
    const size_t colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      return std::nullopt;  // more than one colon: an IPv6 literal needs brackets
    }
    out.host = std::string(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
  }
  if (!rest.empty()) {
    if (rest.front() != ':' || !IsDigits(rest.substr(1))) return std::nullopt;
    out.port = std::string(rest.substr(1));
  }
  return out;
}

}  // namespace zkelect
