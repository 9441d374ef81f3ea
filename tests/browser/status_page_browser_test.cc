// The status page (GET /) in a real headless Chromium, against real daemons
// and a real ZooKeeper: it must follow a leader change by itself, without a
// reload, and render under its Content-Security-Policy without violations.
// The browser is driven by status_page_driver.py (Selenium + chromedriver).

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "integration/election_fixture.h"
#include "support/child_process.h"
#include "support/temp_dir.h"

namespace zkelect::test {
namespace {

constexpr char kPython[] = "/usr/bin/python3";
constexpr char kDriver[] = ZKELECT_SOURCE_DIR "/tests/browser/status_page_driver.py";

class StatusPageBrowserTest : public ElectionFixture {};

TEST_F(StatusPageBrowserTest, FollowerPageShowsTheNewLeaderWithoutReloading) {
  for (const char* tool : {kPython, "/usr/bin/chromium", "/usr/bin/chromedriver"}) {
    ASSERT_EQ(::access(tool, X_OK), 0)
        << tool << " is missing: scripts/install-deps.sh installs chromium, chromium-driver and "
        << "python3-selenium";
  }
  ASSERT_TRUE(StartDaemons(3));
  size_t leader = 0;
  ASSERT_TRUE(WaitForLeader(seconds(10), &leader));
  ASSERT_EQ(leader, 0u);  // node-1 joined first
  // node-2's page: a follower now, next in line, so its own role changes too.
  ZkelectProcess& watched = daemon(1);

  TempDir dir("status-page");
  const std::string base = "http://127.0.0.1:";
  ChildSpec spec;
  spec.argv = {kPython,
               kDriver,
               "--url=" + base + std::to_string(watched.port()) + "/",
               "--resign-url=" + base + std::to_string(daemon(0).port()) + "/resign",
               "--old-leader=" + daemon(0).id(),
               "--profile=" + dir.Sub("chromium-profile"),
               "--before-png=" + dir.Sub("status-page-before.png"),
               "--after-png=" + dir.Sub("status-page-after.png")};
  spec.stdout_path = dir.Sub("driver.out");
  spec.stderr_path = dir.Sub("driver.err");
  spec.env["HOME"] = dir.path();  // chromium writes caches under $HOME
  ChildProcess driver;
  ASSERT_EQ(driver.Spawn(spec), "");
  const std::optional<ExitStatus> exit = driver.WaitExit(seconds(90));
  ASSERT_TRUE(exit.has_value()) << "the browser driver did not finish in 90s";
  ASSERT_EQ(*exit, (ExitStatus{0, 0})) << ReadFileOrEmpty(dir.Sub("driver.err"));

  const nlohmann::json result = nlohmann::json::parse(ReadFileOrEmpty(dir.Sub("driver.out")));
  const nlohmann::json& before = result["before"];
  const nlohmann::json& after = result["after"];
  SCOPED_TRACE(result.dump(2));
  EXPECT_EQ(result["resign_status"], 200);

  // Before: node-2 follows node-1; the candidates in queue order, as of
  // node-2's last listing (node-3, behind it, may not be in it yet).
  EXPECT_EQ(before["node-id"], "node-2");
  EXPECT_EQ(before["role"], "follower");
  EXPECT_EQ(before["leader-id"], "node-1");
  ASSERT_GE(before["candidates"].size(), 2u);
  EXPECT_NE(before["candidates"][0].get<std::string>().find("leader"), std::string::npos);
  EXPECT_NE(before["candidates"][1].get<std::string>().find("this node"), std::string::npos);
  // By id, not only by node name (issue 16 point 5).
  EXPECT_EQ(before["candidates"][0].get<std::string>().rfind("node-1 ", 0), 0u)
      << before["candidates"][0];
  EXPECT_EQ(before["candidates"][1].get<std::string>().rfind("node-2 ", 0), 0u)
      << before["candidates"][1];

  // After, in the same document: node-2 leads, with the epoch ZooKeeper gave.
  EXPECT_EQ(after["marker"], "same-document") << "the page reloaded";
  size_t new_leader = 0;
  ASSERT_TRUE(WaitForLeader(seconds(10), &new_leader));
  EXPECT_EQ(new_leader, 1u);
  const HttpReply view = HttpGet(watched.port(), "/leader");
  EXPECT_EQ(after["role"], "leader");
  EXPECT_EQ(after["leader-id"], "node-2 (this node)");
  EXPECT_EQ(after["leader-epoch"], std::to_string(view.body["leader"]["epoch"].get<int64_t>()));
  EXPECT_EQ(after["leader-node"], view.body["leader"]["node"]);
  EXPECT_NE(after["leader-epoch"], before["leader-epoch"]);
  ASSERT_FALSE(after["transitions"].empty());
  const nlohmann::json& latest = after["transitions"][0];  // newest first
  EXPECT_EQ(latest[1], "follower");
  EXPECT_EQ(latest[2], "leader");
  EXPECT_EQ(latest[3], "elected");
  // The candidates now start with node-2's own node, marked both ways.
  ASSERT_GE(after["candidates"].size(), 2u);
  const std::string first = after["candidates"][0];
  EXPECT_NE(first.find("leader"), std::string::npos) << first;
  EXPECT_NE(first.find("this node"), std::string::npos) << first;

  // No Content-Security-Policy violation (or any other error) in the console.
  for (const auto& message : result["console"]) {
    EXPECT_EQ(message.get<std::string>().find("Refused"), std::string::npos) << message;
  }
  std::cerr << "status page showed the new leader " << result["seconds_to_show"].get<double>()
            << " s after /resign answered; screenshots in " << dir.path() << "\n";
  if (const char* keep = std::getenv("ZKELECT_SCREENSHOT_DIR")) {
    for (const char* name : {"status-page-before.png", "status-page-after.png"}) {
      std::filesystem::copy_file(dir.Sub(name), std::string(keep) + "/" + name,
                                 std::filesystem::copy_options::overwrite_existing);
    }
  }
}

}  // namespace
}  // namespace zkelect::test
