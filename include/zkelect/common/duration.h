#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "zkelect/common/status.h"

namespace zkelect {

// Parses the one duration syntax used everywhere (config, `wait`, `hold`):
// one or more <integer><unit> terms with unit in {ms, s, m, h}, each unit at
// most once and in decreasing order, e.g. "250ms", "6s", "5m", "1h", "1m30s".
// No sign, no spaces, no fractions, no bare numbers. Overflow past 100 days is
// an error. The error message says what was expected but not the key; callers
// add the key.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Formats a duration in the same syntax, shortest form ("1m30s", "250ms", "0s").
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace zkelect
