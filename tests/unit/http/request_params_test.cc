#include "zkelect/http/request_params.h"

#include <gtest/gtest.h>

#include "zkelect/config/config.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;

HttpConfig Limits() {
  HttpConfig config;
  config.default_wait = milliseconds(60'000);
  config.max_wait = milliseconds(600'000);
  return config;
}

TEST(RequestParamsTest, LongPollDefaultsWithoutParameters) {
  const Result<LongPollParams> params = ParseLongPollParams({}, Limits());
  ASSERT_TRUE(params.ok()) << params.status().message();
  EXPECT_FALSE(params->index.has_value());
  EXPECT_EQ(params->wait, milliseconds(60'000));
}

TEST(RequestParamsTest, LongPollReadsIndexAndWait) {
  const Result<LongPollParams> params =
      ParseLongPollParams({{"index", "42"}, {"wait", "1m30s"}}, Limits());
  ASSERT_TRUE(params.ok()) << params.status().message();
  EXPECT_EQ(params->index, 42u);
  EXPECT_EQ(params->wait, milliseconds(90'000));
}

TEST(RequestParamsTest, LongPollAcceptsTheLargestIndex) {
  const Result<LongPollParams> params =
      ParseLongPollParams({{"index", "18446744073709551615"}}, Limits());
  ASSERT_TRUE(params.ok()) << params.status().message();
  EXPECT_EQ(params->index, UINT64_MAX);
}

TEST(RequestParamsTest, LongPollCapsWaitSilently) {
  const Result<LongPollParams> params = ParseLongPollParams({{"wait", "1h"}}, Limits());
  ASSERT_TRUE(params.ok()) << params.status().message();
  EXPECT_EQ(params->wait, milliseconds(600'000));
}

TEST(RequestParamsTest, LongPollAcceptsAZeroWait) {
  const Result<LongPollParams> params = ParseLongPollParams({{"wait", "0s"}}, Limits());
  ASSERT_TRUE(params.ok()) << params.status().message();
  EXPECT_EQ(params->wait, milliseconds(0));
}

TEST(RequestParamsTest, UnknownParametersAreIgnored) {
  const Result<LongPollParams> params =
      ParseLongPollParams({{"stale", ""}, {"foo", "bar"}, {"hold", "junk"}}, Limits());
  EXPECT_TRUE(params.ok()) << params.status().message();
  const Result<ResignParams> resign = ParseResignParams({{"index", "junk"}, {"wait", "junk"}});
  EXPECT_TRUE(resign.ok()) << resign.status().message();
}

struct BadCase {
  QueryParams params;
  std::string message;
};

TEST(RequestParamsTest, LongPollRejectsBadValuesWithClearMessages) {
  const std::vector<BadCase> cases = {
      {{{"wait", "abc"}}, "wait = \"abc\": expected a duration like 250ms, 6s or 1m30s"},
      {{{"wait", ""}}, "wait = \"\": expected a duration like 250ms, 6s or 1m30s"},
      {{{"wait", "30"}}, "wait = \"30\": expected a duration like 250ms, 6s or 1m30s"},
      {{{"wait", "-5s"}}, "wait = \"-5s\": expected a duration like 250ms, 6s or 1m30s"},
      {{{"index", "abc"}},
       "index = \"abc\": expected a non-negative integer, the X-Zkelect-Index of an earlier "
       "answer"},
      {{{"index", "-1"}},
       "index = \"-1\": expected a non-negative integer, the X-Zkelect-Index of an earlier "
       "answer"},
      {{{"index", "+1"}},
       "index = \"+1\": expected a non-negative integer, the X-Zkelect-Index of an earlier "
       "answer"},
      {{{"index", ""}},
       "index = \"\": expected a non-negative integer, the X-Zkelect-Index of an earlier "
       "answer"},
      {{{"index", "1.5"}},
       "index = \"1.5\": expected a non-negative integer, the X-Zkelect-Index of an earlier "
       "answer"},
      {{{"index", "18446744073709551616"}},
       "index = \"18446744073709551616\": expected a non-negative integer, the X-Zkelect-Index "
       "of an earlier answer"},
      {{{"index", "1"}, {"index", "2"}}, "index is given 2 times: expected it at most once"},
      {{{"wait", "1s"}, {"wait", "1s"}}, "wait is given 2 times: expected it at most once"},
  };
  for (const BadCase& bad : cases) {
    const Result<LongPollParams> params = ParseLongPollParams(bad.params, Limits());
    ASSERT_FALSE(params.ok()) << bad.message;
    EXPECT_EQ(params.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(params.status().message(), bad.message);
  }
}

TEST(RequestParamsTest, LongMessagesQuoteOnlyTheStartOfTheValue) {
  const Result<LongPollParams> params =
      ParseLongPollParams({{"wait", std::string(1000, 'x')}}, Limits());
  ASSERT_FALSE(params.ok());
  EXPECT_LT(params.status().message().size(), 200u);
  EXPECT_NE(params.status().message().find("...\": expected a duration"), std::string::npos);
}

TEST(RequestParamsTest, ResignHoldDefaultsToZero) {
  const Result<ResignParams> params = ParseResignParams({});
  ASSERT_TRUE(params.ok()) << params.status().message();
  EXPECT_EQ(params->hold, milliseconds(0));
}

TEST(RequestParamsTest, ResignReadsHold) {
  const Result<ResignParams> params = ParseResignParams({{"hold", "2m"}});
  ASSERT_TRUE(params.ok()) << params.status().message();
  EXPECT_EQ(params->hold, milliseconds(120'000));
}

TEST(RequestParamsTest, ResignRejectsBadHold) {
  const Result<ResignParams> bad = ParseResignParams({{"hold", "soon"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "hold = \"soon\": expected a duration like 250ms, 6s or 1m30s");

  const Result<ResignParams> twice = ParseResignParams({{"hold", "1s"}, {"hold", "2s"}});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(), "hold is given 2 times: expected it at most once");
}

}  // namespace
}  // namespace zkelect
