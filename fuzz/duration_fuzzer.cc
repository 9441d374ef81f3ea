// libFuzzer target for ParseDuration / FormatDuration (src/common/duration.cc).
//
// Properties, for any input text:
//  - a parsed duration lies in [0, 100 days] and formats to text that parses
//    back to the same duration, and formatting is canonical (idempotent);
//  - an error has a message;
// and, reading the first 8 bytes as a millisecond count d:
//  - FormatDuration(d) parses back to d when 0 <= d <= 100 days, and is
//    refused otherwise (negative or too long).
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "zkelect/common/duration.h"

namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kMaxMillis = std::int64_t{100} * 24 * 60 * 60 * 1000;

void CheckText(std::string_view text) {
  const zkelect::Result<milliseconds> parsed = zkelect::ParseDuration(text);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.status().message().empty(), "an error has a message");
    return;
  }
  const std::int64_t millis = parsed->count();
  FUZZ_CHECK(millis >= 0 && millis <= kMaxMillis, "a parsed duration lies in [0, 100 days]");
  const std::string formatted = zkelect::FormatDuration(*parsed);
  const zkelect::Result<milliseconds> reparsed = zkelect::ParseDuration(formatted);
  FUZZ_CHECK(reparsed.ok() && *reparsed == *parsed, "parse(format(parse(text))) == parse(text)");
  FUZZ_CHECK(zkelect::FormatDuration(*reparsed) == formatted, "formatting is canonical");
}

void CheckMillis(std::int64_t millis) {
  const std::string formatted = zkelect::FormatDuration(milliseconds(millis));
  const zkelect::Result<milliseconds> parsed = zkelect::ParseDuration(formatted);
  if (millis >= 0 && millis <= kMaxMillis) {
    FUZZ_CHECK(parsed.ok() && parsed->count() == millis, "parse(format(d)) == d");
  } else {
    FUZZ_CHECK(!parsed.ok(), "a negative or too long duration does not parse back");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  CheckText(std::string_view(reinterpret_cast<const char*>(data), size));
  if (size >= sizeof(std::int64_t)) {
    std::int64_t millis = 0;
    std::memcpy(&millis, data, sizeof millis);
    CheckMillis(millis);
    // Small values too, so that the interesting range is not left to chance.
    CheckMillis(millis % (2 * kMaxMillis));
  }
  return 0;
}
