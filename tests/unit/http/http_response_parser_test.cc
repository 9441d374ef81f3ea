#include "zkelect/http/http_response_parser.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace zkelect {
namespace {

using State = HttpResponseParser::State;

constexpr size_t kCap = 64;

// Feeds `bytes` whole, or one byte at a time, then (with `close`) ends the
// stream.
HttpResponseParser& Parse(HttpResponseParser& parser, const std::string& bytes, bool bytewise,
                          bool close) {
  if (bytewise) {
    for (const char c : bytes) parser.Feed(std::string_view(&c, 1));
  } else {
    parser.Feed(bytes);
  }
  if (close) parser.Finish();
  return parser;
}

struct GoodCase {
  const char* name;
  std::string bytes;
  bool close;  // the server closes after `bytes`
  int status;
  std::string body;
  bool truncated = false;
};

void PrintTo(const GoodCase& c, std::ostream* os) { *os << c.name; }

class HttpResponseParserGoodTest : public testing::TestWithParam<GoodCase> {};

TEST_P(HttpResponseParserGoodTest, CompletesWithStatusAndBodyHoweverSplit) {
  const GoodCase& c = GetParam();
  for (const bool bytewise : {false, true}) {
    SCOPED_TRACE(bytewise ? "byte by byte" : "at once");
    HttpResponseParser parser(kCap);
    Parse(parser, c.bytes, bytewise, c.close);
    ASSERT_EQ(parser.state(), State::kComplete) << parser.error();
    EXPECT_EQ(parser.response().status, c.status);
    EXPECT_EQ(parser.response().body, c.body);
    EXPECT_EQ(parser.response().body_truncated, c.truncated);
  }
}

const std::string kLong(100, 'x');

INSTANTIATE_TEST_SUITE_P(
    Responses, HttpResponseParserGoodTest,
    testing::Values(
        GoodCase{"content_length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, 200,
                 "hello"},
        GoodCase{"bytes_after_the_body_are_not_part_of_it",
                 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 500 X\r\n\r\n", false, 200,
                 "hi"},
        GoodCase{"content_length_zero",
                 "HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", false, 503, ""},
        GoodCase{"repeated_content_length_that_agrees",
                 "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\ncontent-length: 3\r\n\r\nabc", false,
                 200, "abc"},
        GoodCase{"chunked_with_extensions_and_trailers",
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5;name=value\r\nhello\r\n1\r\n \r\nA \r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n",
                 false, 200, "hello 0123456789"},
        GoodCase{
            "transfer_encoding_overrides_content_length",
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
            "2\r\nok\r\n0\r\n\r\n",
            false, 200, "ok"},
        GoodCase{"body_until_close", "HTTP/1.1 200 OK\r\n\r\nuntil the end", true, 200,
                 "until the end"},
        GoodCase{"other_transfer_coding_runs_until_close",
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", true, 200, "zz"},
        GoodCase{"no_body_for_204", "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n", false,
                 204, ""},
        GoodCase{"no_body_for_304", "HTTP/1.1 304 Not Modified\r\n\r\n", false, 304, ""},
        GoodCase{"interim_answers_are_skipped",
                 "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                 "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\n!",
                 false, 201, "!"},
        GoodCase{"bare_lf_line_ends_and_no_reason", "HTTP/1.1 404\nContent-Length: 2\n\nno", false,
                 404, "no"},
        GoodCase{"content_length_over_the_cap_stops_at_it",
                 "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + kLong.substr(0, 70), false, 200,
                 kLong.substr(0, kCap), true},
        GoodCase{"chunked_over_the_cap_stops_at_it",
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" +
                     kLong.substr(0, 64) + "\r\n1\r\ny",
                 false, 200, kLong.substr(0, kCap), true},
        GoodCase{"chunked_exactly_at_the_cap_is_whole",
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" +
                     kLong.substr(0, 64) + "\r\n0\r\n\r\n",
                 false, 200, kLong.substr(0, kCap), false},
        GoodCase{"until_close_over_the_cap_stops_at_it", "HTTP/1.1 200 OK\r\n\r\n" + kLong, false,
                 200, kLong.substr(0, kCap), true}),
    [](const testing::TestParamInfo<GoodCase>& param_info) {
      return std::string(param_info.param.name);
    });

struct BadCase {
  const char* name;
  std::string bytes;
  std::string error;  // what error() must contain
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class HttpResponseParserBadTest : public testing::TestWithParam<BadCase> {};

// Each input is malformed by the time the stream ends, whether it is fed at
// once or byte by byte.
TEST_P(HttpResponseParserBadTest, IsMalformedSayingWhy) {
  const BadCase& c = GetParam();
  for (const bool bytewise : {false, true}) {
    SCOPED_TRACE(bytewise ? "byte by byte" : "at once");
    HttpResponseParser parser(kCap);
    Parse(parser, c.bytes, bytewise, /*close=*/true);
    ASSERT_EQ(parser.state(), State::kMalformed);
    EXPECT_NE(parser.error().find(c.error), std::string::npos) << parser.error();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Responses, HttpResponseParserBadTest,
    testing::Values(
        BadCase{"nothing", "", "connection closed before an answer"},
        BadCase{"not_http", "SSH-2.0-OpenSSH_9.2\r\n",
                "malformed status line \"SSH-2.0-OpenSSH_9.2\""},
        BadCase{"http_2", "HTTP/2 200\r\n\r\n", "malformed status line"},
        BadCase{"status_not_digits", "HTTP/1.1 2x0 OK\r\n\r\n",
                "malformed status line \"HTTP/1.1 2x0 OK\""},
        BadCase{"status_too_low", "HTTP/1.1 099 Low\r\n\r\n", "malformed status line"},
        BadCase{"status_too_high", "HTTP/1.1 600 High\r\n\r\n", "malformed status line"},
        BadCase{"status_four_digits", "HTTP/1.1 2000 OK\r\n\r\n", "malformed status line"},
        BadCase{"control_bytes_are_escaped", "HTTP/1.1 \x1b[2J\r\n\r\n",
                "malformed status line \"HTTP/1.1 \\x1b[2J\""},
        BadCase{"switching_protocols", "HTTP/1.1 101 Switching Protocols\r\n\r\n",
                "unexpected 101"},
        BadCase{"header_without_colon", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
                "malformed header line \"NoColon\""},
        BadCase{"blank_before_colon", "HTTP/1.1 200 OK\r\nName : v\r\n\r\n",
                "malformed header line"},
        BadCase{"folded_header", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", "malformed header line"},
        BadCase{"bare_cr_in_value", "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", "malformed header line"},
        BadCase{"content_length_not_a_number", "HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
                "malformed Content-Length \"1e3\""},
        BadCase{"content_length_negative", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                "malformed Content-Length"},
        BadCase{"content_length_overflows",
                "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
                "malformed Content-Length"},
        BadCase{"content_lengths_disagree",
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                "malformed Content-Length \"2\""},
        BadCase{"chunk_size_not_hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "malformed chunk-size line \"zz\""},
        BadCase{"chunk_longer_than_its_size",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n",
                "chunk data longer than its size"},
        BadCase{"chunk_size_line_too_long",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + std::string(2000, 'e'),
                "chunk-size line over 1024 bytes"},
        BadCase{"headers_too_long", "HTTP/1.1 200 OK\r\n" + std::string(70'000, 'h'),
                "headers over 65536 bytes"},
        BadCase{"many_headers_too_long",
                [] {
                  std::string bytes = "HTTP/1.1 200 OK\r\n";
                  for (int i = 0; i < 10'000; ++i) bytes += "A: 0123456789\r\n";
                  return bytes;
                }(),
                "headers over 65536 bytes"},
        BadCase{"closed_in_status_line", "HTTP/1.1 20", "connection closed in the status line"},
        BadCase{"closed_in_headers", "HTTP/1.1 200 OK\r\nContent-",
                "connection closed in the headers"},
        BadCase{"closed_in_body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
                "connection closed after 3 of 10 body bytes"},
        BadCase{"closed_in_chunked_body",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
                "connection closed in the chunked body, after 3 bytes"},
        BadCase{"closed_before_last_chunk",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n",
                "connection closed in the chunked body, after 2 bytes"}),
    [](const testing::TestParamInfo<BadCase>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(HttpResponseParserTest, KeepsHeadersInOrderAndLooksThemUpIgnoringCase) {
  HttpResponseParser parser(kCap);
  parser.Feed(
      "HTTP/1.1 200 Fine\r\nX-Zkelect-Index:  42 \r\nX-Two: a\r\nx-two: b\r\n"
      "Empty:\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(parser.state(), State::kComplete) << parser.error();
  const ClientResponse& response = parser.response();
  EXPECT_EQ(response.reason, "Fine");
  EXPECT_EQ(response.Header("x-zkelect-index"), "42");
  EXPECT_EQ(response.Header("X-TWO"), "a");
  EXPECT_EQ(response.Header("empty"), "");
  EXPECT_EQ(response.Header("Missing"), std::nullopt);
  ASSERT_EQ(response.headers.size(), 5u);
  EXPECT_EQ(response.headers[2].first, "x-two");
  EXPECT_EQ(response.headers[2].second, "b");
}

TEST(HttpResponseParserTest, StateStaysOnceDecided) {
  HttpResponseParser parser(kCap);
  EXPECT_EQ(parser.Feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"), State::kIncomplete);
  EXPECT_EQ(parser.Feed("a"), State::kComplete);
  EXPECT_EQ(parser.Feed("garbage\r\n"), State::kComplete);
  EXPECT_EQ(parser.Finish(), State::kComplete);
  EXPECT_EQ(parser.response().body, "a");

  HttpResponseParser bad(kCap);
  EXPECT_EQ(bad.Feed("nope\r\n"), State::kMalformed);
  EXPECT_EQ(bad.Feed("HTTP/1.1 200 OK\r\n\r\n"), State::kMalformed);
  EXPECT_EQ(bad.Finish(), State::kMalformed);
}

TEST(HttpResponseParserTest, ABodyUntilCloseNeedsTheClose) {
  HttpResponseParser parser(kCap);
  EXPECT_EQ(parser.Feed("HTTP/1.1 200 OK\r\n\r\npart"), State::kIncomplete);
  EXPECT_EQ(parser.Finish(), State::kComplete);
  EXPECT_EQ(parser.response().body, "part");
  EXPECT_FALSE(parser.response().body_truncated);
}

}  // namespace
}  // namespace zkelect
