// libFuzzer target for the long-poll and resign query parsers
// (src/http/request_params.cc).
//
// The input is a query string, `index=7&wait=30s&hold=1s`, split on '&' and
// the first '=' the way the HTTP library does (without percent-decoding:
// the parsers see decoded bytes, so any byte may reach them). Properties:
//  - a name given more than once is an error;
//  - an accepted index is exactly the digits sent (leading zeros aside);
//  - an accepted wait is min(ParseDuration(wait) or default_wait, max_wait),
//    and an accepted hold is ParseDuration(hold) or 0;
//  - a refused value fails ParseDuration (or, for index, is not a uint64),
//    and every error has a message naming the parameter.
#include <charconv>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "fuzz_check.h"
#include "zkelect/common/duration.h"
#include "zkelect/config/config.h"
#include "zkelect/http/request_params.h"

namespace {

using std::chrono::milliseconds;

zkelect::QueryParams SplitQuery(std::string_view query) {
  zkelect::QueryParams params;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    params.emplace(std::string(pair.substr(0, eq)),
                   eq == std::string_view::npos ? std::string() : std::string(pair.substr(eq + 1)));
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return params;
}

// The single value of `name`, or nullptr when it is absent or repeated.
const std::string* Single(const zkelect::QueryParams& params, const std::string& name) {
  return params.count(name) == 1 ? &params.find(name)->second : nullptr;
}

bool IsUint64(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  std::uint64_t value = 0;
  return std::from_chars(text.data(), text.data() + text.size(), value).ec == std::errc();
}

void CheckLongPoll(const zkelect::QueryParams& params) {
  const zkelect::HttpConfig config;
  const zkelect::Result<zkelect::LongPollParams> parsed =
      zkelect::ParseLongPollParams(params, config);
  const std::string* index = Single(params, "index");
  const std::string* wait = Single(params, "wait");
  const bool index_ok = params.count("index") == 0 || (index != nullptr && IsUint64(*index));
  const bool wait_ok =
      params.count("wait") == 0 || (wait != nullptr && zkelect::ParseDuration(*wait).ok());
  FUZZ_CHECK(parsed.ok() == (index_ok && wait_ok), "a long-poll is accepted iff its values are");
  if (!parsed.ok()) {
    const std::string message = parsed.status().message();
    FUZZ_CHECK(message.find(index_ok ? "wait" : "index") != std::string::npos,
               "the error names the parameter");
    return;
  }
  FUZZ_CHECK(parsed->index.has_value() == (index != nullptr), "index is set iff it was given");
  if (index != nullptr) {
    const std::string digits =
        index->substr(std::min(index->find_first_not_of('0'), index->size()));
    FUZZ_CHECK(std::to_string(*parsed->index) == (digits.empty() ? "0" : digits),
               "the index is the number sent");
  }
  const milliseconds asked = wait == nullptr ? config.default_wait : *zkelect::ParseDuration(*wait);
  FUZZ_CHECK(parsed->wait == std::min(asked, config.max_wait), "wait is capped at max_wait");
}

void CheckResign(const zkelect::QueryParams& params) {
  const zkelect::Result<zkelect::ResignParams> parsed = zkelect::ParseResignParams(params);
  const std::string* hold = Single(params, "hold");
  const bool hold_ok =
      params.count("hold") == 0 || (hold != nullptr && zkelect::ParseDuration(*hold).ok());
  FUZZ_CHECK(parsed.ok() == hold_ok, "a resign is accepted iff its hold is");
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().message().find("hold") != std::string::npos,
               "the error names the parameter");
    return;
  }
  const milliseconds expected = hold == nullptr ? milliseconds(0) : *zkelect::ParseDuration(*hold);
  FUZZ_CHECK(parsed->hold == expected, "hold is the duration sent, or 0");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const zkelect::QueryParams params =
      SplitQuery(std::string_view(reinterpret_cast<const char*>(data), size));
  CheckLongPoll(params);
  CheckResign(params);
  return 0;
}
