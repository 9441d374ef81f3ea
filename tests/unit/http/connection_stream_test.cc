#include "zkelect/http/connection_stream.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/tcp.h>  // tcp_info with tcpi_segs_out (glibc's lacks it)
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace zkelect {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A connected pair of loopback TCP sockets: the client's end, and the
// server's end owned by a ConnectionStream.
class ConnectionStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listener, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ASSERT_EQ(::listen(listener, 1), 0);
    ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
    client_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(client_, 0);
    ASSERT_EQ(::connect(client_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    const int server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    ::close(listener);
    ASSERT_GE(server, 0);
    const int yes = 1;  // as ConnectionServer sets it
    ASSERT_EQ(::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes)), 0);
    stream_ = std::make_unique<ConnectionStream>(server, seconds(2));
  }

  void TearDown() override {
    if (client_ >= 0) ::close(client_);
  }

  // Segments the server's end has sent so far.
  uint32_t SegmentsSent() const {
    tcp_info info{};
    socklen_t length = sizeof(info);
    EXPECT_EQ(::getsockopt(stream_->socket(), IPPROTO_TCP, TCP_INFO, &info, &length), 0);
    return info.tcpi_segs_out;
  }

  struct Received {
    std::string data;
    bool ended = false;  // the server's end of the stream came
  };
  // What the client reads within `timeout`, up to the end of the stream.
  Received ClientReads(milliseconds timeout) const {
    Received received;
    char buffer[512];
    pollfd fd{client_, POLLIN, 0};
    while (::poll(&fd, 1, static_cast<int>(timeout.count())) == 1) {
      const ssize_t n = ::recv(client_, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        received.ended = n == 0;
        break;
      }
      received.data.append(buffer, static_cast<size_t>(n));
    }
    return received;
  }

  int client_ = -1;
  std::unique_ptr<ConnectionStream> stream_;
};

TEST_F(ConnectionStreamTest, AWriteThatEndsTheStreamSendsTheAnswerAndTheEndInOneSegment) {
  const uint32_t before = SegmentsSent();
  ASSERT_TRUE(stream_->Write("HTTP/1.1 200 OK\r\n\r\n", /*end_stream=*/true));
  EXPECT_TRUE(stream_->broken()) << "nothing more can go out";

  // The stream is still open here: the end came with the write.
  const Received received = ClientReads(seconds(30));
  EXPECT_EQ(received.data, "HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_TRUE(received.ended);
  EXPECT_EQ(SegmentsSent() - before, 1u) << "the FIN rides on the answer's segment";
}

TEST_F(ConnectionStreamTest, ATrySendThatEndsTheStreamSendsTheAnswerAndTheEndInOneSegment) {
  const uint32_t before = SegmentsSent();
  EXPECT_EQ(stream_->TrySend("answer", /*end_stream=*/true), 6u);
  const Received received = ClientReads(seconds(30));
  EXPECT_EQ(received.data, "answer");
  EXPECT_TRUE(received.ended);
  EXPECT_EQ(SegmentsSent() - before, 1u);
}

TEST_F(ConnectionStreamTest, AWriteThatKeepsTheStreamLeavesAtOnceAndOpen) {
  ASSERT_TRUE(stream_->Write("first"));
  ASSERT_TRUE(stream_->Write("second"));
  EXPECT_FALSE(stream_->broken());
  // Each answer goes out as it is written (no Nagle, no cork): the client
  // has both without the stream ending.
  const Received received = ClientReads(milliseconds(200));
  EXPECT_EQ(received.data, "firstsecond");
  EXPECT_FALSE(received.ended);
}

}  // namespace
}  // namespace zkelect
