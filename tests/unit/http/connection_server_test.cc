#include "zkelect/http/connection_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/http_probe.h"
#include "support/raw_connection.h"
#include "zkelect/http/http_request.h"
#include "zkelect/http/http_response.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using test::RawConnection;
using test::StatusOf;

constexpr char kPing[] = "GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

// A bound in a test only catches a hang (CI runs on a busy 2-core machine
// and under the sanitizers): how fast the server is belongs in bench/.
constexpr seconds kHang{30};

ConnectionServer::Limits ShortLimits() {
  ConnectionServer::Limits limits;
  limits.max_threads = 600;
  limits.idle_timeout = milliseconds(300);
  limits.request_timeout = milliseconds(500);
  limits.write_timeout = seconds(2);
  return limits;
}

class ConnectionServerTest : public ::testing::Test {
 protected:
  ~ConnectionServerTest() override { Stop(); }

  void Start(const ConnectionServer::Limits& limits = ShortLimits()) {
    server_ = std::make_unique<ConnectionServer>(
        limits,
        [this](const HttpRequest& req, HttpResponse& res, PendingAnswer& later) {
          if (req.path == "/watched") {  // as /later, counting its client's hang-up
            later.OnHangUp([this] { hang_ups_.fetch_add(1); });
          }
          if (req.path == "/later" || req.path == "/watched") {  // answered by the test
            std::lock_guard<std::mutex> lock(pending_mu_);
            pending_.push_back(std::move(later));
            return;
          }
          // Echoes what the parser read, for the tests to check.
          res.SetContent(req.method + " " + req.path + " " + req.body, "text/plain");
        },
        [](const HttpRequest&, const RequestError& error, HttpResponse& res) {
          res.status = error.status;
          res.SetContent(error.code, "text/plain");
        });
    port_ = static_cast<uint16_t>(server_->Bind("127.0.0.1", 0));
    ASSERT_GT(port_, 0);
    listener_ = std::thread([this] { server_->Serve(); });
  }

  void Stop() {
    if (!listener_.joinable()) return;
    server_->Stop();
    listener_.join();
  }

  // One GET /ping on a fresh connection: the raw answer, within `timeout`.
  std::string Ping(milliseconds timeout = kHang) {
    return SendOnce("GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout)
        .received;
  }

  struct Exchange {
    std::string received;
    bool closed = false;  // by the server, within the timeout
  };
  // Sends `request` on a new connection, then reads until the server closes
  // it or `timeout` passes.
  Exchange SendOnce(const std::string& request, milliseconds timeout = kHang) {
    RawConnection connection(port_);
    Exchange exchange;
    if (connection.Send(request)) {
      exchange.received = connection.ReadUntilClosed(timeout, &exchange.closed);
    }
    return exchange;
  }

  // Waits (up to kHang) until `count` requests for /later are pending; takes
  // them.
  std::vector<PendingAnswer> TakePending(size_t count) {
    const auto deadline = steady_clock::now() + kHang;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(pending_mu_);
        if (pending_.size() >= count || steady_clock::now() > deadline) {
          return std::exchange(pending_, {});
        }
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
  }

  // Parks one GET /later on a new connection: the connection and its
  // pending answer (none if it did not come within 5s).
  std::pair<RawConnection, std::vector<PendingAnswer>> ParkOne() {
    RawConnection connection(port_);
    EXPECT_TRUE(connection.Send("GET /later HTTP/1.1\r\nHost: x\r\n\r\n"));
    return {std::move(connection), TakePending(1)};
  }

  static HttpResponse Later(std::string body) {
    HttpResponse response;
    response.SetContent(std::move(body), "text/plain");
    return response;
  }

  std::unique_ptr<ConnectionServer> server_;
  std::thread listener_;
  uint16_t port_ = 0;
  std::mutex pending_mu_;
  std::vector<PendingAnswer> pending_;
  std::atomic<int> hang_ups_{0};  // of /watched requests
};

TEST_F(ConnectionServerTest, ServesRequestsOnAKeepAliveConnection) {
  Start();
  RawConnection connection(port_);
  ASSERT_TRUE(connection.Send(std::string(kPing) + kPing));  // pipelined
  bool closed = false;
  const std::string received = connection.ReadUntilClosed(kHang, &closed);
  EXPECT_TRUE(closed) << "closed after the idle timeout";
  size_t answers = 0;
  for (size_t at = received.find("HTTP/1.1 200"); at != std::string::npos;
       at = received.find("HTTP/1.1 200", at + 1)) {
    ++answers;
  }
  EXPECT_EQ(answers, 2u) << received;
}

TEST_F(ConnectionServerTest, AnIdleConnectionIsClosedAfterTheIdleTimeout) {
  Start();
  RawConnection connection(port_);
  const auto start = steady_clock::now();
  bool closed = false;
  EXPECT_EQ(connection.ReadUntilClosed(kHang, &closed), "");
  EXPECT_TRUE(closed);
  EXPECT_LT(steady_clock::now() - start, kHang);
}

// Regression: cpp-httplib's read timeout restarted with every byte, so a
// client sending one byte now and then held its connection (and thread)
// forever.
TEST_F(ConnectionServerTest, SlowLorisIsCutOffAtTheRequestDeadline) {
  Start();
  RawConnection connection(port_);
  const auto start = steady_clock::now();
  ASSERT_TRUE(connection.Send("GET /ping HTTP/1.1\r\n"));
  bool cut_off = false;
  // A header byte per 100ms, far beyond the request deadline (500ms).
  while (!cut_off && steady_clock::now() - start < kHang) {
    std::this_thread::sleep_for(milliseconds(100));
    cut_off = !connection.Send("X");
  }
  bool closed = cut_off;
  if (!cut_off) connection.ReadUntilClosed(kHang, &closed);
  EXPECT_TRUE(closed) << "still open after " << kHang.count() << "s of a byte per 100ms";
}

// Regression: cpp-httplib's parser kept every header line of a request,
// however many come, so one client could fill the memory within the
// request deadline.
TEST_F(ConnectionServerTest, EndlessHeadersAreCutOffAtTheRequestSizeLimit) {
  ConnectionServer::Limits limits = ShortLimits();
  limits.request_timeout = seconds(30);
  limits.max_request_bytes = 64 * 1024;
  Start(limits);
  RawConnection connection(port_);
  ASSERT_TRUE(connection.Send("GET /ping HTTP/1.1\r\n"));
  const std::string line = "X-Filler: " + std::string(1000, 'x') + "\r\n";
  size_t sent = 0;
  const auto start = steady_clock::now();
  while (sent < 64u * 1024 * 1024 && steady_clock::now() - start < seconds(10)) {
    if (!connection.Send(line)) break;
    sent += line.size();
  }
  // The server stopped reading long before 64 MiB (the send fails or stalls
  // once the socket buffers are full) and closed the connection.
  EXPECT_LT(sent, 16u * 1024 * 1024);
  bool closed = !connection.ok();  // a failed send: reset by the server
  if (!closed) connection.ReadUntilClosed(kHang, &closed);
  EXPECT_TRUE(closed);
}

// Regression: a fixed pool of threads, one per connection, let a few hundred
// idle connections starve every other client.
TEST_F(ConnectionServerTest, IdleConnectionsDoNotStarveNewOnes) {
  // Idle far longer than the test waits: an answer or a stop that waited
  // for them would show.
  ConnectionServer::Limits limits = ShortLimits();
  limits.idle_timeout = 4 * kHang;
  Start(limits);
  std::vector<RawConnection> idle;
  for (int i = 0; i < 300; ++i) {
    idle.emplace_back(port_);
    ASSERT_TRUE(idle.back().ok());
  }
  const auto start = steady_clock::now();
  EXPECT_EQ(StatusOf(Ping()), 200);
  EXPECT_LT(steady_clock::now() - start, kHang);
  // Stop() closes idle connections at once, without waiting out their timeout.
  const auto stop_start = steady_clock::now();
  Stop();
  EXPECT_LT(steady_clock::now() - stop_start, kHang);
  bool closed = false;
  idle.front().ReadUntilClosed(kHang, &closed);
  EXPECT_TRUE(closed);
}

// Regression: cpp-httplib waited with select(), undefined for a descriptor
// numbered FD_SETSIZE (1024) or more.
TEST_F(ConnectionServerTest, SocketsPastFdSetSizeAreServed) {
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur < 1200 && limit.rlim_max >= 1200) {
    limit.rlim_cur = 1200;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
  if (limit.rlim_cur < 1200) GTEST_SKIP() << "open file limit below 1200";
  Start();
  std::vector<int> filler;
  while (filler.size() < 1200 && (filler.empty() || filler.back() < 1100)) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    filler.push_back(fd);
  }
  EXPECT_EQ(StatusOf(Ping()), 200);
  for (const int fd : filler) ::close(fd);
}

// Every answer on `raw`, in order: the status codes.
std::vector<int> StatusesOf(const std::string& raw) {
  std::vector<int> statuses;
  for (size_t at = raw.find("HTTP/1.1 "); at != std::string::npos;
       at = raw.find("HTTP/1.1 ", at + 1)) {
    statuses.push_back(test::StatusOf(std::string_view(raw).substr(at)));
  }
  return statuses;
}

TEST_F(ConnectionServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Start();
  RawConnection connection(port_);
  ASSERT_TRUE(
      connection.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                      "POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
                      "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n"));
  bool closed = false;
  const std::string received = connection.ReadUntilClosed(kHang, &closed);
  EXPECT_TRUE(closed) << "Connection: close on the last one";
  const size_t a = received.find("GET /a ");
  const size_t b = received.find("POST /b xyz");
  const size_t c = received.find("GET /c ");
  ASSERT_NE(a, std::string::npos) << received;
  ASSERT_NE(b, std::string::npos) << received;
  ASSERT_NE(c, std::string::npos) << received;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_NE(received.find("Connection: close\r\n"), std::string::npos);
}

TEST_F(ConnectionServerTest, RequestsSplitAcrossPacketsAreReassembled) {
  Start();
  RawConnection connection(port_);
  const std::string request =
      "POST /split?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
      "Connection: close\r\n\r\nhello";
  for (const char c : request) {  // one byte per segment (TCP_NODELAY on our side)
    ASSERT_TRUE(connection.Send(std::string(1, c)));
    std::this_thread::sleep_for(milliseconds(1));
  }
  bool closed = false;
  const std::string received = connection.ReadUntilClosed(kHang, &closed);
  EXPECT_EQ(StatusOf(received), 200) << received;
  EXPECT_EQ(test::BodyOf(received), "POST /split hello");
}

TEST_F(ConnectionServerTest, Http10ClosesUnlessKeepAliveIsAsked) {
  Start();
  const Exchange once = SendOnce("GET /old HTTP/1.0\r\n\r\n", kHang);
  EXPECT_TRUE(once.closed) << "HTTP/1.0 without keep-alive: closed at once";
  EXPECT_EQ(StatusOf(once.received), 200);
  EXPECT_NE(once.received.find("Connection: close\r\n"), std::string::npos) << once.received;
  RawConnection connection(port_);
  ASSERT_TRUE(connection.Send("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  bool closed = false;
  // The whole answer (its body is the request line); the connection stays.
  std::string received = connection.ReadUntil("GET /old ", 1, kHang);
  EXPECT_NE(received.find("Connection: keep-alive\r\n"), std::string::npos) << received;
  ASSERT_TRUE(connection.Send("GET /again HTTP/1.0\r\n\r\n"));
  received = connection.ReadUntilClosed(kHang, &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(test::BodyOf(received), "GET /again ");
}

TEST_F(ConnectionServerTest, ExpectContinueIsAnsweredBeforeTheBodyIsRead) {
  Start();
  RawConnection connection(port_);
  ASSERT_TRUE(
      connection.Send("POST /upload HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n"
                      "Connection: close\r\n\r\n"));
  bool closed = false;
  const std::string interim = connection.ReadUntil("\r\n\r\n", 1, kHang);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(connection.Send("body"));
  const std::string received = connection.ReadUntilClosed(kHang, &closed);
  EXPECT_EQ(StatusOf(received), 200) << received;
  EXPECT_EQ(test::BodyOf(received), "POST /upload body");
}

TEST_F(ConnectionServerTest, HeadAnswersCarryTheLengthButNoBody) {
  Start();
  const Exchange head = SendOnce("HEAD /h HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(head.closed);
  const std::string& received = head.received;
  EXPECT_NE(received.find("Content-Length: 8\r\n"), std::string::npos) << received;  // "HEAD /h "
  ASSERT_GE(received.size(), 4u);
  EXPECT_EQ(received.substr(received.size() - 4), "\r\n\r\n") << received;
}

TEST_F(ConnectionServerTest, RefusedRequestsAreAnsweredAndTheConnectionCloses) {
  ConnectionServer::Limits limits = ShortLimits();
  limits.max_request_bytes = 16 * 1024;
  limits.max_body_bytes = 100;
  Start(limits);
  const struct {
    std::string request;
    int status;
  } kCases[] = {
      {"GET /x HTTP/1.1\r\nBad Header: 1\r\n\r\n", 400},
      {"POST /x HTTP/1.1\r\nContent-Length: 101\r\n\r\n" + std::string(101, 'x'), 413},
      {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411},
      {"GET /" + std::string(20 * 1024, 'a') + " HTTP/1.1\r\n\r\n", 414},
      {"GET /x HTTP/1.1\r\nX: " + std::string(20 * 1024, 'a') + "\r\n\r\n", 431},
      {"GET /x HTTP/2.0\r\n\r\n", 505},
  };
  for (const auto& c : kCases) {
    // Followed by a valid request, which must not be answered.
    const Exchange refused = SendOnce(c.request + kPing, kHang);
    EXPECT_TRUE(refused.closed) << c.status;
    EXPECT_EQ(StatusesOf(refused.received), std::vector<int>{c.status}) << refused.received;
    EXPECT_NE(refused.received.find("Connection: close\r\n"), std::string::npos)
        << refused.received;
  }
}

// A long-poll: the handler keeps the request, another thread answers it;
// the connection then goes on with the request pipelined behind it.
TEST_F(ConnectionServerTest, AnAnswerSentLaterFromAnotherThreadKeepsTheConnectionsOrder) {
  Start();
  RawConnection connection(port_);
  ASSERT_TRUE(connection.Send(std::string("GET /later HTTP/1.1\r\nHost: x\r\n\r\n") + kPing));
  std::vector<PendingAnswer> pending = TakePending(1);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(connection.ReadUntil("HTTP/1.1", 1, milliseconds(200)), "")
      << "nothing before the pending answer, not even the pipelined one";

  std::thread([&] { pending[0].Send(Later("later")); }).join();
  EXPECT_FALSE(pending[0]) << "sent once";
  const std::string received = connection.ReadUntil("HTTP/1.1 200", 2, kHang);
  const size_t later = received.find("\r\n\r\nlater");
  const size_t ping = received.find("GET /ping");
  EXPECT_NE(later, std::string::npos) << received;
  EXPECT_NE(ping, std::string::npos) << received;
  EXPECT_LT(later, ping) << received;

  // And the connection still takes requests.
  ASSERT_TRUE(connection.Send(kPing));
  EXPECT_NE(connection.ReadUntil("GET /ping", 1, kHang).find("GET /ping"), std::string::npos);
}

// A parked request gives its thread back: five times more of them than
// the pool has threads, and requests are still served.
TEST_F(ConnectionServerTest, PendingAnswersHoldNoThread) {
  ConnectionServer::Limits limits = ShortLimits();
  limits.max_threads = 4;
  limits.idle_timeout = seconds(5);
  Start(limits);
  std::vector<RawConnection> parked;
  for (int i = 0; i < 20; ++i) {
    parked.emplace_back(port_);
    ASSERT_TRUE(parked.back().Send("GET /later HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  std::vector<PendingAnswer> pending = TakePending(20);
  ASSERT_EQ(pending.size(), 20u);
  EXPECT_EQ(StatusOf(Ping()), 200);
  for (PendingAnswer& answer : pending) answer.Send(Later("done"));
  for (RawConnection& connection : parked) {
    EXPECT_NE(connection.ReadUntil("done", 1, kHang).find("done"), std::string::npos);
  }
}

TEST_F(ConnectionServerTest, PendingAnswersHonourHeadAndConnectionClose) {
  Start();
  RawConnection head(port_);
  RawConnection closing(port_);
  ASSERT_TRUE(head.Send("HEAD /later HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::vector<PendingAnswer> first = TakePending(1);
  ASSERT_TRUE(closing.Send("GET /later HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::vector<PendingAnswer> second = TakePending(1);
  ASSERT_EQ(first.size() + second.size(), 2u);
  first[0].Send(Later("body"));
  second[0].Send(Later("body"));

  const std::string head_answer = head.ReadUntil("\r\n\r\n", 1, kHang);
  EXPECT_NE(head_answer.find("Content-Length: 4\r\n"), std::string::npos) << head_answer;
  bool closed = false;
  EXPECT_EQ(head.ReadUntilClosed(milliseconds(100), &closed), "") << "no body after a HEAD";
  EXPECT_FALSE(closed) << "kept alive";

  const std::string closing_answer = closing.ReadUntilClosed(kHang, &closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(closing_answer.find("Connection: close\r\n"), std::string::npos) << closing_answer;
  EXPECT_NE(closing_answer.find("\r\n\r\nbody"), std::string::npos) << closing_answer;
}

TEST_F(ConnectionServerTest, ADroppedPendingAnswerClosesTheConnection) {
  Start();
  auto [connection, pending] = ParkOne();
  ASSERT_EQ(pending.size(), 1u);
  pending.clear();
  bool closed = false;
  EXPECT_EQ(connection.ReadUntilClosed(kHang, &closed), "");
  EXPECT_TRUE(closed);
}

// The owner may still hold answers when the server stops: sent then, each
// goes out and its connection closes.
TEST_F(ConnectionServerTest, AnAnswerSentAfterServeReturnedIsWrittenAndTheConnectionCloses) {
  Start();
  auto [connection, pending] = ParkOne();
  ASSERT_EQ(pending.size(), 1u);
  Stop();
  pending[0].Send(Later("late"));
  bool closed = false;
  const std::string received = connection.ReadUntilClosed(kHang, &closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(received.find("Connection: close\r\n"), std::string::npos) << received;
  EXPECT_NE(received.find("\r\n\r\nlate"), std::string::npos) << received;
}

TEST_F(ConnectionServerTest, StopBeforeServeReturnsAtOnce) {
  ConnectionServer server(
      ShortLimits(), [](const HttpRequest&, HttpResponse&, PendingAnswer&) {},
      [](const HttpRequest&, const RequestError&, HttpResponse&) {});
  ASSERT_GT(server.Bind("127.0.0.1", 0), 0);
  server.Stop();
  server.Serve();  // returns: the wake-up was not lost
}

TEST_F(ConnectionServerTest, BindsIpv6LiteralsAndRefusesABusyPort) {
  ConnectionServer v6(
      ShortLimits(), [](const HttpRequest&, HttpResponse&, PendingAnswer&) {},
      [](const HttpRequest&, const RequestError&, HttpResponse&) {});
  const int port = v6.Bind("::1", 0);
  if (port < 0 && (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT)) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  EXPECT_GT(port, 0);
  Start();
  ConnectionServer busy(
      ShortLimits(), [](const HttpRequest&, HttpResponse&, PendingAnswer&) {},
      [](const HttpRequest&, const RequestError&, HttpResponse&) {});
  int bound = busy.Bind("127.0.0.1", port_);
  int error = errno;
  EXPECT_EQ(bound, -1) << "no SO_REUSEPORT";
  EXPECT_EQ(error, EADDRINUSE);
  bound = busy.Bind("no.such.host.invalid", 0);
  error = errno;
  EXPECT_EQ(bound, -1);
  EXPECT_EQ(error, 0) << "a host that resolves to nothing";
}

// Hooks are spawned while connections are open: a socket without
// FD_CLOEXEC would stay open in every hook for as long as it runs.
TEST_F(ConnectionServerTest, AcceptedSocketsAreCloseOnExec) {
  Start();
  RawConnection connection(port_);
  ASSERT_TRUE(connection.Send("GET /a HTTP/1.1\r\n\r\n"));
  ASSERT_EQ(StatusOf(connection.ReadUntil("\r\n\r\n", 1, kHang)), 200);
  // Every socket of this process (the server's and the test's) is CLOEXEC.
  size_t sockets = 0;
  for (int fd = 3; fd < 1024; ++fd) {
    char link[64] = {};
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    if (::readlink(path.c_str(), link, sizeof(link) - 1) <= 0) continue;
    if (std::string(link).rfind("socket:", 0) != 0) continue;
    ++sockets;
    EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0) << "fd " << fd;
  }
  EXPECT_GE(sockets, 3u) << "listen socket, accepted socket, client socket";
}

// Out of descriptors, accept4() fails while the connection stays queued and
// the listen socket readable: a loop that polls again at once spins a core.
TEST_F(ConnectionServerTest, OutOfDescriptorsBacksOffAndServesOnceDescriptorsAreBack) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The limit is the whole process's: the sanitizer runtimes need
  // descriptors themselves (UBSan's vptr check probes memory through a
  // pipe) and report false errors without them.
  GTEST_SKIP() << "runs out of descriptors, which the sanitizer runtime needs too";
#endif
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  Start();
  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0);
  // Every descriptor from the lowest free one up is now beyond the limit.
  const int lowest_free = ::dup(0);
  ASSERT_GE(lowest_free, 0);
  ::close(lowest_free);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);

  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port_);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool connected =
      ::connect(client, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  std::this_thread::sleep_for(milliseconds(500));
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_TRUE(connected);
  const auto cpu = [](const rusage& usage) {
    return seconds(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           std::chrono::microseconds(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
  };
  // A spinning accept loop would burn about the whole 500 ms.
  EXPECT_LT(cpu(after) - cpu(before), milliseconds(150));

  const std::string request = "GET /late HTTP/1.1\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(client, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string received;
  char buffer[1024];
  for (int i = 0; i < 50; ++i) {  // up to 5 s
    pollfd entry{client, POLLIN, 0};
    if (::poll(&entry, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(client, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<size_t>(n));
  }
  ::close(client);
  EXPECT_EQ(test::BodyOf(received), "GET /late ") << received;
}

// The watch behind dropping dead long-polls (issue 20 point 3): a client
// that resets or half-closes while its answer is pending is reported once;
// one whose answer went out is not.
TEST_F(ConnectionServerTest, APendingAnswerLearnsWhenItsClientGoesAway) {
  Start();
  const auto park = [this](RawConnection& connection) {
    EXPECT_TRUE(connection.Send("GET /watched HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::vector<PendingAnswer> pending = TakePending(1);
    EXPECT_EQ(pending.size(), 1u);
    return pending.empty() ? PendingAnswer() : std::move(pending.front());
  };
  RawConnection reset(port_);
  RawConnection half_closed(port_);
  RawConnection answered(port_);
  RawConnection staying(port_);
  PendingAnswer reset_answer = park(reset);
  PendingAnswer half_closed_answer = park(half_closed);
  PendingAnswer answered_answer = park(answered);
  PendingAnswer staying_answer = park(staying);

  answered_answer.Send(Later("done"));
  EXPECT_NE(answered.ReadUntil("done", 1, kHang).find("done"), std::string::npos);
  answered.Reset();  // after its answer: the server's business, not the handler's
  reset.Reset();
  half_closed.ShutdownWrite();
  EXPECT_TRUE(test::WaitUntil([&] { return hang_ups_.load() == 2; }, kHang)) << hang_ups_.load();
  // The one that stayed is reported when it goes, and only it.
  staying.Reset();
  EXPECT_TRUE(test::WaitUntil([&] { return hang_ups_.load() == 3; }, kHang)) << hang_ups_.load();
  // Answering a client that went away is harmless.
  reset_answer.Send(Later("late"));
  half_closed_answer.Send(Later("late"));
  EXPECT_EQ(StatusOf(Ping()), 200);
  EXPECT_EQ(hang_ups_.load(), 3);
}

}  // namespace
}  // namespace zkelect
