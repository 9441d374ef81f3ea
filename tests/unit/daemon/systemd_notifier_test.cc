// SystemdNotifier against a real AF_UNIX datagram socket, as systemd's.

#include "zkelect/daemon/systemd_notifier.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>

#include "support/notify_socket.h"

namespace zkelect {
namespace {

using std::chrono::microseconds;

using std::chrono::milliseconds;
using test::NotifySocket;

std::string SocketPath() {
  return (std::filesystem::temp_directory_path() /
          ("notify-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name()))
      .string();
}

TEST(SystemdNotifierTest, SendsReadyStoppingStatusToThePathSocket) {
  NotifySocket systemd(SocketPath());
  ASSERT_TRUE(systemd.bound());
  const SystemdNotifier notifier =
      SystemdNotifier::FromEnvironment({{"NOTIFY_SOCKET", SocketPath()}}, getpid());
  ASSERT_TRUE(notifier.enabled());
  notifier.Ready("role follower");
  EXPECT_EQ(systemd.Receive(milliseconds(2000)), "READY=1\nSTATUS=role follower");
  notifier.Status("role leader");
  EXPECT_EQ(systemd.Receive(milliseconds(2000)), "STATUS=role leader");
  notifier.Stopping("leaving");
  EXPECT_EQ(systemd.Receive(milliseconds(2000)), "STOPPING=1\nSTATUS=leaving");
}

// Found by the review: a foreign node whose data (its id, as text) held
// "\nMAINPID=1\nWATCHDOG=trigger" made every follower send those fields.
TEST(SystemdNotifierTest, AStatusCannotCarryFieldsOfItsOwn) {
  NotifySocket systemd(SocketPath());
  const SystemdNotifier notifier =
      SystemdNotifier::FromEnvironment({{"NOTIFY_SOCKET", SocketPath()}}, getpid());
  notifier.Status("leader evil\nMAINPID=1\nWATCHDOG=trigger");
  EXPECT_EQ(systemd.Receive(milliseconds(2000)),
            "STATUS=leader evil\\x0aMAINPID=1\\x0aWATCHDOG=trigger");
  notifier.Ready("a\rb");
  EXPECT_EQ(systemd.Receive(milliseconds(2000)), "READY=1\nSTATUS=a\\x0db");
}

TEST(SystemdNotifierTest, AbstractSocketNamesStartWithAt) {
  const std::string name = "@zkelect-notify-test-" + std::to_string(getpid());
  NotifySocket systemd(name);
  ASSERT_TRUE(systemd.bound());
  const SystemdNotifier notifier = SystemdNotifier::FromEnvironment({{"NOTIFY_SOCKET", name}}, 1);
  notifier.Status("hello");
  EXPECT_EQ(systemd.Receive(milliseconds(2000)), "STATUS=hello");
}

TEST(SystemdNotifierTest, WatchdogOnlyForThisProcess) {
  NotifySocket systemd(SocketPath());
  const std::map<std::string, std::string> ours = {
      {"NOTIFY_SOCKET", SocketPath()}, {"WATCHDOG_USEC", "4000000"}, {"WATCHDOG_PID", "42"}};
  EXPECT_EQ(SystemdNotifier::FromEnvironment(ours, 42).watchdog_interval(), microseconds(4000000));
  EXPECT_FALSE(SystemdNotifier::FromEnvironment(ours, 43).watchdog_interval().has_value());
  const SystemdNotifier notifier = SystemdNotifier::FromEnvironment(ours, 42);
  notifier.Watchdog();
  EXPECT_EQ(systemd.Receive(milliseconds(2000)), "WATCHDOG=1");
}

TEST(SystemdNotifierTest, WithoutNotifySocketEverythingIsANoOp) {
  const SystemdNotifier notifier = SystemdNotifier::FromEnvironment({}, getpid());
  EXPECT_FALSE(notifier.enabled());
  notifier.Ready("x");  // nothing to send to, nothing breaks
  EXPECT_FALSE(SystemdNotifier::FromEnvironment({{"NOTIFY_SOCKET", "relative"}}, 1).enabled());
}

}  // namespace
}  // namespace zkelect
