#include "zkelect/client/client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/free_port.h"
#include "support/scripted_server.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ParseDaemonAddressTest, AcceptsListenValuesAndMapsWildcardsToLoopback) {
  struct Case {
    std::string listen;
    std::string host;
    int port;
  };
  const std::vector<Case> cases = {
      {"127.0.0.1:4040", "127.0.0.1", 4040}, {"localhost:1", "localhost", 1},
      {"0.0.0.0:4040", "127.0.0.1", 4040},   {"[::1]:4041", "::1", 4041},
      {"[::]:65535", "::1", 65535},          {"10.1.2.3:80", "10.1.2.3", 80},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.listen);
    const Result<DaemonAddress> address = ParseDaemonAddress(c.listen);
    ASSERT_TRUE(address.ok()) << address.status().message();
    EXPECT_EQ(address->host, c.host);
    EXPECT_EQ(address->port, c.port);
  }
}

TEST(ParseDaemonAddressTest, RejectsWhatIsNotHostPort) {
  for (const std::string listen :
       {"", "127.0.0.1", "127.0.0.1:", ":4040", "127.0.0.1:0", "127.0.0.1:65536",
        "127.0.0.1:123456", "::1:4040", "[::1]", "127.0.0.1:40x", "[::1:4040"}) {
    SCOPED_TRACE(listen);
    const Result<DaemonAddress> address = ParseDaemonAddress(listen);
    ASSERT_FALSE(address.ok());
    EXPECT_EQ(address.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(address.status().message().find("expected host:port"), std::string::npos);
  }
}

TEST(DaemonAddressTest, ToStringBracketsIpv6) {
  EXPECT_EQ((DaemonAddress{"127.0.0.1", 4040, ""}.ToString()), "127.0.0.1:4040");
  EXPECT_EQ((DaemonAddress{"::1", 4040, ""}.ToString()), "[::1]:4040");
  EXPECT_EQ((DaemonAddress{"", 0, "/run/zkelect/api.sock"}.ToString()),
            "unix:/run/zkelect/api.sock");
}

TEST(ParseDaemonAddressTest, AcceptsAUnixSocketPath) {
  const Result<DaemonAddress> address = ParseDaemonAddress("unix:/run/zkelect/api.sock");
  ASSERT_TRUE(address.ok()) << address.status().message();
  EXPECT_EQ(address->unix_path, "/run/zkelect/api.sock");
  for (const std::string& bad :
       std::vector<std::string>{"unix:", "unix:api.sock", "unix:/" + std::string(107, 'x')}) {
    SCOPED_TRACE(bad);
    const Result<DaemonAddress> refused = ParseDaemonAddress(bad);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.status().message().find("expected unix: and an absolute path of at most 107"),
              std::string::npos)
        << refused.status().message();
  }
}

// A stand-in daemon that records what the client sent.
class DaemonClientTest : public ::testing::Test {
 protected:
  ~DaemonClientTest() override {
    server_.stop();
    if (listener_.joinable()) listener_.join();
  }

  // Serves on `host`; false when that address cannot be bound here.
  bool Serve(const std::string& host = "127.0.0.1") {
    server_.Get("/status", [this](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      res.set_header("X-Zkelect-Index", "42");
      res.set_content(R"({"role": "follower"})", "application/json");
    });
    server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(milliseconds(500));
      res.set_content("{}", "application/json");
    });
    server_.Post("/resign", [this](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      res.status = 409;
      res.set_content("not json", "text/plain");
    });
    port_ = server_.bind_to_any_port(host);
    if (port_ <= 0) return false;
    listener_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(milliseconds(1));
    return true;
  }

  void Record(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    last_ = req;
  }
  // The last request to /status or /resign.
  httplib::Request Last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

  httplib::Server server_;
  std::thread listener_;
  int port_ = 0;
  std::mutex mu_;
  httplib::Request last_;  // guarded by mu_
};

TEST_F(DaemonClientTest, GetReturnsStatusIndexAndJson) {
  ASSERT_TRUE(Serve());
  DaemonClient client({"127.0.0.1", port_, ""}, seconds(5), "");
  const Result<DaemonReply> reply = client.Get("/status");
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->index, 42u);
  EXPECT_EQ(reply->json["role"], "follower");
  EXPECT_FALSE(Last().has_param("index"));
  EXPECT_EQ(Last().get_header_value("Host"), "127.0.0.1:" + std::to_string(port_));
}

TEST_F(DaemonClientTest, LongPollSendsIndexAndWait) {
  ASSERT_TRUE(Serve());
  DaemonClient client({"127.0.0.1", port_, ""}, seconds(5), "");
  const Result<DaemonReply> reply =
      client.Get("/status", DaemonClient::LongPoll{7, milliseconds(1500)});
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_EQ(Last().get_param_value("index"), "7");
  EXPECT_EQ(Last().get_param_value("wait"), "1s500ms");
}

TEST_F(DaemonClientTest, PostSendsTheTokenAndKeepsABodyThatIsNotJson) {
  ASSERT_TRUE(Serve());
  DaemonClient client({"127.0.0.1", port_, ""}, seconds(5), "tok");
  const Result<DaemonReply> reply = client.Post("/resign?hold=5s", seconds(5));
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_EQ(reply->status, 409);
  EXPECT_EQ(reply->index, 0u);
  EXPECT_EQ(reply->body, "not json");
  EXPECT_TRUE(reply->json.is_discarded());
  EXPECT_EQ(Last().get_header_value("Authorization"), "Bearer tok");
  EXPECT_EQ(Last().get_param_value("hold"), "5s");
}

TEST_F(DaemonClientTest, NoTokenNoAuthorizationHeader) {
  ASSERT_TRUE(Serve());
  DaemonClient client({"127.0.0.1", port_, ""}, seconds(5), "");
  ASSERT_TRUE(client.Post("/resign", seconds(5)).ok());
  EXPECT_FALSE(Last().has_header("Authorization"));
}

TEST_F(DaemonClientTest, ReadTimeoutIsUnavailableNamingTheAddress) {
  ASSERT_TRUE(Serve());
  DaemonClient client({"127.0.0.1", port_, ""}, milliseconds(100), "");
  const Result<DaemonReply> reply = client.Get("/slow");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(reply.status().message().find("127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << reply.status().message();
  EXPECT_NE(reply.status().message().find("GET /slow within 100ms"), std::string::npos)
      << reply.status().message();
}

TEST(DaemonClientUnreachableTest, ConnectFailureIsUnavailableNamingTheAddress) {
  const int port = test::PickFreePort();
  DaemonClient client({"127.0.0.1", port, ""}, seconds(2), "");
  const Result<DaemonReply> reply = client.Get("/status");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(reply.status().message(), "cannot connect to the daemon at 127.0.0.1:" +
                                          std::to_string(port) + " (connection refused)");
}

TEST(DaemonClientScriptedTest, AnAnswerThatIsNotHttpIsUnavailableSayingWhy) {
  test::ScriptedServer server({"SSH-2.0-OpenSSH_9.2\r\n"}, test::ScriptedServer::Then::kHoldOpen);
  ASSERT_TRUE(server.ok());
  DaemonClient client({"127.0.0.1", server.port(), ""}, seconds(5), "");
  const Result<DaemonReply> reply = client.Get("/status");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(reply.status().message(),
            "no valid answer from the daemon at 127.0.0.1:" + std::to_string(server.port()) +
                " to GET /status (malformed status line \"SSH-2.0-OpenSSH_9.2\")");
}

// The client stops reading at the cap; the server still has more to send.
TEST(DaemonClientScriptedTest, ABodyOverTheCapIsUnavailable) {
  const size_t size = DaemonClient::kMaxBodyBytes + 1;
  test::ScriptedServer server(
      {"HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n",
       std::string(size, ' ')},
      test::ScriptedServer::Then::kHoldOpen);
  ASSERT_TRUE(server.ok());
  DaemonClient client({"127.0.0.1", server.port(), ""}, seconds(5), "");
  const Result<DaemonReply> reply = client.Get("/status");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().message(),
            "no valid answer from the daemon at 127.0.0.1:" + std::to_string(server.port()) +
                " to GET /status (a body over " + std::to_string(DaemonClient::kMaxBodyBytes) +
                " bytes)");
}

// The daemon refuses a Host header that is not host:port: an IPv6 literal
// must be in brackets.
TEST_F(DaemonClientTest, Ipv6HostHeaderIsBracketed) {
  if (!Serve("::1")) GTEST_SKIP() << "no IPv6 loopback here";
  DaemonClient client({"::1", port_, ""}, seconds(5), "");
  const Result<DaemonReply> reply = client.Get("/status");
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_EQ(Last().get_header_value("Host"), "[::1]:" + std::to_string(port_));
}

}  // namespace
}  // namespace zkelect
