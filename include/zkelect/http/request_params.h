#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "zkelect/common/status.h"

namespace zkelect {

struct HttpConfig;

// Query parameters of one request, as decoded by the HTTP library (a name may
// appear more than once).
using QueryParams = std::multimap<std::string, std::string>;

// The parameters of a long-poll (Consul-style blocking query) on /leader,
// /status and /is-leader: `?index=N&wait=30s`.
struct LongPollParams {
  // The board index the client has seen; empty: answer at once.
  std::optional<uint64_t> index;
  // How long to park at most; `wait` (default HttpConfig::default_wait),
  // silently capped at HttpConfig::max_wait. Meaningless without `index`.
  std::chrono::milliseconds wait{0};
};

// The parameters of POST /resign: `?hold=5s`.
struct ResignParams {
  // How long to stay out of the election before rejoining; default 0.
  std::chrono::milliseconds hold{0};
};

// Reads `index` and `wait` from `params`; other names are ignored. An error
// (InvalidArgument, for a 400) names the parameter, the value and what was
// expected, e.g. `wait = "abc": expected a duration like 250ms, 6s or 1m30s`;
// a parameter given twice is an error too. Pure; thread-safe.
Result<LongPollParams> ParseLongPollParams(const QueryParams& params, const HttpConfig& config);

// Reads `hold` from `params`; other names are ignored. Errors as above.
Result<ResignParams> ParseResignParams(const QueryParams& params);

}  // namespace zkelect
