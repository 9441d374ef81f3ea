#include "sim/sim_hook_runner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/event_queue.h"
#include "sim/sim_random.h"
#include "sim/trace.h"

namespace zkelect::sim {
namespace {

class Recorder final : public HookObserver {
 public:
  void OnHookBegin(HookAction action, const std::map<std::string, std::string>&) override {
    log.push_back(action == HookAction::kStart ? "begin start" : "begin stop");
  }
  void OnHookEnd(HookAction action, const HookOutcome&) override {
    log.push_back(action == HookAction::kStart ? "end start" : "end stop");
  }
  void OnHookSkipped(HookAction, const std::map<std::string, std::string>&) override {}
  std::vector<std::string> log;
};

class SimHookRunnerTest : public ::testing::Test {
 protected:
  static SimHookRunner::Options Hooks() {
    SimHookRunner::Options options;
    options.hooks.on_start = {"start"};
    options.hooks.on_stop = {"stop"};
    options.name = "d0";
    return options;
  }
  void RunAll() {
    while (queue.RunNext()) {
    }
  }

  SimClock clock;
  EventQueue queue{clock};
  SimRandom random{7};
  Trace trace{clock, 20};
  Recorder recorder;
  SimHookRunner runner{Hooks(), queue, random, trace, recorder};
  std::vector<std::string> done;
};

TEST_F(SimHookRunnerTest, AStopGoesAheadOfAQueuedStartAndBothAreSkippedWhenNoStartRan) {
  auto record = [&](std::string what) {
    return
        [&, what](const HookOutcome& o) { done.push_back(what + (o.skipped ? " skipped" : "")); };
  };
  runner.Run(HookAction::kStart, 1, {}, record("start 1"));
  runner.Run(HookAction::kStop, 1, {}, record("stop 1"));
  RunAll();
  // The start was queued, not running, when the stop of its term came; with
  // no start run, the stop runs nothing either (they alternate).
  EXPECT_EQ(done, (std::vector<std::string>{"stop 1 skipped", "start 1 skipped"}));
  EXPECT_TRUE(recorder.log.empty());
  runner.Run(HookAction::kStart, 2, {}, record("start 2"));
  RunAll();
  runner.Run(HookAction::kStop, 2, {}, record("stop 2"));
  RunAll();
  EXPECT_EQ(recorder.log,
            (std::vector<std::string>{"begin start", "end start", "begin stop", "end stop"}));
}

// A stopped process's runner thread starts nothing: a start queued before
// SIGSTOP must not begin while its daemon cannot fence itself.
TEST_F(SimHookRunnerTest, NoActionBeginsWhileItsProcessIsStopped) {
  runner.SetPaused(true);
  runner.Run(HookAction::kStart, 1, {}, [&](const HookOutcome&) { done.push_back("start 1"); });
  RunAll();
  EXPECT_TRUE(recorder.log.empty());
  EXPECT_TRUE(done.empty());
  runner.SetPaused(false);
  RunAll();
  EXPECT_EQ(recorder.log, (std::vector<std::string>{"begin start", "end start"}));
  EXPECT_EQ(done, std::vector<std::string>{"start 1"});
}

}  // namespace
}  // namespace zkelect::sim
