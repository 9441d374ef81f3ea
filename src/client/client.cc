#include "zkelect/client/client.h"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <system_error>
#include <utility>

#include "zkelect/common/duration.h"
#include "zkelect/http/host_policy.h"

namespace zkelect {
namespace {

constexpr char kIndexHeader[] = "X-Zkelect-Index";

bool IsDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The X-Zkelect-Index header as a number; 0 when absent or not a number.
uint64_t ParseIndex(const std::string& header) {
  uint64_t index = 0;
  if (!IsDigits(header) ||
      std::from_chars(header.data(), header.data() + header.size(), index).ec != std::errc()) {
    return 0;
  }
  return index;
}

// "no answer ..." for a request that got none, naming the address and what
// the library saw.
Status Failure(const DaemonAddress& address, std::string_view request,
               std::chrono::milliseconds read_timeout, httplib::Error error) {
  const std::string where = address.ToString();
  switch (error) {
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
      return Status::Unavailable("cannot connect to the daemon at " + where +
                                 " (connection refused or timed out)");
    case httplib::Error::Read:
      return Status::Unavailable("no answer from the daemon at " + where + " to " +
                                 std::string(request) + " within " + FormatDuration(read_timeout) +
                                 " (timed out or connection closed)");
    case httplib::Error::Write:
      return Status::Unavailable("cannot send " + std::string(request) + " to the daemon at " +
                                 where + " (connection closed)");
    default:
      return Status::Unavailable(std::string(request) + " to the daemon at " + where +
                                 " failed: " + httplib::to_string(error));
  }
}

Result<DaemonReply> ToReply(const httplib::Result& result, const DaemonAddress& address,
                            std::string_view request, std::chrono::milliseconds read_timeout) {
  if (!result) return Failure(address, request, read_timeout, result.error());
  DaemonReply reply;
  reply.status = result->status;
  reply.index = ParseIndex(result->get_header_value(kIndexHeader));
  reply.body = result->body;
  reply.json = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  return reply;
}

}  // namespace

std::string DaemonAddress::ToString() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<DaemonAddress> ParseDaemonAddress(std::string_view listen) {
  const std::optional<HostPort> split = SplitHostPort(listen);
  const bool valid = split && !split->host.empty() && IsDigits(split->port) &&
                     split->port.size() <= 5 && std::stoi(split->port) >= 1 &&
                     std::stoi(split->port) <= 65535 &&
                     (split->bracketed || split->host.find(':') == std::string::npos);
  if (!valid) {
    return Status::InvalidArgument(
        "expected host:port with a port in 1..65535, like 127.0.0.1:4040 or [::1]:4040");
  }
  DaemonAddress address{split->host, std::stoi(split->port)};
  // The daemon listens on every address: its loopback one is as good as any.
  if (address.host == "0.0.0.0") address.host = "127.0.0.1";
  if (split->bracketed && (address.host == "::" || address.host == "0:0:0:0:0:0:0:0")) {
    address.host = "::1";
  }
  return address;
}

DaemonClient::DaemonClient(DaemonAddress address, std::chrono::milliseconds timeout,
                           std::string token)
    : address_(std::move(address)),
      timeout_(timeout),
      token_(std::move(token)),
      http_(std::make_unique<httplib::Client>(address_.host, address_.port)) {
  http_->set_connection_timeout(timeout_);
  http_->set_write_timeout(timeout_);
  http_->set_keep_alive(false);
}

DaemonClient::~DaemonClient() = default;

Result<DaemonReply> DaemonClient::Get(std::string_view path, std::optional<LongPoll> poll) {
  std::string target(path);
  std::chrono::milliseconds read_timeout = timeout_;
  if (poll) {
    target += "?index=" + std::to_string(poll->index) + "&wait=" + FormatDuration(poll->wait);
    read_timeout += poll->wait;
  }
  http_->set_read_timeout(read_timeout);
  // Written here rather than left to the library: the daemon checks Host
  // (against DNS rebinding) and accepts IP literals, IPv6 in brackets.
  const httplib::Headers headers = {{"Host", address_.ToString()}};
  return ToReply(http_->Get(target, headers), address_, "GET " + std::string(path), read_timeout);
}

Result<DaemonReply> DaemonClient::Post(std::string_view target,
                                       std::chrono::milliseconds read_timeout) {
  http_->set_read_timeout(read_timeout);
  httplib::Headers headers = {{"Host", address_.ToString()}};
  if (!token_.empty()) headers.emplace("Authorization", "Bearer " + token_);
  const std::string path(target.substr(0, target.find('?')));
  return ToReply(http_->Post(std::string(target), headers, "", "text/plain"), address_,
                 "POST " + path, read_timeout);
}

}  // namespace zkelect
