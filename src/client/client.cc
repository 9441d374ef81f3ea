#include "zkelect/client/client.h"

#include <algorithm>
#include <charconv>
#include <system_error>
#include <utility>

#include "zkelect/common/duration.h"
#include "zkelect/http/host_policy.h"
#include "zkelect/http/http_client.h"
#include "zkelect/http/unix_socket_file.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;

constexpr char kIndexHeader[] = "X-Zkelect-Index";

bool IsDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The X-Zkelect-Index header as a number; 0 when absent or not a number.
uint64_t ParseIndex(std::string_view header) {
  uint64_t index = 0;
  if (!IsDigits(header) ||
      std::from_chars(header.data(), header.data() + header.size(), index).ec != std::errc()) {
    return 0;
  }
  return index;
}

// Why `what` ("GET /status") got no answer from the daemon at `address`:
// the connect did not succeed within `connect_timeout`, or the exchange did
// not within `total`, or what the client saw.
Status Failure(const DaemonAddress& address, std::string_view what, milliseconds connect_timeout,
               milliseconds total, const HttpFailure& failure) {
  using Kind = HttpFailure::Kind;
  const std::string where = address.ToString();
  switch (failure.kind) {
    case Kind::kCannotResolve:
    case Kind::kCannotConnect:
      return Status::Unavailable("cannot connect to the daemon at " + where + " (" +
                                 failure.detail + ")");
    case Kind::kTimedOut:
      if (failure.step == HttpFailure::Step::kConnect) {
        return Status::Unavailable("cannot connect to the daemon at " + where + " within " +
                                   FormatDuration(connect_timeout) + " (timed out)");
      }
      return Status::Unavailable("no answer from the daemon at " + where + " to " +
                                 std::string(what) + " within " + FormatDuration(total) +
                                 " (timed out)");
    case Kind::kBadResponse:
      return Status::Unavailable("no valid answer from the daemon at " + where + " to " +
                                 std::string(what) + " (" + failure.detail + ")");
    case Kind::kBadRequest:
    case Kind::kCannotSend:
    case Kind::kCancelled:
      break;
  }
  return Status::Unavailable("cannot send " + std::string(what) + " to the daemon at " + where +
                             " (" + failure.detail + ")");
}

}  // namespace

std::string DaemonAddress::ToString() const {
  if (!unix_path.empty()) return "unix:" + unix_path;
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<DaemonAddress> ParseDaemonAddress(std::string_view listen) {
  if (const std::optional<std::string_view> path = UnixListenPath(listen)) {
    if (!path->starts_with('/') || path->size() > UnixSocketFile::kMaxPathBytes) {
      return Status::InvalidArgument("expected unix: and an absolute path of at most " +
                                     std::to_string(UnixSocketFile::kMaxPathBytes) +
                                     " bytes, like unix:/run/zkelect/api.sock (this one has " +
                                     std::to_string(path->size()) + ")");
    }
    DaemonAddress address;
    address.unix_path = std::string(*path);
    return address;
  }
  const std::optional<HostPort> split = SplitHostPort(listen);
  const bool valid = split && !split->host.empty() && IsDigits(split->port) &&
                     split->port.size() <= 5 && std::stoi(split->port) >= 1 &&
                     std::stoi(split->port) <= 65535 &&
                     (split->bracketed || split->host.find(':') == std::string::npos);
  if (!valid) {
    return Status::InvalidArgument(
        "expected host:port with a port in 1..65535, like 127.0.0.1:4040 or [::1]:4040, or "
        "unix:/path");
  }
  DaemonAddress address{split->host, std::stoi(split->port), ""};
  // The daemon listens on every address: its loopback one is as good as any.
  if (address.host == "0.0.0.0") address.host = "127.0.0.1";
  if (split->bracketed && (address.host == "::" || address.host == "0:0:0:0:0:0:0:0")) {
    address.host = "::1";
  }
  return address;
}

DaemonClient::DaemonClient(DaemonAddress address, milliseconds timeout, std::string token)
    : address_(std::move(address)), timeout_(timeout), token_(std::move(token)) {}

Result<DaemonReply> DaemonClient::Get(std::string_view path, std::optional<LongPoll> poll) {
  std::string target(path);
  milliseconds total = timeout_;
  if (poll) {
    target += "?index=" + std::to_string(poll->index) + "&wait=" + FormatDuration(poll->wait);
    total += poll->wait;
  }
  return Exchange("GET", std::move(target), "GET " + std::string(path), total);
}

Result<DaemonReply> DaemonClient::Post(std::string_view target, milliseconds read_timeout) {
  const std::string path(target.substr(0, target.find('?')));
  return Exchange("POST", std::string(target), "POST " + path, read_timeout);
}

Result<DaemonReply> DaemonClient::Exchange(std::string method, std::string target,
                                           std::string_view what, milliseconds total) {
  ClientRequest request;
  request.method = std::move(method);
  request.host = address_.host;
  request.port = address_.port;
  request.unix_path = address_.unix_path;
  // The daemon checks Host (against DNS rebinding) and accepts IP literals,
  // IPv6 in brackets, and localhost (any name over its Unix socket).
  request.authority = address_.unix_path.empty() ? address_.ToString() : "localhost";
  request.target = std::move(target);
  if (request.method == "POST" && !token_.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + token_);
  }
  const auto start = std::chrono::steady_clock::now();
  HttpLimits limits;
  limits.deadline = start + total;
  limits.connect_deadline = start + timeout_;
  limits.max_body = kMaxBodyBytes;
  HttpResult result = FetchHttp(request, limits);
  if (const HttpFailure* failure = std::get_if<HttpFailure>(&result)) {
    return Failure(address_, what, timeout_, total, *failure);
  }
  ClientResponse& response = std::get<ClientResponse>(result);
  if (response.body_truncated) {
    return Status::Unavailable("no valid answer from the daemon at " + address_.ToString() +
                               " to " + std::string(what) + " (a body over " +
                               std::to_string(kMaxBodyBytes) + " bytes)");
  }
  DaemonReply reply;
  reply.status = response.status;
  reply.index = ParseIndex(response.Header(kIndexHeader).value_or(""));
  reply.body = std::move(response.body);
  reply.json = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  return reply;
}

}  // namespace zkelect
