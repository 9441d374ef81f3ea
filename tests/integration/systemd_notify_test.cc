// The real daemon speaking systemd's notify protocol (Type=notify) through a
// real NOTIFY_SOCKET datagram socket: READY=1 once joined, WATCHDOG=1 pings
// from the election loop, STOPPING=1 on SIGTERM.

#include <gtest/gtest.h>
#include <unistd.h>

#include "election_fixture.h"
#include "support/notify_socket.h"

namespace zkelect::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class SystemdNotifyTest : public ElectionFixture {};

TEST_F(SystemdNotifyTest, ReadyOnceJoinedWatchdogPingsAndStopping) {
  NotifySocket systemd("/tmp/zkelect-notify-it-" + std::to_string(getpid()));
  ASSERT_TRUE(systemd.bound());
  ZkelectProcess& node = AddDaemon("node-1");
  node.mutable_env()["NOTIFY_SOCKET"] = systemd.path();
  node.mutable_env()["WATCHDOG_USEC"] = "2000000";  // WatchdogSec=2s: ping every 1s
  const auto started = Clock::now();
  ASSERT_TRUE(node.Start());

  // READY=1 comes first, once the node has joined (it leads: it is alone).
  std::optional<std::string> message = systemd.Receive(milliseconds(10000));
  while (message && message->find("READY=1") == std::string::npos) {
    EXPECT_EQ(message->find("STOPPING"), std::string::npos) << *message;
    message = systemd.Receive(milliseconds(10000));
  }
  ASSERT_TRUE(message.has_value()) << "no READY=1 within 10 s";
  std::cout << "[ measure  ] start -> READY=1: " << MillisSince(started) << " ms\n";
  EXPECT_EQ(HttpGet(node.port(), "/readyz").status, 200) << "READY=1 means joined";

  // At least two watchdog pings in the next 3 s.
  int pings = 0;
  const auto until = Clock::now() + seconds(3);
  while (Clock::now() < until && pings < 2) {
    auto next = systemd.Receive(milliseconds(1500));
    if (next && *next == "WATCHDOG=1") ++pings;
  }
  EXPECT_GE(pings, 2);

  node.Terminate();
  bool stopping = false;
  for (int i = 0; i < 50 && !stopping; ++i) {
    auto next = systemd.Receive(milliseconds(2000));
    if (!next) break;
    stopping = next->find("STOPPING=1") != std::string::npos;
  }
  EXPECT_TRUE(stopping) << "no STOPPING=1 after SIGTERM";
  auto status = node.WaitExit(seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->exited() && status->exit_code == 0) << status->ToString();
}

}  // namespace
}  // namespace zkelect::test
