#include "zkelect/common/duration.h"

#include <array>
#include <cstdint>

namespace zkelect {
namespace {

constexpr std::int64_t kMaxMillis = std::int64_t{100} * 24 * 60 * 60 * 1000;  // 100 days

constexpr char kExpectation[] = "expected a duration like 250ms, 6s or 1m30s";
constexpr char kTooLong[] = "expected a duration of at most 100 days (2400h)";

struct Unit {
  std::string_view suffix;
  std::int64_t millis;
};

// Largest first: the order in which the units must appear, and in which
// FormatDuration writes them.
constexpr std::array<Unit, 4> kUnits = {{{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The index in kUnits of the unit at the front of `text`, or kUnits.size().
// "ms" is tried before "m" so that "5ms" is not read as 5 minutes and an "s".
std::size_t MatchUnit(std::string_view text) {
  if (text.starts_with("ms")) return 3;
  if (text.starts_with("h")) return 0;
  if (text.starts_with("m")) return 1;
  if (text.starts_with("s")) return 2;
  return kUnits.size();
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument(kExpectation);
  std::int64_t total = 0;
  bool too_long = false;
  std::size_t next_allowed_unit = 0;  // units must come in kUnits order, each once
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!IsDigit(text[pos])) return Status::InvalidArgument(kExpectation);
    // Digits beyond the limit only set too_long: the syntax is still checked to
    // the end so that "99999999999x" reports the syntax, not the size.
    std::int64_t number = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (number <= kMaxMillis) number = number * 10 + (text[pos] - '0');
      ++pos;
    }
    const std::size_t unit = MatchUnit(text.substr(pos));
    if (unit == kUnits.size() || unit < next_allowed_unit) {
      return Status::InvalidArgument(kExpectation);
    }
    pos += kUnits[unit].suffix.size();
    next_allowed_unit = unit + 1;
    if (number > kMaxMillis / kUnits[unit].millis) {
      too_long = true;
    } else {
      total += number * kUnits[unit].millis;  // both terms <= kMaxMillis: no overflow
      if (total > kMaxMillis) too_long = true;
    }
  }
  if (too_long) return Status::InvalidArgument(kTooLong);
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  std::int64_t count = d.count();
  std::string out;
  // Negative durations cannot be parsed back, but a log line should still
  // show them. The magnitude is taken unsigned so that the minimum is safe.
  std::uint64_t rest = static_cast<std::uint64_t>(count);
  if (count < 0) {
    out = "-";
    rest = ~rest + 1;
  }
  if (rest == 0) return "0s";
  for (const Unit& unit : kUnits) {
    const auto unit_millis = static_cast<std::uint64_t>(unit.millis);
    if (rest >= unit_millis) {
      out += std::to_string(rest / unit_millis);
      out += unit.suffix;
      rest %= unit_millis;
    }
  }
  return out;
}

}  // namespace zkelect
