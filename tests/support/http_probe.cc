#include "support/http_probe.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <thread>

namespace zkelect::test {
namespace {

using Clock = std::chrono::steady_clock;

bool EqualsIgnoreCase(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::unique_ptr<httplib::Client> MakeClient(uint16_t port, std::chrono::milliseconds timeout) {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port);
  client->set_connection_timeout(timeout);
  client->set_read_timeout(timeout);
  client->set_write_timeout(timeout);
  client->set_keep_alive(false);
  return client;
}

HttpReply ToReply(std::string request, const httplib::Result& result) {
  HttpReply reply;
  reply.request = std::move(request);
  reply.received = Clock::now();
  if (!result) {
    reply.error = httplib::to_string(result.error());
    return reply;
  }
  reply.status = result->status;
  reply.raw_body = result->body;
  for (const auto& [name, value] : result->headers) reply.headers.emplace(name, value);
  if (!reply.raw_body.empty()) {
    try {
      reply.body = nlohmann::json::parse(reply.raw_body);
    } catch (const nlohmann::json::exception& e) {
      reply.parse_error = e.what();
    }
  }
  return reply;
}

}  // namespace

std::optional<uint64_t> HttpReply::index() const {
  const std::string value = Header("X-Zkelect-Index");
  if (value.empty() || value.size() > 20) return std::nullopt;
  uint64_t number = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + static_cast<uint64_t>(c - '0');
  }
  return number;
}

std::string HttpReply::Header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

std::string HttpReply::Describe() const {
  std::string out = request + " -> ";
  if (status == 0) return out + "no answer (" + error + ")";
  out += std::to_string(status);
  if (!raw_body.empty()) out += " " + raw_body;
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

HttpReply HttpGet(uint16_t port, const std::string& path_and_query,
                  std::chrono::milliseconds timeout) {
  auto client = MakeClient(port, timeout);
  return ToReply("GET " + path_and_query, client->Get(path_and_query));
}

HttpReply HttpHead(uint16_t port, const std::string& path_and_query,
                   std::chrono::milliseconds timeout) {
  auto client = MakeClient(port, timeout);
  return ToReply("HEAD " + path_and_query, client->Head(path_and_query));
}

HttpReply HttpPost(uint16_t port, const std::string& path_and_query,
                   std::chrono::milliseconds timeout, const std::string& body,
                   const std::map<std::string, std::string>& extra_headers) {
  auto client = MakeClient(port, timeout);
  httplib::Headers headers;
  for (const auto& [name, value] : extra_headers) headers.emplace(name, value);
  return ToReply("POST " + path_and_query,
                 client->Post(path_and_query, headers, body, "application/json"));
}

bool WaitUntil(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll) {
  if (poll.count() < 1) poll = std::chrono::milliseconds(1);
  const auto deadline = Clock::now() + timeout;
  const auto max_calls = timeout / poll + 2;
  for (auto calls = decltype(max_calls){0}; calls < max_calls; ++calls) {
    if (predicate()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(poll, deadline - now));
  }
  return predicate();
}

}  // namespace zkelect::test
