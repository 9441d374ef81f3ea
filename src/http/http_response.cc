#include "zkelect/http/http_response.h"

#include <strings.h>

#include <algorithm>

namespace zkelect {
namespace {

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

void HttpResponse::SetHeader(std::string_view name, std::string value) {
  const auto it = std::find_if(headers.begin(), headers.end(),
                               [name](const auto& header) { return SameName(header.first, name); });
  if (it != headers.end()) {
    it->second = std::move(value);
  } else {
    headers.emplace_back(name, std::move(value));
  }
}

bool HttpResponse::HasHeader(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [name](const auto& header) { return SameName(header.first, name); });
}

std::string_view ReasonPhrase(int status) {
  struct Reason {
    int status;
    std::string_view phrase;
  };
  // The statuses zkelect answers with (RFC 9110 §15).
  static constexpr Reason kReasons[] = {
      {100, "Continue"},
      {200, "OK"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {409, "Conflict"},
      {411, "Length Required"},
      {413, "Content Too Large"},
      {414, "URI Too Long"},
      {417, "Expectation Failed"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {503, "Service Unavailable"},
      {505, "HTTP Version Not Supported"},
  };
  for (const Reason& reason : kReasons) {
    if (reason.status == status) return reason.phrase;
  }
  return "Unknown";
}

std::string SerializeResponse(const HttpResponse& response, bool head_only,
                              ConnectionHeader connection) {
  std::string out;
  out.reserve(256 + (head_only ? 0 : response.body.size()));
  out += "HTTP/1.1 ";
  out += std::to_string(response.status);
  out += ' ';
  out += ReasonPhrase(response.status);
  out += "\r\n";
  if (!response.content_type.empty()) {
    out += "Content-Type: ";
    out += response.content_type;
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(response.body.size());
  out += "\r\n";
  if (connection == ConnectionHeader::kClose) out += "Connection: close\r\n";
  if (connection == ConnectionHeader::kKeepAlive) out += "Connection: keep-alive\r\n";
  for (const auto& [name, value] : response.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
  if (!head_only) out += response.body;
  return out;
}

}  // namespace zkelect
