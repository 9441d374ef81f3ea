#include "zkelect/config/config_reload.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace zkelect {
namespace {

using std::chrono::milliseconds;

TEST(ConfigReloadTest, NothingChangedGivesNoKeys) {
  const Config running;
  const Result<std::vector<std::string>> diff = DiffForReload(running, running);
  ASSERT_TRUE(diff.ok()) << diff.status().message();
  EXPECT_TRUE(diff->empty());
}

// Every key a reload must refuse, with a change to it and what the one line
// must say.
TEST(ConfigReloadTest, RefusesEveryNonReloadableKey) {
  struct Case {
    std::function<void(Config*)> change;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {[](Config* c) { c->id = "web-2"; },
       R"(id = "web-2" (running: "web-1"): expected no change on reload (it needs a restart))"},
      {[](Config* c) { c->zk.servers = "zk9:2181"; },
       R"(zk.servers = "zk9:2181" (running: "127.0.0.1:2181"): expected no change on reload)"},
      {[](Config* c) { c->zk.session_timeout = milliseconds(6000); },
       "zk.session_timeout = 6s (running: 10s)"},
      {[](Config* c) { c->zk.auth_file = "/etc/zkelect/other"; },
       R"(zk.auth_file = "/etc/zkelect/other" (running: ""))"},
      {[](Config* c) { c->election.path = "/zkelect/other"; },
       R"(election.path = "/zkelect/other" (running: "/zkelect/default"))"},
      {[](Config* c) { c->election.campaign = false; },
       "election.campaign = false (running: true)"},
      {[](Config* c) { c->http.listen = {"127.0.0.1:4041"}; },
       R"(http.listen = ["127.0.0.1:4041"] (running: ["127.0.0.1:4040"]))"},
      {[](Config* c) { c->http.socket_mode = 0600; },
       R"(http.socket_mode = "0600" (running: "0660"))"},
      {[](Config* c) { c->state_dir = "/var/lib/zkelect"; },
       R"(state_dir = "/var/lib/zkelect" (running: ""))"},
  };
  for (const Case& test : cases) {
    Config running;
    running.id = "web-1";
    Config next = running;
    next.hooks.on_start = {"/bin/true"};  // a reloadable change besides: still refused
    test.change(&next);
    const Result<std::vector<std::string>> diff = DiffForReload(running, next);
    ASSERT_FALSE(diff.ok()) << test.expected;
    EXPECT_EQ(diff.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(diff.status().message().find(test.expected), std::string::npos)
        << diff.status().message();
  }
}

TEST(ConfigReloadTest, RefusedZkAuthIsMasked) {
  Config running;
  running.zk.digest_auth = "user:old-password";
  Config next = running;
  next.zk.digest_auth = "user:new-password";
  const Result<std::vector<std::string>> diff = DiffForReload(running, next);
  ASSERT_FALSE(diff.ok());
  const std::string line = diff.status().message();
  EXPECT_NE(line.find("zk.auth = *** (running: ***)"), std::string::npos) << line;
  EXPECT_EQ(line.find("password"), std::string::npos) << line;
}

TEST(ConfigReloadTest, ListsEveryReloadableChangeInFileOrder) {
  Config running;
  Config next = running;
  next.address = "10.0.0.6:8080";
  next.meta["zone"] = "b";
  next.election.recheck_interval = milliseconds(5000);
  next.http.allowed_hosts = {"app.example.com"};
  next.http.token = "new-token";
  next.http.max_waiters = 8;
  next.http.default_wait = milliseconds(2000);
  next.http.max_wait = milliseconds(3000);
  next.hooks.on_start = {"/bin/promote"};
  next.hooks.on_stop = {"/bin/demote"};
  next.hooks.on_change = {"/bin/reroute"};
  next.hooks.timeout = milliseconds(1000);
  next.hooks.kill_grace = milliseconds(1000);
  next.hooks.start_failure = HooksConfig::StartFailure::kIgnore;
  next.health.command = {"/bin/true"};
  next.health.http = "http://127.0.0.1:8080/health";
  next.health.interval = milliseconds(1000);
  next.health.timeout = milliseconds(500);
  next.health.rise = 1;
  next.health.fall = 1;
  next.child.on_exit = ChildConfig::OnExit::kRestart;
  next.child.stop_grace = milliseconds(1000);
  next.log.level = "debug";
  next.log.format = LogConfig::Format::kJson;
  const Result<std::vector<std::string>> diff = DiffForReload(running, next);
  ASSERT_TRUE(diff.ok()) << diff.status().message();
  const std::vector<std::string> expected = {"address",
                                             "meta",
                                             "election.recheck_interval",
                                             "http.allowed_hosts",
                                             "http.token",
                                             "http.max_waiters",
                                             "http.default_wait",
                                             "http.max_wait",
                                             "hooks.on_start",
                                             "hooks.on_stop",
                                             "hooks.on_change",
                                             "hooks.timeout",
                                             "hooks.kill_grace",
                                             "hooks.start_failure",
                                             "health.command",
                                             "health.http",
                                             "health.interval",
                                             "health.timeout",
                                             "health.rise",
                                             "health.fall",
                                             "child.on_exit",
                                             "child.stop_grace",
                                             "log.level",
                                             "log.format"};
  EXPECT_EQ(*diff, expected);
}

// The bearer token is compared (a re-read file may hold a new one) but never
// shown: it only appears as the key http.token.
TEST(ConfigReloadTest, TokenChangeIsNamedNotShown) {
  Config running;
  running.http.token_file = "/etc/zkelect/token";
  running.http.token = "old-secret";
  Config next = running;
  next.http.token = "new-secret";
  const Result<std::vector<std::string>> diff = DiffForReload(running, next);
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(*diff, std::vector<std::string>{"http.token"});
}

}  // namespace
}  // namespace zkelect
