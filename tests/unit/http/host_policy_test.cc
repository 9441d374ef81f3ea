#include "zkelect/http/host_policy.h"

#include <gtest/gtest.h>

#include "zkelect/config/config.h"

namespace zkelect {
namespace {

using WriteAccess = HostPolicy::WriteAccess;

HttpConfig Config(const std::string& listen, const std::string& token = "",
                  std::vector<std::string> allowed_hosts = {}) {
  HttpConfig config;
  config.listen = {listen};
  config.token = token;
  config.allowed_hosts = std::move(allowed_hosts);
  return config;
}

TEST(HostPolicyTest, AllowsHostTable) {
  const HostPolicy policy(Config("127.0.0.1:4040", "", {"App.Internal", "svc.example.com."}));
  const struct {
    std::string host;
    bool allowed;
  } cases[] = {
      {"", true},  // no Host header
      {"127.0.0.1", true},
      {"127.0.0.1:4040", true},
      {"10.1.2.3:80", true},
      {"[::1]", true},
      {"[::1]:4040", true},
      {"[fe80::1]:1", true},
      {"localhost", true},
      {"localhost:4040", true},
      {"LOCALHOST:4040", true},
      {"localhost.", true},
      {"app.internal", true},
      {"APP.INTERNAL:8080", true},
      {"app.internal.", true},
      {"svc.example.com", true},
      {"evil.example", false},
      {"evil.example:4040", false},
      {"localhost.evil.example", false},
      {"foo.localhost", false},
      {"app.internal.evil.example", false},
      {"127.0.0.1.nip.io", false},
      {"::1", false},  // IPv6 without brackets is not a Host
      {"[::1", false},
      {"[not-an-ip]:80", false},
      {"[127.0.0.1]", false},
      {"localhost:http", false},
      {"localhost:80x", false},
      {":4040", false},
      {"127.1", false},  // not a dotted quad: could be a DNS name
      {"0x7f000001", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(policy.AllowsHost(c.host, /*unix_socket=*/false), c.allowed) << "Host: " << c.host;
  }
}

TEST(HostPolicyTest, LoopbackListenWithoutTokenAllowsWrites) {
  for (const std::string listen :
       {"127.0.0.1:4040", "127.8.9.10:1", "localhost:4040", "[::1]:4040", "[::ffff:127.0.0.1]:1"}) {
    const HostPolicy policy(Config(listen));
    EXPECT_TRUE(policy.loopback_only()) << listen;
    EXPECT_EQ(policy.CheckWrite("", /*unix_socket=*/false), WriteAccess::kAllowed) << listen;
    EXPECT_EQ(policy.CheckWrite("Bearer anything", /*unix_socket=*/false), WriteAccess::kAllowed)
        << listen;
  }
}

TEST(HostPolicyTest, ListenBeyondLoopbackWithoutTokenRefusesWrites) {
  for (const std::string listen :
       {"0.0.0.0:4040", "[::]:4040", "10.0.0.5:4040", "myhost:4040", "garbage"}) {
    const HostPolicy policy(Config(listen));
    EXPECT_FALSE(policy.loopback_only()) << listen;
    EXPECT_EQ(policy.CheckWrite("", /*unix_socket=*/false), WriteAccess::kTokenRequired) << listen;
  }
}

TEST(HostPolicyTest, TokenIsRequiredWhenConfigured) {
  for (const std::string listen : {"127.0.0.1:4040", "0.0.0.0:4040"}) {
    const HostPolicy policy(Config(listen, "s3cret-token"));
    EXPECT_EQ(policy.CheckWrite("Bearer s3cret-token", /*unix_socket=*/false),
              WriteAccess::kAllowed);
    EXPECT_EQ(policy.CheckWrite("bearer s3cret-token", /*unix_socket=*/false),
              WriteAccess::kAllowed);
    EXPECT_EQ(policy.CheckWrite("BEARER   s3cret-token  ", /*unix_socket=*/false),
              WriteAccess::kAllowed);
    for (const std::string bad :
         {"", "Bearer", "Bearer ", "Bearer s3cret-toke", "Bearer s3cret-token2",
          "Bearer S3CRET-TOKEN", "Basic s3cret-token", "Bearers3cret-token", "s3cret-token",
          "Bearer s3cret token", "Token s3cret-token"}) {
      EXPECT_EQ(policy.CheckWrite(bad, /*unix_socket=*/false), WriteAccess::kUnauthorized)
          << "Authorization: " << bad;
    }
  }
}

TEST(HostPolicyTest, UnixSocketPeersAreLocal) {
  HttpConfig config = Config("0.0.0.0:4040");
  config.listen.push_back("unix:/run/zkelect/api.sock");
  const HostPolicy beyond(config);
  EXPECT_FALSE(beyond.loopback_only());
  EXPECT_EQ(beyond.CheckWrite("", /*unix_socket=*/true), WriteAccess::kAllowed);
  EXPECT_EQ(beyond.CheckWrite("", /*unix_socket=*/false), WriteAccess::kTokenRequired);
  // No web page reaches a Unix socket: DNS rebinding cannot either.
  EXPECT_TRUE(beyond.AllowsHost("evil.example", /*unix_socket=*/true));
  EXPECT_FALSE(beyond.AllowsHost("evil.example", /*unix_socket=*/false));
  // A token, once configured, is needed everywhere.
  config.token = "s3cret-token";
  EXPECT_EQ(HostPolicy(config).CheckWrite("", /*unix_socket=*/true), WriteAccess::kUnauthorized);
}

TEST(HostPolicyTest, OpenToLocalUsersOnlyOnLoopbackTcpWithoutToken) {
  EXPECT_TRUE(HostPolicy(Config("127.0.0.1:4040")).OpenToLocalUsers());
  EXPECT_FALSE(HostPolicy(Config("127.0.0.1:4040", "s3cret-token")).OpenToLocalUsers());
  EXPECT_FALSE(HostPolicy(Config("0.0.0.0:4040")).OpenToLocalUsers());  // refused there
  EXPECT_FALSE(HostPolicy(Config("unix:/run/zkelect/api.sock")).OpenToLocalUsers());
  HttpConfig both = Config("unix:/run/zkelect/api.sock");
  both.listen.push_back("127.0.0.1:4040");
  EXPECT_TRUE(HostPolicy(both).OpenToLocalUsers());
}

TEST(HostPolicyTest, IsLoopbackHost) {
  EXPECT_TRUE(HostPolicy::IsLoopbackHost("localhost"));
  EXPECT_TRUE(HostPolicy::IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(HostPolicy::IsLoopbackHost("127.255.255.254"));
  EXPECT_TRUE(HostPolicy::IsLoopbackHost("::1"));
  EXPECT_FALSE(HostPolicy::IsLoopbackHost("128.0.0.1"));
  EXPECT_FALSE(HostPolicy::IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(HostPolicy::IsLoopbackHost("::"));
  EXPECT_FALSE(HostPolicy::IsLoopbackHost("[::1]"));  // brackets belong to SplitHostPort
  EXPECT_FALSE(HostPolicy::IsLoopbackHost(""));
  EXPECT_FALSE(HostPolicy::IsLoopbackHost("localhost.evil.example"));
}

TEST(HostPolicyTest, SplitHostPort) {
  const struct {
    std::string text;
    bool ok;
    std::string host;
    std::string port;
    bool bracketed;
  } cases[] = {
      {"127.0.0.1:4040", true, "127.0.0.1", "4040", false},
      {"localhost", true, "localhost", "", false},
      {"localhost:", true, "localhost", "", false},
      {"[::1]:0", true, "::1", "0", true},
      {"[::1]", true, "::1", "", true},
      {"::1", false, "", "", false},
      {"[::1]4040", false, "", "", false},
      {"[::1", false, "", "", false},
      {"host:port", false, "", "", false},
      {"host:-1", false, "", "", false},
  };
  for (const auto& c : cases) {
    const std::optional<HostPort> split = SplitHostPort(c.text);
    ASSERT_EQ(split.has_value(), c.ok) << c.text;
    if (!split) continue;
    EXPECT_EQ(split->host, c.host) << c.text;
    EXPECT_EQ(split->port, c.port) << c.text;
    EXPECT_EQ(split->bracketed, c.bracketed) << c.text;
  }
}

// Issue 20 point 2: a web page in a browser on the host posted a form to
// /resign (Origin: https://evil.example, Sec-Fetch-Site: cross-site) and the
// leader stepped down. Only the daemon's own origin, or no browser headers at
// all (curl, the client commands), may change state.
TEST(HostPolicyTest, CrossSiteRequestForgeryIsRefused) {
  const struct {
    std::string origin;
    std::string fetch_site;
    std::string host;
    bool allowed;
  } cases[] = {
      {"", "", "127.0.0.1:4040", true},      // curl, zkelect resign
      {"", "", "", true},                    // HTTP/1.0 without Host
      {"", "none", "127.0.0.1:4040", true},  // typed in the address bar
      {"", "same-origin", "127.0.0.1:4040", true},
      {"http://127.0.0.1:4040", "same-origin", "127.0.0.1:4040", true},
      {"http://127.0.0.1:4040", "", "127.0.0.1:4040", true},
      {"HTTP://LocalHost:4040", "", "localhost:4040", true},
      {"http://localhost", "", "localhost:80", true},  // the default port, either side
      {"http://localhost:80", "", "localhost", true},
      {"http://[::1]:4040", "", "[::1]:4040", true},
      {"https://evil.example", "cross-site", "127.0.0.1:4040", false},  // the reported form
      {"https://evil.example", "", "127.0.0.1:4040", false},
      {"", "cross-site", "127.0.0.1:4040", false},
      {"", "same-site", "127.0.0.1:4040", false},  // another port of the same host
      {"", "Cross-Site", "127.0.0.1:4040", false},
      {"null", "", "127.0.0.1:4040", false},  // sandboxed frames, file:, data:
      {"http://127.0.0.1:4041", "", "127.0.0.1:4040", false},
      {"http://127.0.0.1:4040", "cross-site", "127.0.0.1:4040", false},
      {"https://127.0.0.1:4040", "", "127.0.0.1:4040", false},  // we serve no TLS
      {"http://localhost:4040", "", "127.0.0.1:4040", false},   // another origin, same socket
      {"http://127.0.0.1:4040", "", "", false},                 // nothing to compare with
      {"http://127.0.0.1:4040/", "", "127.0.0.1:4040", false},  // an origin has no path
      {"http://127.0.0.1:4040@evil.example", "", "127.0.0.1:4040", false},
      {"127.0.0.1:4040", "", "127.0.0.1:4040", false},
      {"http://", "", "127.0.0.1:4040", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(HostPolicy::IsSameOrigin(c.origin, c.fetch_site, c.host), c.allowed)
        << "Origin: " << c.origin << ", Sec-Fetch-Site: " << c.fetch_site << ", Host: " << c.host;
  }
}

}  // namespace
}  // namespace zkelect
