// PosixProcessSpawner: what commands inherit, and that they die with the
// daemon.

#include "zkelect/hooks/process_spawner.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <string_view>
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

// The spawn blocks every signal of its thread while the command borrows the
// daemon's memory (CLONE_VM): the command must still start with none blocked
// and no handler of the daemon's, and the spawning thread must get its own
// mask back.
TEST(ProcessSpawnerTest, CommandStartsWithNoSignalBlockedAndTheCallerKeepsItsMask) {
  struct sigaction handler = {};
  handler.sa_handler = [](int) {};
  struct sigaction previous = {};
  ASSERT_EQ(sigaction(SIGUSR1, &handler, &previous), 0);
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  sigset_t before;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &usr2, &before), 0);

  PosixProcessSpawner spawner;
  auto spawned = spawner.Spawn({"cat", "/proc/self/status"}, {{}, true});
  ASSERT_TRUE(spawned.ok()) << spawned.status().message();
  std::string blocked;
  std::string caught;
  const auto status = (*spawned)->Wait(std::chrono::seconds(20), [&](std::string_view line) {
    if (line.starts_with("SigBlk:")) blocked = line;
    if (line.starts_with("SigCgt:")) caught = line;
  });
  sigset_t after;
  pthread_sigmask(SIG_SETMASK, &before, &after);
  sigaction(SIGUSR1, &previous, nullptr);

  ASSERT_TRUE(status.has_value()) << "cat did not finish";
  EXPECT_EQ(blocked, "SigBlk:\t0000000000000000");
  EXPECT_EQ(caught, "SigCgt:\t0000000000000000");
  EXPECT_EQ(sigismember(&after, SIGUSR2), 1) << "the spawning thread lost its blocked signal";
  EXPECT_EQ(sigismember(&after, SIGUSR1), 0) << "the spawning thread kept every signal blocked";
}

}  // namespace
}  // namespace zkelect
