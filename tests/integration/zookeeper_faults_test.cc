// The election while ZooKeeper itself fails: servers restarted one by one,
// the whole ensemble down and back.

#include <gtest/gtest.h>

#include "election_fixture.h"

namespace zkelect::test {
namespace {

using ZooKeeperFaultsTest = ElectionFixture;

TEST_F(ZooKeeperFaultsTest, RestartingEachServerInTurnKeepsOneLeaderAndLeaksNoNode) {
  ASSERT_TRUE(StartDaemons(3));
  size_t leader = 0;
  ASSERT_TRUE(WaitForLeader(seconds(5), &leader));
  const std::vector<std::string> nodes_before = ChildrenInOrder();
  LeaderMonitor monitor(Ports());

  for (int server = 0; server < zk_.size(); ++server) {
    SCOPED_TRACE("ZooKeeper server " + std::to_string(server) + " restarted");
    const std::string mode = zk_.Mode(server);
    const auto stopped = Clock::now();
    zk_.Stop(server);
    ASSERT_TRUE(zk_.WaitServing(seconds(20)));
    ASSERT_TRUE(zk_.Start(server));
    ASSERT_TRUE(zk_.WaitServing(seconds(30)));
    // After every restart: one leader that all agree on, one node per daemon.
    ASSERT_TRUE(WaitForLeader(kSessionTimeout + seconds(2), &leader));
    ASSERT_TRUE(WaitForChildCount(daemons_.size(), kSessionTimeout + seconds(3)));
    std::cout << "[ measure  ] ZooKeeper server " << server << " (" << mode
              << ") restarted; one agreed leader (" << daemon(leader).id() << ") "
              << MillisSince(stopped) << " ms after its stop\n";
  }
  monitor.StopNow();
  EXPECT_EQ(monitor.Doubles(), "");
  EXPECT_GT(monitor.rounds(), 10);
  // The sessions survived the restarts, so the same nodes are still there
  // (the recipe re-checks on reconnect; it does not delete and recreate).
  EXPECT_EQ(ChildrenInOrder(), nodes_before);
}

TEST_F(ZooKeeperFaultsTest, ReadyzIs503WhileTheEnsembleIsDownAnd200WhenItIsBack) {
  ASSERT_TRUE(StartDaemons(2));
  size_t leader = 0;
  ASSERT_TRUE(WaitForLeader(seconds(5), &leader));

  const auto stopped = Clock::now();
  zk_.StopAll();
  for (size_t i = 0; i < 2; ++i) {
    HttpReply reply;
    EXPECT_TRUE(WaitUntil(
        [&] {
          reply = HttpGet(daemon(i).port(), "/readyz");
          return reply.status == 503;
        },
        seconds(3), milliseconds(5)))
        << daemon(i).id() << ": " << reply.Describe();
    std::cout << "[ measure  ] " << daemon(i).id() << " /readyz 503 " << MillisSince(stopped)
              << " ms after the ensemble stopped\n";
  }
  // Down for longer than the session timeout: nobody is ready or leads, and
  // the daemons stay alive (liveness is not readiness).
  const auto down_until = stopped + kSessionTimeout + milliseconds(1000);
  int rounds = 0;
  for (; Clock::now() < down_until && rounds < 1000; ++rounds) {
    for (size_t i = 0; i < 2; ++i) {
      ASSERT_EQ(HttpGet(daemon(i).port(), "/readyz").status, 503) << daemon(i).id();
      ASSERT_EQ(HttpGet(daemon(i).port(), "/is-leader").status, 503) << daemon(i).id();
      ASSERT_EQ(HttpGet(daemon(i).port(), "/healthz").status, 200) << daemon(i).id();
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_GT(rounds, 10);

  const auto restarted = Clock::now();
  ASSERT_TRUE(zk_.StartAll());
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(WaitReady(daemon(i), kSessionTimeout + seconds(5)));
  }
  std::cout << "[ measure  ] both /readyz 200 " << MillisSince(restarted)
            << " ms after the ensemble was started again\n";
  ASSERT_TRUE(WaitForLeader(kSessionTimeout + seconds(2), &leader));
  // Nodes of sessions that did not survive expire; one node per daemon stays.
  ASSERT_TRUE(WaitForChildCount(2, kSessionTimeout + seconds(5)));
  ASSERT_TRUE(WaitForLeader(seconds(2), &leader));
}

}  // namespace
}  // namespace zkelect::test
