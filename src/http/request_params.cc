#include "zkelect/http/request_params.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <string_view>
#include <system_error>

#include "zkelect/common/duration.h"
#include "zkelect/config/config.h"

namespace zkelect {
namespace {

// `name = "value": ` — the start of every message about one parameter. The
// value is quoted as the client sent it, cut short so that a huge value does
// not make a huge message.
std::string Prefix(std::string_view name, std::string_view value) {
  constexpr size_t kMaxShown = 64;
  std::string shown(value.substr(0, kMaxShown));
  if (value.size() > kMaxShown) shown += "...";
  return std::string(name) + " = \"" + shown + "\": ";
}

// The single value of `name`, empty when absent; an error when it is given
// more than once (the two values could disagree, and guessing hides bugs).
Result<std::optional<std::string>> SingleValue(const QueryParams& params, const std::string& name) {
  const auto [first, last] = params.equal_range(name);
  if (first == last) return std::optional<std::string>();
  if (std::next(first) != last) {
    return Status::InvalidArgument(name + " is given " +
                                   std::to_string(std::distance(first, last)) +
                                   " times: expected it at most once");
  }
  return std::optional<std::string>(first->second);
}

Result<std::optional<std::chrono::milliseconds>> DurationParam(const QueryParams& params,
                                                               const std::string& name) {
  Result<std::optional<std::string>> text = SingleValue(params, name);
  if (!text.ok()) return text.status();
  if (!text->has_value()) return std::optional<std::chrono::milliseconds>();
  Result<std::chrono::milliseconds> duration = ParseDuration(**text);
  if (!duration.ok()) {
    return Status::InvalidArgument(Prefix(name, **text) + duration.status().message());
  }
  return std::optional<std::chrono::milliseconds>(*duration);
}

Result<std::optional<uint64_t>> IndexParam(const QueryParams& params) {
  Result<std::optional<std::string>> text = SingleValue(params, "index");
  if (!text.ok()) return text.status();
  if (!text->has_value()) return std::optional<uint64_t>();
  const std::string& value = **text;
  constexpr char kExpected[] =
      "expected a non-negative integer, the X-Zkelect-Index of an earlier answer";
  // Digits only: no sign, no spaces, nothing after the number; from_chars
  // then only fails on overflow.
  const bool all_digits = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
  uint64_t index = 0;
  if (!all_digits ||
      std::from_chars(value.data(), value.data() + value.size(), index).ec != std::errc()) {
    return Status::InvalidArgument(Prefix("index", value) + kExpected);
  }
  return std::optional<uint64_t>(index);
}

}  // namespace

Result<LongPollParams> ParseLongPollParams(const QueryParams& params, const HttpConfig& config) {
  Result<std::optional<uint64_t>> index = IndexParam(params);
  if (!index.ok()) return index.status();
  Result<std::optional<std::chrono::milliseconds>> wait = DurationParam(params, "wait");
  if (!wait.ok()) return wait.status();

  LongPollParams parsed;
  parsed.index = *index;
  // Capped silently, as Consul does: a client asking for more than the server
  // allows gets an answer sooner, which every long-poll client handles anyway.
  parsed.wait = std::min(wait->value_or(config.default_wait), config.max_wait);
  return parsed;
}

Result<ResignParams> ParseResignParams(const QueryParams& params) {
  Result<std::optional<std::chrono::milliseconds>> hold = DurationParam(params, "hold");
  if (!hold.ok()) return hold.status();
  ResignParams parsed;
  parsed.hold = hold->value_or(std::chrono::milliseconds(0));
  return parsed;
}

}  // namespace zkelect
