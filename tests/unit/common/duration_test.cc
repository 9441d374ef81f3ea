#include "zkelect/common/duration.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace zkelect {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kHour = 3'600'000;
constexpr std::int64_t kHundredDays = 2400 * kHour;

TEST(DurationTest, ParsesEveryUnitAndCombination) {
  const struct {
    const char* text;
    std::int64_t millis;
  } kCases[] = {
      {"0s", 0},
      {"0ms", 0},
      {"250ms", 250},
      {"6s", 6'000},
      {"5m", 300'000},
      {"1h", kHour},
      {"1m30s", 90'000},
      {"1h2m3s4ms", kHour + 2 * 60'000 + 3'000 + 4},
      {"1h30m", kHour + 30 * 60'000},
      {"2s500ms", 2'500},
      {"90s", 90'000},
      {"1m90s", 150'000},
      {"007s", 7'000},
      {"2400h", kHundredDays},
      {"2399h59m59s1000ms", kHundredDays},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.text);
    Result<milliseconds> d = ParseDuration(c.text);
    ASSERT_TRUE(d.ok()) << d.status().message();
    EXPECT_EQ(d->count(), c.millis);
  }
}

TEST(DurationTest, RejectsAnythingElseWithTheExpectedSyntax) {
  const char* const kCases[] = {
      "",    "s",     "ms",   "10",      "10x",   "-1s",   "+1s",  "1.5s",  " 1s",  "1s ",   "1 s",
      "1S",  "1MS",   "1sec", "1s1m",    "1m1m",  "1ms1s", "1h1h", "1d",    "1us",  "1msms", "1mss",
      "5m5", "1h-1m", "1,5s", "1_000ms", "0x10s", "1m30",  "h1",   "1h 1m", "\n1s", "1s\n",
  };
  for (const char* text : kCases) {
    SCOPED_TRACE(text);
    Result<milliseconds> d = ParseDuration(text);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(d.status().message(), "expected a duration like 250ms, 6s or 1m30s");
  }
  EXPECT_FALSE(ParseDuration(std::string_view("1\0s", 3)).ok());
}

TEST(DurationTest, RejectsMoreThanHundredDays) {
  const char* const kCases[] = {
      "2401h",
      "2400h1ms",
      "8640000001ms",
      "144001m",
      "99999999999999999999999999999999h",
      "99999999999999999999999999999999ms",
      "2400h2400h1s",  // repeated unit is a syntax error, reported as such below
  };
  for (const char* text : kCases) {
    SCOPED_TRACE(text);
    Result<milliseconds> d = ParseDuration(text);
    ASSERT_FALSE(d.ok());
  }
  EXPECT_EQ(ParseDuration("2401h").status().message(),
            "expected a duration of at most 100 days (2400h)");
  EXPECT_EQ(ParseDuration("99999999999999999999999999999999x").status().message(),
            "expected a duration like 250ms, 6s or 1m30s");
}

TEST(DurationTest, FormatsTheShortestForm) {
  const struct {
    std::int64_t millis;
    const char* text;
  } kCases[] = {
      {0, "0s"},
      {1, "1ms"},
      {250, "250ms"},
      {1'000, "1s"},
      {1'500, "1s500ms"},
      {60'000, "1m"},
      {90'000, "1m30s"},
      {kHour, "1h"},
      {kHour + 1'000, "1h1s"},
      {kHour + 2 * 60'000 + 3'000 + 4, "1h2m3s4ms"},
      {kHundredDays, "2400h"},
      {-1'500, "-1s500ms"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(FormatDuration(milliseconds(c.millis)), c.text);
  }
}

TEST(DurationTest, FormatHandlesExtremes) {
  EXPECT_EQ(FormatDuration(milliseconds::max()), "2562047788015h12m55s807ms");
  EXPECT_EQ(FormatDuration(milliseconds::min()), "-2562047788015h12m55s808ms");
}

TEST(DurationTest, FormatThenParseRoundTrips) {
  for (std::int64_t millis : {std::int64_t{0}, std::int64_t{7}, std::int64_t{59'999},
                              std::int64_t{61'001}, 25 * kHour + 1, kHundredDays}) {
    SCOPED_TRACE(millis);
    Result<milliseconds> d = ParseDuration(FormatDuration(milliseconds(millis)));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->count(), millis);
  }
}

}  // namespace
}  // namespace zkelect
