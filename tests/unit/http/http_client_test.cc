#include "zkelect/http/http_client.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "support/free_port.h"
#include "support/scripted_server.h"

namespace zkelect {
namespace {

using test::LocalPort;
using test::ScriptedServer;

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// Generous bound for what should happen "soon" on a loaded machine.
constexpr milliseconds kSoon{15'000};

ClientRequest Get(uint16_t port, const std::string& host = "127.0.0.1") {
  ClientRequest request;
  request.host = host;
  request.port = port;
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  request.authority = shown + ":" + std::to_string(port);
  request.target = "/health?verbose=1";
  return request;
}

HttpLimits Within(milliseconds timeout, const HttpCanceller* cancel = nullptr) {
  HttpLimits limits;
  limits.deadline = steady_clock::now() + timeout;
  limits.cancel = cancel;
  return limits;
}

// The response; fails the test when there is none.
ClientResponse ResponseOf(const HttpResult& result) {
  if (const HttpFailure* failure = std::get_if<HttpFailure>(&result)) {
    ADD_FAILURE() << "no response: " << failure->detail;
    return {};
  }
  return std::get<ClientResponse>(result);
}

// The failure; fails the test when a response came.
HttpFailure FailureOf(const HttpResult& result) {
  if (const ClientResponse* response = std::get_if<ClientResponse>(&result)) {
    ADD_FAILURE() << "unexpected response " << response->status;
    return {};
  }
  return std::get<HttpFailure>(result);
}

TEST(HttpClientTest, SendsAGetWithHostAndConnectionClose) {
  ScriptedServer server({"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
                        ScriptedServer::Then::kClose);
  ASSERT_TRUE(server.ok());
  ClientRequest request = Get(server.port());
  request.headers = {{"User-Agent", "test"}};
  const ClientResponse response = ResponseOf(FetchHttp(request, Within(kSoon)));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "ok");
  EXPECT_EQ(server.WaitForRequest(),
            "GET /health?verbose=1 HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(server.port()) +
                "\r\nUser-Agent: test\r\nConnection: close\r\n\r\n");
}

TEST(HttpClientTest, SendsAPostWithItsContentLength) {
  ScriptedServer server({"HTTP/1.1 409 Conflict\r\nContent-Length: 0\r\n\r\n"},
                        ScriptedServer::Then::kClose);
  ASSERT_TRUE(server.ok());
  ClientRequest request = Get(server.port());
  request.method = "POST";
  request.target = "/resign";
  EXPECT_EQ(ResponseOf(FetchHttp(request, Within(kSoon))).status, 409);
  EXPECT_EQ(server.WaitForRequest(),
            "POST /resign HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(server.port()) +
                "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
}

TEST(HttpClientTest, ReadsAChunkedBody) {
  ScriptedServer server({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "4\r\nWiki\r\n6;x=y\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\n\r\n"},
                        ScriptedServer::Then::kHoldOpen);  // the chunks say where it ends
  ASSERT_TRUE(server.ok());
  const ClientResponse response = ResponseOf(FetchHttp(Get(server.port()), Within(kSoon)));
  EXPECT_EQ(response.body, "Wikipedia in \r\n\r\nchunks.");
}

TEST(HttpClientTest, ReadsABodyUntilTheServerCloses) {
  ScriptedServer server({"HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\n", "all of", " this"},
                        ScriptedServer::Then::kClose);
  ASSERT_TRUE(server.ok());
  const ClientResponse response = ResponseOf(FetchHttp(Get(server.port()), Within(kSoon)));
  EXPECT_EQ(response.body, "all of this");
  EXPECT_EQ(response.Header("x-a"), "1");
}

TEST(HttpClientTest, ReadsAResponseSplitInManySmallPackets) {
  const std::string whole =
      "HTTP/1.1 503 Service Unavailable\r\nX-Zkelect-Index: 7\r\nContent-Length: 11\r\n\r\n"
      "not leader\n";
  std::vector<std::string> pieces;
  for (size_t i = 0; i < whole.size(); i += 3) pieces.push_back(whole.substr(i, 3));
  ScriptedServer server(pieces, ScriptedServer::Then::kHoldOpen);
  ASSERT_TRUE(server.ok());
  const ClientResponse response = ResponseOf(FetchHttp(Get(server.port()), Within(kSoon)));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.reason, "Service Unavailable");
  EXPECT_EQ(response.Header("X-Zkelect-Index"), "7");
  EXPECT_EQ(response.body, "not leader\n");
}

TEST(HttpClientTest, AServerThatNeverAnswersTimesOutAtTheDeadline) {
  ScriptedServer server({}, ScriptedServer::Then::kHoldOpen);
  ASSERT_TRUE(server.ok());
  const steady_clock::time_point start = steady_clock::now();
  const HttpFailure failure = FailureOf(FetchHttp(Get(server.port()), Within(milliseconds(200))));
  const auto took = steady_clock::now() - start;
  EXPECT_EQ(failure.kind, HttpFailure::Kind::kTimedOut);
  EXPECT_EQ(failure.step, HttpFailure::Step::kReceive);
  EXPECT_EQ(failure.detail, "timed out waiting for the answer");
  EXPECT_GE(took, milliseconds(200));
  EXPECT_LT(took, kSoon);
}

// A listener with a full accept queue drops further SYNs, so the connect
// hangs until the (earlier) connect deadline.
TEST(HttpClientTest, ConnectTimesOutAtTheConnectDeadline) {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 0), 0);
  const uint16_t port = LocalPort(listener);
  address.sin_port = htons(port);
  // Fill the queue (a backlog of 0 holds one connection): these complete
  // without an accept().
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    fillers.push_back(fd);
  }
  std::this_thread::sleep_for(milliseconds(50));  // let the handshakes finish

  HttpLimits limits = Within(kSoon);
  limits.connect_deadline = steady_clock::now() + milliseconds(200);
  const steady_clock::time_point start = steady_clock::now();
  const HttpFailure failure = FailureOf(FetchHttp(Get(port), limits));
  const auto took = steady_clock::now() - start;
  EXPECT_EQ(failure.kind, HttpFailure::Kind::kTimedOut) << failure.detail;
  EXPECT_EQ(failure.step, HttpFailure::Step::kConnect);
  EXPECT_EQ(failure.detail, "timed out connecting");
  EXPECT_GE(took, milliseconds(200));
  EXPECT_LT(took, kSoon);
  for (const int fd : fillers) close(fd);
  close(listener);
}

TEST(HttpClientTest, ConnectionRefusedSaysSoWithTheErrno) {
  const uint16_t port = test::PickFreePort();
  const HttpFailure failure = FailureOf(FetchHttp(Get(port), Within(kSoon)));
  EXPECT_EQ(failure.kind, HttpFailure::Kind::kCannotConnect);
  EXPECT_EQ(failure.error_number, ECONNREFUSED);
  EXPECT_EQ(failure.detail, "connection refused");
}

// Where "localhost" resolves to ::1 as well (and first), nothing listens
// there, and the next address is tried.
TEST(HttpClientTest, ResolvesAName) {
  ScriptedServer server({"HTTP/1.1 204 No Content\r\n\r\n"}, ScriptedServer::Then::kClose);
  ASSERT_TRUE(server.ok());
  const ClientResponse response =
      ResponseOf(FetchHttp(Get(server.port(), "localhost"), Within(kSoon)));
  EXPECT_EQ(response.status, 204);
}

TEST(HttpClientTest, MalformedStatusLineIsABadResponse) {
  ScriptedServer server({"HTTP/1.1 OK 200\r\n\r\n"}, ScriptedServer::Then::kHoldOpen);
  ASSERT_TRUE(server.ok());
  const HttpFailure failure = FailureOf(FetchHttp(Get(server.port()), Within(kSoon)));
  EXPECT_EQ(failure.kind, HttpFailure::Kind::kBadResponse);
  EXPECT_EQ(failure.step, HttpFailure::Step::kReceive);
  EXPECT_EQ(failure.detail, "malformed status line \"HTTP/1.1 OK 200\"");
}

TEST(HttpClientTest, TruncatedBodyIsABadResponse) {
  ScriptedServer server({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "abc"},
                        ScriptedServer::Then::kClose);
  ASSERT_TRUE(server.ok());
  const HttpFailure failure = FailureOf(FetchHttp(Get(server.port()), Within(kSoon)));
  EXPECT_EQ(failure.kind, HttpFailure::Kind::kBadResponse);
  EXPECT_EQ(failure.detail, "connection closed after 3 of 10 body bytes");
}

TEST(HttpClientTest, ClosedWithoutAnAnswerIsABadResponse) {
  ScriptedServer server({}, ScriptedServer::Then::kClose);
  ASSERT_TRUE(server.ok());
  const HttpFailure failure = FailureOf(FetchHttp(Get(server.port()), Within(kSoon)));
  EXPECT_EQ(failure.kind, HttpFailure::Kind::kBadResponse);
  EXPECT_EQ(failure.detail, "connection closed before an answer");
}

// The server keeps the connection open with more body to come: the client
// stops reading at the cap instead of waiting for it.
TEST(HttpClientTest, BodyOverTheCapEndsTheExchangeAtTheCap) {
  ScriptedServer server({"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n",
                         std::string(100, 'a'), std::string(100, 'b')},
                        ScriptedServer::Then::kHoldOpen);
  ASSERT_TRUE(server.ok());
  HttpLimits limits = Within(kSoon);
  limits.max_body = 150;
  const ClientResponse response = ResponseOf(FetchHttp(Get(server.port()), limits));
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(response.body_truncated);
  EXPECT_EQ(response.body, std::string(100, 'a') + std::string(50, 'b'));
}

TEST(HttpClientTest, CancelEndsARequestMidRead) {
  ScriptedServer server({"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "only part"},
                        ScriptedServer::Then::kHoldOpen);
  ASSERT_TRUE(server.ok());
  HttpCanceller cancel;
  std::thread canceller([&] {
    server.WaitForRequest();  // returns once the part was sent
    std::this_thread::sleep_for(milliseconds(20));
    cancel.Cancel();
  });
  const steady_clock::time_point start = steady_clock::now();
  const HttpFailure failure =
      FailureOf(FetchHttp(Get(server.port()), Within(seconds(30), &cancel)));
  canceller.join();
  EXPECT_LT(steady_clock::now() - start, kSoon);  // far from the 30 s deadline
  EXPECT_EQ(failure.kind, HttpFailure::Kind::kCancelled);
  EXPECT_EQ(failure.step, HttpFailure::Step::kReceive);
  EXPECT_TRUE(cancel.cancelled());
}

// Out of descriptors, a canceller has no eventfd to wake the request's
// poll(); the request then looks at the flag every 50ms, and a cancel still
// ends it long before its deadline.
TEST(HttpClientTest, ACancellerWithoutAnEventfdStillEndsARequest) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit none = saved;
  none.rlim_cur = 0;  // no new descriptor at all, for the eventfd() alone
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &none), 0);
  auto cancel = std::make_unique<HttpCanceller>();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_EQ(cancel->fd(), -1) << "the eventfd was had after all";

  ScriptedServer server({"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "only part"},
                        ScriptedServer::Then::kHoldOpen);
  ASSERT_TRUE(server.ok());
  std::thread canceller([&] {
    server.WaitForRequest();
    cancel->Cancel();
  });
  const steady_clock::time_point start = steady_clock::now();
  const HttpFailure failure =
      FailureOf(FetchHttp(Get(server.port()), Within(seconds(30), cancel.get())));
  canceller.join();
  EXPECT_LT(steady_clock::now() - start, kSoon);  // far from the 30 s deadline
  EXPECT_EQ(failure.kind, HttpFailure::Kind::kCancelled);
  EXPECT_EQ(failure.step, HttpFailure::Step::kReceive);
}

TEST(HttpClientTest, ACancelledCancellerEndsLaterRequestsAtOnce) {
  HttpCanceller cancel;
  cancel.Cancel();
  cancel.Cancel();  // idempotent
  const HttpFailure failure =
      FailureOf(FetchHttp(Get(test::PickFreePort()), Within(kSoon, &cancel)));
  EXPECT_EQ(failure.kind, HttpFailure::Kind::kCancelled);
  EXPECT_EQ(failure.step, HttpFailure::Step::kConnect);
}

TEST(HttpClientTest, Ipv6Loopback) {
  ScriptedServer server({"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6"},
                        ScriptedServer::Then::kClose, "::1");
  if (!server.ok()) GTEST_SKIP() << "no IPv6 loopback here";
  const ClientResponse response = ResponseOf(FetchHttp(Get(server.port(), "::1"), Within(kSoon)));
  EXPECT_EQ(response.body, "v6");
  EXPECT_NE(
      server.WaitForRequest().find("\r\nHost: [::1]:" + std::to_string(server.port()) + "\r\n"),
      std::string::npos);
}

TEST(HttpClientTest, RefusesToWriteALineBreakIntoAHeader) {
  ClientRequest request = Get(test::PickFreePort());
  request.headers = {{"Authorization", "Bearer x\r\nX-Injected: 1"}};
  const HttpFailure failure = FailureOf(FetchHttp(request, Within(kSoon)));
  EXPECT_EQ(failure.kind, HttpFailure::Kind::kBadRequest);
  EXPECT_EQ(failure.detail, "bad header Authorization (a line break or NUL in it)");

  request = Get(test::PickFreePort());
  request.target = "/a b";
  EXPECT_EQ(FailureOf(FetchHttp(request, Within(kSoon))).kind, HttpFailure::Kind::kBadRequest);
}

// The descriptor in this process whose peer is 127.0.0.1:`port`, or -1.
int FindSocketTo(uint16_t port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (const dirent* entry = readdir(dir)) {
    const int fd = atoi(entry->d_name);
    sockaddr_in peer{};
    socklen_t length = sizeof peer;
    if (entry->d_name[0] != '.' &&
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) == 0 &&
        peer.sin_family == AF_INET && ntohs(peer.sin_port) == port) {
      found = fd;
    }
  }
  closedir(dir);
  return found;
}

// A hook spawned while a health check runs must not inherit its socket.
TEST(HttpClientTest, TheSocketIsCloseOnExec) {
  ScriptedServer server({}, ScriptedServer::Then::kHoldOpen);
  ASSERT_TRUE(server.ok());
  HttpCanceller cancel;
  int flags = -1;
  std::thread inspector([&] {
    server.WaitForRequest();
    const int fd = FindSocketTo(server.port());
    flags = fd >= 0 ? fcntl(fd, F_GETFD) : -1;
    cancel.Cancel();
  });
  const HttpFailure failure = FailureOf(FetchHttp(Get(server.port()), Within(kSoon, &cancel)));
  inspector.join();
  EXPECT_EQ(failure.kind, HttpFailure::Kind::kCancelled);
  ASSERT_GE(flags, 0) << "the client's socket was not found";
  EXPECT_TRUE(flags & FD_CLOEXEC);
}

}  // namespace
}  // namespace zkelect
