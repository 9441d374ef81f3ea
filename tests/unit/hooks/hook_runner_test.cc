// HookRunner with real processes (short timeouts): serial execution, the
// environment as data, timeouts reaching the whole process group, and the
// leader-only child.

#include "zkelect/hooks/hook_runner_impl.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "support/process_state.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;
namespace fs = std::filesystem;

class HookRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hook_runner_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string File(const std::string& name) const { return (dir_ / name).string(); }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static bool IsAlive(pid_t pid) { return test::ProcessRunning(pid); }
  static std::vector<std::string> Sh(const std::string& script) {
    return {"/bin/sh", "-c", script};
  }

  // Runs one action and waits for its outcome (bounded).
  static HookOutcome RunAndWait(HookRunnerImpl& runner, HookAction action,
                                std::map<std::string, std::string> env = {}) {
    auto promise = std::make_shared<std::promise<HookOutcome>>();
    auto future = promise->get_future();
    runner.Run(action, 1, std::move(env),
               [promise](const HookOutcome& outcome) { promise->set_value(outcome); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    return future.get();
  }

  fs::path dir_;
  PosixProcessSpawner spawner_;
};

TEST_F(HookRunnerTest, EnvironmentFromZooKeeperIsDataNeverCode) {
  const std::string marker = File("injected");
  const std::string hostile = "$(touch " + marker + ");`touch " + marker + "`\n\xff";
  HooksConfig hooks;
  hooks.on_start =
      Sh("printf '%s|%s|%s' \"$ZKELECT_EVENT\" \"$ZKELECT_LEADER_ID\" "
         "\"$ZKELECT_EPOCH\" > " +
         File("env"));
  HookRunnerImpl runner(hooks, {}, spawner_);
  runner.Start();
  HookOutcome outcome = RunAndWait(
      runner, HookAction::kStart,
      {{"ZKELECT_EVENT", "start"}, {"ZKELECT_LEADER_ID", hostile}, {"ZKELECT_EPOCH", "42"}});
  ASSERT_TRUE(outcome.hook.has_value());
  EXPECT_TRUE(outcome.ok()) << outcome.hook->Describe();
  EXPECT_EQ(Read(File("env")), "start|" + hostile + "|42");
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(HookRunnerTest, NulBytesInEnvironmentBecomeReplacementCharacters) {
  HooksConfig hooks;
  hooks.on_start = Sh("printf '%s' \"$ZKELECT_LEADER_ID\" > " + File("env"));
  HookRunnerImpl runner(hooks, {}, spawner_);
  runner.Start();
  RunAndWait(runner, HookAction::kStart, {{"ZKELECT_LEADER_ID", std::string("a\0b", 3)}});
  EXPECT_EQ(Read(File("env")),
            "a\xEF\xBF\xBD"
            "b");
}

TEST_F(HookRunnerTest, ActionsRunStrictlyOneAfterAnother) {
  HooksConfig hooks;
  const std::string log = File("log");
  hooks.on_start = Sh("echo begin-start >> " + log + "; sleep 0.2; echo end-start >> " + log);
  hooks.on_stop = Sh("echo begin-stop >> " + log + "; sleep 0.1; echo end-stop >> " + log);
  HookRunnerImpl runner(hooks, {}, spawner_);
  runner.Start();
  std::promise<void> all_done;
  runner.Run(HookAction::kStart, 1, {}, [](const HookOutcome&) {});
  runner.Run(HookAction::kStop, 1, {}, [](const HookOutcome&) {});
  runner.Run(HookAction::kStart, 1, {}, [](const HookOutcome&) {});
  runner.Run(HookAction::kStop, 1, {}, [&](const HookOutcome&) { all_done.set_value(); });
  ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_EQ(Read(log),
            "begin-start\nend-start\nbegin-stop\nend-stop\n"
            "begin-start\nend-start\nbegin-stop\nend-stop\n");
}

TEST_F(HookRunnerTest, TimeoutSendsSigtermThenSigkillToTheWholeGroup) {
  HooksConfig hooks;
  hooks.timeout = milliseconds(300);
  hooks.kill_grace = milliseconds(300);
  // Ignores SIGTERM, and leaves a grandchild in its group.
  hooks.on_stop = Sh("trap '' TERM; sleep 30 & echo $! > " + File("grandchild") + "; wait");
  HookRunnerImpl runner(hooks, {}, spawner_);
  runner.Start();
  const auto start = std::chrono::steady_clock::now();
  HookOutcome outcome = RunAndWait(runner, HookAction::kStop);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_TRUE(outcome.hook.has_value());
  EXPECT_TRUE(outcome.hook->timed_out);
  EXPECT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.hook->status->signal, SIGKILL);
  const pid_t grandchild = std::stoi(Read(File("grandchild")));
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = !IsAlive(grandchild);
    if (!gone) std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_TRUE(gone) << "the grandchild in the hook's group must be killed too";
}

TEST_F(HookRunnerTest, OutputIsLoggedLineByLineTaggedWithTheHook) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  HooksConfig hooks;
  hooks.on_change = Sh("echo one; echo two >&2; printf three");
  HookRunnerImpl runner(hooks, {}, spawner_);
  runner.Start();
  RunAndWait(runner, HookAction::kChange);
  spdlog::set_default_logger(previous);
  const std::vector<std::string> lines = sink->last_formatted();
  auto has = [&](const std::string& text) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has("hook on_change: one"));
  EXPECT_TRUE(has("hook on_change: two"));
  EXPECT_TRUE(has("hook on_change: three"));
}

TEST_F(HookRunnerTest, FailuresAreReportedNotThrown) {
  HooksConfig hooks;
  hooks.on_start = {"/nonexistent/promote"};
  hooks.on_stop = Sh("exit 3");
  HookRunnerImpl runner(hooks, {}, spawner_);
  runner.Start();
  HookOutcome start = RunAndWait(runner, HookAction::kStart);
  ASSERT_TRUE(start.hook.has_value());
  EXPECT_FALSE(start.ok());
  EXPECT_NE(start.hook->Describe().find("/nonexistent/promote"), std::string::npos);
  HookOutcome stop = RunAndWait(runner, HookAction::kStop);
  EXPECT_EQ(stop.hook->status->code, 3);
  EXPECT_EQ(stop.hook->Describe(), "exit status 3");
}

TEST_F(HookRunnerTest, NoHookConfiguredCompletesAtOnce) {
  HookRunnerImpl runner({}, {}, spawner_);
  runner.Start();
  HookOutcome outcome = RunAndWait(runner, HookAction::kStop);
  EXPECT_FALSE(outcome.hook.has_value());
  EXPECT_TRUE(outcome.ok());
}

TEST_F(HookRunnerTest, ChildRunsWhileLeadingAndIsStoppedOnStop) {
  ChildConfig child;
  child.command = Sh("echo $$ > " + File("pid") + "; exec sleep 30");
  child.stop_grace = milliseconds(500);
  HookRunnerImpl runner({}, child, spawner_);
  runner.Start();
  RunAndWait(runner, HookAction::kStart);
  pid_t pid = 0;
  for (int i = 0; i < 100 && pid == 0; ++i) {
    const std::string text = Read(File("pid"));
    if (!text.empty()) pid = std::stoi(text);
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(IsAlive(pid)) << "running while leading";
  RunAndWait(runner, HookAction::kStop);
  EXPECT_FALSE(IsAlive(pid)) << "stopped (and reaped) on stop";
}

TEST_F(HookRunnerTest, ChildThatExitsByItselfIsReported) {
  ChildConfig child;
  child.command = Sh("exit 7");
  std::promise<ExitStatus> exited;
  HookRunnerImpl runner({}, child, spawner_);
  runner.SetChildExitHandler([&](HookTerm, const ExitStatus& status) { exited.set_value(status); });
  runner.Start();
  RunAndWait(runner, HookAction::kStart);
  auto future = exited.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(future.get().code, 7);
}

TEST_F(HookRunnerTest, FailedStartHookWithResignPolicyDoesNotStartTheChild) {
  HooksConfig hooks;
  hooks.on_start = Sh("exit 1");
  ChildConfig child;
  child.command = Sh("touch " + File("child-ran"));
  HookRunnerImpl runner(hooks, child, spawner_);
  runner.Start();
  RunAndWait(runner, HookAction::kStart);
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_FALSE(fs::exists(File("child-ran")));
}

}  // namespace
}  // namespace zkelect
