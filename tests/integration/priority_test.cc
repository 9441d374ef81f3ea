// Preferred leaders (design §3 rule 13, issue 17 point 1) end to end: real
// ZooKeeper, real zkelect processes.

#include <gtest/gtest.h>

#include "election_fixture.h"

namespace zkelect::test {
namespace {

using PriorityTest = ElectionFixture;

// After the leader's resign the next in line, of lower priority, yields
// without ever leading (no start, never /is-leader 200), and the node of
// higher priority behind it leads; /leader and /status show the priorities.
TEST_F(PriorityTest, NextInLineOfLowerPriorityYieldsToTheHigherPriorityNodeBehindIt) {
  ASSERT_TRUE(StartDaemons(2));  // node-1 leads, node-2 next in line, both priority 0
  ZkelectProcess& preferred = AddDaemon("node-3", {"--election.priority=10"});
  ASSERT_TRUE(preferred.Start());
  ASSERT_TRUE(WaitReady(preferred, seconds(10)));
  size_t leader = 2;
  ASSERT_TRUE(WaitForLeader(seconds(5), &leader));
  ASSERT_EQ(daemon(leader).id(), "node-1") << "a leader is never displaced (no preemption)";
  LeaderMonitor monitor(Ports());

  const HttpReply resigned = HttpPost(daemon(0).port(), "/resign", seconds(10));
  ASSERT_EQ(resigned.status, 200) << resigned.Describe();
  ASSERT_TRUE(WaitForLeader(seconds(10), &leader));
  EXPECT_EQ(daemon(leader).id(), "node-3");
  const HttpReply view = HttpGet(daemon(1).port(), "/leader");
  EXPECT_EQ(view.body["leader"].value("priority", -1), 10) << view.Describe();
  EXPECT_EQ(Status(2).value("priority", -1), 10);
  EXPECT_EQ(Status(1).value("priority", -1), 0);

  // node-2 yielded: logged, and it never became leader.
  EXPECT_TRUE(WaitUntil(
      [&] {
        return daemon(1).log_text().find("outranks us (priority 0); yielding our place") !=
               std::string::npos;
      },
      seconds(5)))
      << daemon(1).LogTail();
  const nlohmann::json status = Status(1);  // a range-for over Status(1)[...] reads a freed temporary
  for (const nlohmann::json& transition : status["recent_transitions"]) {
    EXPECT_NE(transition.value("to", ""), "leader") << transition.dump();
  }
  monitor.StopNow();
  EXPECT_EQ(monitor.Doubles(), "");
}

}  // namespace
}  // namespace zkelect::test
