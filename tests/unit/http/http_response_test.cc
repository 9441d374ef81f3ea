#include "zkelect/http/http_response.h"

#include <gtest/gtest.h>

#include <string>

namespace zkelect {
namespace {

HttpResponse JsonAnswer() {
  HttpResponse response;
  response.status = 404;
  response.SetContent(R"({"a":1})", "application/json");
  response.SetHeader("X-Zkelect-Index", "7");
  return response;
}

TEST(HttpResponseTest, HeadAndBodyInOneBuffer) {
  EXPECT_EQ(SerializeResponse(JsonAnswer(), /*head_only=*/false, ConnectionHeader::kNone),
            "HTTP/1.1 404 Not Found\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 7\r\n"
            "X-Zkelect-Index: 7\r\n"
            "\r\n"
            R"({"a":1})");
}

TEST(HttpResponseTest, HeadOnlyKeepsTheLengthAndDropsTheBody) {
  EXPECT_EQ(SerializeResponse(JsonAnswer(), /*head_only=*/true, ConnectionHeader::kClose),
            "HTTP/1.1 404 Not Found\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 7\r\n"
            "Connection: close\r\n"
            "X-Zkelect-Index: 7\r\n"
            "\r\n");
}

TEST(HttpResponseTest, KeepAliveIsAnnouncedWhenAsked) {
  HttpResponse response;
  EXPECT_EQ(SerializeResponse(response, false, ConnectionHeader::kKeepAlive),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
}

TEST(HttpResponseTest, SetHeaderReplacesCaseInsensitively) {
  HttpResponse response;
  response.SetHeader("Allow", "GET");
  response.SetHeader("allow", "POST");
  EXPECT_TRUE(response.HasHeader("ALLOW"));
  EXPECT_FALSE(response.HasHeader("Other"));
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].second, "POST");
}

TEST(HttpResponseTest, ReasonPhrases) {
  EXPECT_EQ(ReasonPhrase(200), "OK");
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ReasonPhrase(599), "Unknown");
}

}  // namespace
}  // namespace zkelect
