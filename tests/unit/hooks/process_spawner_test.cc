// PosixProcessSpawner: what commands inherit, and that they die with the
// daemon.

#include "zkelect/hooks/process_spawner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "support/process_state.h"
#include "support/temp_dir.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;

TEST(ProcessSpawnerTest, InheritedEnvironmentDropsTheDaemonsOwnVariables) {
  const char* const envp[] = {"PATH=/usr/bin",
                              "ZKELECT_ZK_AUTH=digest:alice:secret",
                              "ZKELECT_CONFIG=/etc/zkelect.toml",
                              "NOTIFY_SOCKET=/run/systemd/notify",
                              "WATCHDOG_PID=1",
                              "WATCHDOG_USEC=30000000",
                              "LANG=C.UTF-8",
                              "NOEQUALSSIGN",
                              nullptr};
  EXPECT_EQ(InheritedEnvironment(envp),
            (std::map<std::string, std::string>{{"LANG", "C.UTF-8"}, {"PATH", "/usr/bin"}}));
}

// Reads a pid from `path` once a writer has put one there (bounded).
pid_t AwaitPid(const std::string& path) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    pid_t pid = 0;
    if (in >> pid && pid > 0) return pid;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return 0;
}

// Issue 21 finding 1: a command outlived a daemon that was SIGKILLed (leader-
// only work running on after its leader is gone). A forked process stands in
// for the daemon: it spawns `sleep` and waits; the test SIGKILLs it.
TEST(ProcessSpawnerTest, SpawnedProcessDiesWithTheProcessThatSpawnedIt) {
  test::TempDir dir("process-spawner");
  const std::string pid_file = dir.Sub("pid");
  const pid_t daemon = fork();
  ASSERT_GE(daemon, 0);
  if (daemon == 0) {
    PosixProcessSpawner spawner;
    auto spawned =
        spawner.Spawn({"/bin/sh", "-c", "echo $$ > " + pid_file + "; exec sleep 60"}, {{}, false});
    if (!spawned.ok()) _exit(1);
    for (;;) pause();
  }
  const pid_t spawned = AwaitPid(pid_file);
  ASSERT_GT(spawned, 0);
  kill(daemon, SIGKILL);
  int status = 0;
  waitpid(daemon, &status, 0);
  const bool gone = test::WaitProcessGone(spawned, milliseconds(20000));
  if (!gone) kill(-spawned, SIGKILL);  // leave nothing behind either way
  EXPECT_TRUE(gone) << "the spawned command outlived its daemon";
}

}  // namespace
}  // namespace zkelect
