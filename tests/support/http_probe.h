#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace zkelect::test {

// One HTTP answer of a zkelect daemon, as seen by a test.
struct HttpReply {
  int status = 0;           // HTTP status; 0 when no answer came (see `error`)
  std::string error;        // transport failure ("connection refused", "timeout", ...)
  std::string raw_body;     // the body as received
  nlohmann::json body;      // parsed body; null when empty or not JSON
  std::string parse_error;  // why `body` is null although raw_body is not empty
  std::multimap<std::string, std::string> headers;  // names as sent
  std::chrono::steady_clock::time_point received;   // when the answer was complete

  // The X-Zkelect-Index header as a number, if present and numeric.
  std::optional<uint64_t> index() const;
  // The first value of a header (case-insensitive name), or "".
  std::string Header(const std::string& name) const;
  // "GET /leader -> 503 {...}" style summary for failure messages.
  std::string Describe() const;

  std::string request;  // "GET /leader", for Describe()
};

// GET http://127.0.0.1:<port><path_and_query>, bounded by `timeout` (connect,
// read and write each). Never throws; failures are in HttpReply::error.
HttpReply HttpGet(uint16_t port, const std::string& path_and_query,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

// HEAD, same contract as HttpGet (no body).
HttpReply HttpHead(uint16_t port, const std::string& path_and_query,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

// POST with an empty body (or `body`), same contract as HttpGet.
HttpReply HttpPost(uint16_t port, const std::string& path_and_query,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(2000),
                   const std::string& body = "",
                   const std::map<std::string, std::string>& extra_headers = {});

// Calls `predicate` every `poll` until it returns true or `timeout` has
// passed (bounded in time and in number of calls). Returns whether it became
// true; the predicate is always called at least once, and once more at the
// deadline.
bool WaitUntil(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll = std::chrono::milliseconds(20));

}  // namespace zkelect::test
