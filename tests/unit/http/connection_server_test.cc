#include "zkelect/http/connection_server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/http_probe.h"
#include "support/raw_connection.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using test::RawConnection;
using test::StatusOf;

constexpr char kPing[] = "GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

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
    server_ = std::make_unique<ConnectionServer>(limits);
    server_->Get("/ping", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("pong", "text/plain");
    });
    port_ = static_cast<uint16_t>(server_->Bind("127.0.0.1", 0));
    ASSERT_GT(port_, 0);
    listener_ = std::thread([this] { server_->listen_after_bind(); });
    ASSERT_TRUE(
        test::WaitUntil([this] { return server_->is_running(); }, seconds(5), milliseconds(1)));
  }

  void Stop() {
    if (!listener_.joinable()) return;
    server_->Stop();
    listener_.join();
  }

  // One GET /ping on a fresh connection: the raw answer, within `timeout`.
  std::string Ping(milliseconds timeout = seconds(5)) {
    RawConnection connection(port_);
    bool closed = false;
    if (!connection.Send("GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")) {
      return "";
    }
    return connection.ReadUntilClosed(timeout, &closed);
  }

  std::unique_ptr<ConnectionServer> server_;
  std::thread listener_;
  uint16_t port_ = 0;
};

TEST_F(ConnectionServerTest, ServesRequestsOnAKeepAliveConnection) {
  Start();
  RawConnection connection(port_);
  ASSERT_TRUE(connection.Send(std::string(kPing) + kPing));  // pipelined
  bool closed = false;
  const std::string received = connection.ReadUntilClosed(seconds(2), &closed);
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
  EXPECT_EQ(connection.ReadUntilClosed(seconds(5), &closed), "");
  EXPECT_TRUE(closed);
  EXPECT_LT(steady_clock::now() - start, seconds(2));
}

// Regression: the library's read timeout restarted with every byte, so a
// client sending one byte now and then held its connection (and thread)
// forever.
TEST_F(ConnectionServerTest, SlowLorisIsCutOffAtTheRequestDeadline) {
  Start();
  RawConnection connection(port_);
  const auto start = steady_clock::now();
  ASSERT_TRUE(connection.Send("GET /ping HTTP/1.1\r\n"));
  bool cut_off = false;
  for (int i = 0; i < 50 && !cut_off; ++i) {  // 5s of a header byte per 100ms
    std::this_thread::sleep_for(milliseconds(100));
    cut_off = !connection.Send("X");
  }
  bool closed = cut_off;
  if (!cut_off) connection.ReadUntilClosed(seconds(1), &closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(steady_clock::now() - start, seconds(3));
}

// Regression: the library's parser keeps every header line of a request,
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
  if (!closed) connection.ReadUntilClosed(seconds(5), &closed);
  EXPECT_TRUE(closed);
}

// Regression: a fixed pool of threads, one per connection, let a few hundred
// idle connections starve every other client.
TEST_F(ConnectionServerTest, IdleConnectionsDoNotStarveNewOnes) {
  ConnectionServer::Limits limits = ShortLimits();
  limits.idle_timeout = seconds(30);
  Start(limits);
  std::vector<RawConnection> idle;
  for (int i = 0; i < 300; ++i) {
    idle.emplace_back(port_);
    ASSERT_TRUE(idle.back().ok());
  }
  const auto start = steady_clock::now();
  EXPECT_EQ(StatusOf(Ping()), 200);
  EXPECT_LT(steady_clock::now() - start, seconds(1));
  // Stop() closes idle connections at once, without waiting out their 30s.
  const auto stop_start = steady_clock::now();
  Stop();
  EXPECT_LT(steady_clock::now() - stop_start, seconds(2));
  bool closed = false;
  idle.front().ReadUntilClosed(seconds(1), &closed);
  EXPECT_TRUE(closed);
}

// Regression: the library waits with select(), undefined for a descriptor
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

}  // namespace
}  // namespace zkelect
