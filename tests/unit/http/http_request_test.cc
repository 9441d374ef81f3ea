#include "zkelect/http/http_request.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace zkelect {
namespace {

// Parses `head` with default limits; the error, if any.
std::optional<RequestError> Parse(const std::string& head, HttpRequest& request,
                                  const RequestLimits& limits = RequestLimits()) {
  return ParseRequestHead(head, limits, request);
}

int StatusOf(const std::string& head, const RequestLimits& limits = RequestLimits()) {
  HttpRequest request;
  const std::optional<RequestError> error = Parse(head, request, limits);
  return error ? error->status : 200;
}

TEST(HttpRequestTest, ParsesARequest) {
  HttpRequest request;
  ASSERT_FALSE(
      Parse("POST /resign?hold=5s HTTP/1.1\r\nHost: localhost:4040\r\nX-A:  spaced \t\r\n"
            "Content-Length: 3\r\n\r\n",
            request));
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/resign?hold=5s");
  EXPECT_EQ(request.path, "/resign");
  EXPECT_EQ(request.params, (QueryParams{{"hold", "5s"}}));
  EXPECT_EQ(request.minor_version, 1);
  EXPECT_EQ(request.Header("host"), "localhost:4040");
  EXPECT_EQ(request.Header("X-A"), "spaced");
  EXPECT_EQ(request.Header("missing"), "");
  EXPECT_EQ(request.content_length, 3u);
  EXPECT_FALSE(request.expects_continue);
}

TEST(HttpRequestTest, BareLineFeedsAreAccepted) {
  HttpRequest request;
  ASSERT_FALSE(Parse("GET /leader HTTP/1.0\nHost: a\n\n", request));
  EXPECT_EQ(request.path, "/leader");
  EXPECT_EQ(request.minor_version, 0);
  EXPECT_EQ(request.Header("Host"), "a");
}

TEST(HttpRequestTest, LaterMinorVersionsAreReadAs11) {
  HttpRequest request;
  ASSERT_FALSE(Parse("GET / HTTP/1.9\r\n\r\n", request));
  EXPECT_EQ(request.minor_version, 1);
  EXPECT_TRUE(request.KeepAlive());
}

TEST(HttpRequestTest, HeaderLookupIsCaseInsensitiveAndCounts) {
  HttpRequest request;
  ASSERT_FALSE(Parse("GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n", request));
  EXPECT_EQ(request.HeaderCount("HOST"), 2u);
  EXPECT_EQ(request.HeaderCount("Other"), 0u);
  EXPECT_EQ(request.Header("host"), "a");
}

TEST(HttpRequestTest, PathAndQueryAreDecoded) {
  HttpRequest request;
  ASSERT_FALSE(Parse("GET /is%2Dleader?index=7&wait=1m%2030s&a+b=c+d&flag&&x=%zz HTTP/1.1\r\n\r\n",
                     request));
  EXPECT_EQ(request.path, "/is-leader");
  EXPECT_EQ(request.params,
            (QueryParams{
                {"index", "7"}, {"wait", "1m 30s"}, {"a b", "c d"}, {"flag", ""}, {"x", "%zz"}}));
  EXPECT_EQ(PercentDecode("/a+b%41%", false), "/a+bA%");
  EXPECT_EQ(PercentDecode("a+b%2b", true), "a b+");
}

TEST(HttpRequestTest, QueryKeepsRepeatedNames) {
  const QueryParams params = ParseQuery("index=1&index=2");
  EXPECT_EQ(params.count("index"), 2u);
}

TEST(HttpRequestTest, KeepAliveRules) {
  const struct {
    std::string head;
    bool keep_alive;
  } kCases[] = {
      {"GET / HTTP/1.1\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: te\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: upgrade , Keep-Alive\r\n\r\n", true},
  };
  for (const auto& c : kCases) {
    HttpRequest request;
    ASSERT_FALSE(Parse(c.head, request)) << c.head;
    EXPECT_EQ(request.KeepAlive(), c.keep_alive) << c.head;
  }
}

TEST(HttpRequestTest, ExpectContinue) {
  HttpRequest request;
  ASSERT_FALSE(
      Parse("POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n", request));
  EXPECT_TRUE(request.expects_continue);
  EXPECT_EQ(StatusOf("POST / HTTP/1.1\r\nExpect: something-else\r\n\r\n"), 417);
}

TEST(HttpRequestTest, EachRejectionHasItsStatus) {
  const struct {
    std::string head;
    int status;
    std::string code;
  } kCases[] = {
      {"GARBAGE\r\n\r\n", 400, "bad_request"},
      {"GET  / HTTP/1.1\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1 \r\n\r\n", 400, "bad_request"},
      {"G(T / HTTP/1.1\r\n\r\n", 400, "bad_request"},
      {"GET http://a/ HTTP/1.1\r\n\r\n", 400, "bad_request"},
      {"OPTIONS * HTTP/1.1\r\n\r\n", 400, "bad_request"},
      {"GET /\x7f HTTP/1.1\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.2x\r\n\r\n", 400, "bad_request"},
      {"GET / http/1.1\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/2.0\r\n\r\n", 505, "http_version_not_supported"},
      {"GET / HTTP/0.9\r\n\r\n", 505, "http_version_not_supported"},
      {"GET / HTTP/1.a\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\n: empty\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\nX-A: a\r\n folded\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\nX-A: a\r\n\tfolded\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\nX-A: a\x01z\r\n\r\n", 400, "bad_request"},
      {std::string("GET / HTTP/1.1\r\nX-A: a") + '\0' + "z\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\nX-A: a\rz\r\n\r\n", 400, "bad_request"},
      {"GET /\r HTTP/1.1\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\nContent-Length: \r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400, "bad_request"},
      {"GET / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", 413, "payload_too_large"},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411, "length_required"},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: identity\r\nContent-Length: 1\r\n\r\n", 411,
       "length_required"},
      {"GET / HTTP/1.1\r\nExpect: 100-continue\r\nExpect: 100-continue\r\n\r\n", 417,
       "expectation_failed"},
  };
  for (const auto& c : kCases) {
    HttpRequest request;
    const std::optional<RequestError> error = Parse(c.head, request);
    ASSERT_TRUE(error) << c.head;
    EXPECT_EQ(error->status, c.status) << c.head;
    EXPECT_EQ(error->code, c.code) << c.head;
    EXPECT_FALSE(error->message.empty());
  }
}

TEST(HttpRequestTest, MessagesQuoteTheOffendingBytesSafely) {
  HttpRequest request;
  const std::optional<RequestError> error =
      Parse("GET / HTTP/1.1\r\nX-A: a\x01z\r\nBad\"Name: 1\r\n\r\n", request);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->message,
            "the value of header \"X-A\" holds a control character: expected visible "
            "characters, spaces or tabs");
  EXPECT_EQ(request.method, "GET") << "what was parsed stays, for the log line";
  const std::optional<RequestError> quoted =
      Parse("GET / HTTP/1.1\r\nBad\"Name: 1\r\n\r\n", request);
  ASSERT_TRUE(quoted);
  EXPECT_NE(quoted->message.find("Bad\\x22Name"), std::string::npos) << quoted->message;
}

TEST(HttpRequestTest, PrintableEscapesAndCuts) {
  EXPECT_EQ(Printable("a\x01\"\\\x7f\xc3\xa9", 100), "a\\x01\\x22\\x5c\\x7f\xc3\xa9");
  EXPECT_EQ(Printable("abcdef", 3), "abc...");
}

TEST(HttpRequestTest, LineLimits) {
  RequestLimits limits;
  limits.max_line_bytes = 32;
  EXPECT_EQ(StatusOf("GET /" + std::string(18, 'a') + " HTTP/1.1\r\n\r\n", limits), 200);
  EXPECT_EQ(StatusOf("GET /" + std::string(40, 'a') + " HTTP/1.1\r\n\r\n", limits), 414);
  EXPECT_EQ(StatusOf("GET / HTTP/1.1\r\nX: " + std::string(29, 'a') + "\r\n\r\n", limits), 200);
  EXPECT_EQ(StatusOf("GET / HTTP/1.1\r\nX: " + std::string(30, 'a') + "\r\n\r\n", limits), 431);
  limits.max_body_bytes = 10;
  EXPECT_EQ(StatusOf("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n", limits), 200);
  EXPECT_EQ(StatusOf("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits), 413);
}

TEST(HttpRequestTest, OversizedHeadIs414WithinTheRequestLineAnd431After) {
  EXPECT_EQ(OversizedHead("GET /aaaaaaaa").status, 414);
  EXPECT_EQ(OversizedHead("GET /a HTTP/1.1\r\nX: aaaa").status, 431);
  EXPECT_EQ(OversizedHead("GET /a HTTP/1.1\r\nX: aaaa").code, "request_header_fields_too_large");
}

TEST(HttpRequestTest, FindHeadEnd) {
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\r\n\r\nbody"), 18u);
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\n\nbody"), 16u);
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\r\nA: b\n\r\n"), 23u);
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\r\nA: b\r\n"), std::string_view::npos);
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\r\nA: b\r\n\r"), std::string_view::npos);
  // Resuming where an earlier search stopped finds the same end.
  const std::string head = "GET / HTTP/1.1\r\nA: b\r\n\r\n";
  EXPECT_EQ(FindHeadEnd(head, head.size() - 4), head.size());
}

}  // namespace
}  // namespace zkelect
