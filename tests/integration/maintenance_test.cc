// Maintenance mode against hostile timing and hostile files (issue 16 point
// 1, design §6 state_dir): real zkelect processes, a real ZooKeeper. The
// happy path (an ordered handoff, a restart while withdrawn, join at the
// back) is in hooks_test.cc.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "election_fixture.h"
#include "support/temp_dir.h"

namespace zkelect::test {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class MaintenanceTest : public ElectionFixture {
 protected:
  TempDir state_{"zkelect-maintenance"};
};

// Bug: a POST /withdraw that came while the daemon was leaving the election
// (SIGTERM, the stop hook still running) was answered 503 shutting_down, yet
// the state file had been written first: the restarted daemon stayed out of
// the election although the withdraw had been refused. The same for a join
// refused that way, which undid an earlier withdraw.
TEST_F(MaintenanceTest, WithdrawRefusedWhileShuttingDownIsNotSaved) {
  ZkelectProcess& d =
      AddDaemon("node-1", {"--state_dir=" + state_.path(), R"(--hooks.on_stop=["/bin/sleep", "3"])",
                           "--hooks.timeout=20s"});
  ASSERT_TRUE(d.Start());
  ASSERT_TRUE(WaitUntil([&] { return HttpGet(d.port(), "/is-leader").status == 200; }, seconds(30)))
      << d.LogTail();

  d.Terminate();  // the stop hook (3 s) runs before the daemon leaves
  ASSERT_TRUE(WaitUntil(
      [&] { return d.log_text().find("shutting down: leaving election") != std::string::npos; },
      seconds(10)))
      << d.LogTail();
  const HttpReply reply = HttpPost(d.port(), "/withdraw", seconds(30));
  EXPECT_EQ(reply.status, 503) << reply.Describe();
  ASSERT_TRUE(d.WaitExit(seconds(30)).has_value()) << d.LogTail();

  const std::string file = state_.path() + "/maintenance.json";
  const std::string saved = std::filesystem::exists(file) ? ReadFile(file) : "";
  EXPECT_EQ(saved.find("\"maintenance\":true"), std::string::npos)
      << "a refused withdraw was saved: " << saved;
}

// Bug: a state file that is a FIFO (or a link to /dev/zero) made the start
// block forever reading it, deaf to SIGTERM (the signal pipe is read only
// later). A state file must be a small regular file; anything else stops the
// start with exit 2 and a line naming the file.
TEST_F(MaintenanceTest, StateFileThatIsAFifoOrALinkStopsTheStartInsteadOfHanging) {
  const std::string file = state_.path() + "/maintenance.json";
  for (const std::string kind : {"fifo", "link to /dev/zero"}) {
    std::filesystem::remove(file);
    if (kind == "fifo") {
      ASSERT_EQ(::mkfifo(file.c_str(), 0600), 0);
    } else {
      std::filesystem::create_symlink("/dev/zero", file);
    }
    ZkelectProcess& d =
        AddDaemon("node-" + std::to_string(daemons_.size() + 1), {"--state_dir=" + state_.path()});
    ASSERT_TRUE(d.Spawn());
    const std::optional<ExitStatus> exit = d.WaitExit(seconds(20));
    if (!exit) d.Kill();
    ASSERT_TRUE(exit.has_value()) << kind << ": the start hangs on the state file";
    EXPECT_EQ(exit->exit_code, 2) << kind;
    const std::string output = d.log_text();
    EXPECT_NE(output.find("state file " + file), std::string::npos) << kind << ": " << output;
  }
}

// Bug: two daemons given the same state_dir (two elections on one host,
// both with the unit's /var/lib/zkelect) shared one maintenance.json: a
// withdraw of one kept the other out after its next restart. The second
// daemon now refuses to start (exit 1) naming state_dir.
TEST_F(MaintenanceTest, SecondDaemonOnTheSameStateDirRefusesToStart) {
  ZkelectProcess& first = AddDaemon("node-1", {"--state_dir=" + state_.path()});
  ASSERT_TRUE(first.Start());
  ASSERT_TRUE(WaitReady(first, seconds(10)));
  ZkelectProcess& second = AddDaemon("node-2", {"--state_dir=" + state_.path()});
  ASSERT_TRUE(second.Spawn());
  const std::optional<ExitStatus> exit = second.WaitExit(seconds(20));
  ASSERT_TRUE(exit.has_value()) << "a second daemon runs on the same state_dir";
  EXPECT_EQ(exit->exit_code, 1);
  EXPECT_NE(second.log_text().find("state_dir = \"" + state_.path() + "\""), std::string::npos)
      << second.log_text();
  EXPECT_EQ(HttpGet(first.port(), "/readyz").status, 200);
}

}  // namespace
}  // namespace zkelect::test
