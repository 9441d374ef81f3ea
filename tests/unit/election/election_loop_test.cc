// The election loop's thread: what it hands to the rest of the daemon after
// each step.

#include "zkelect/election/election_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/fake_zk_client.h"
#include "support/recording_role_listener.h"
#include "support/simulated_clock.h"
#include "zkelect/election/recipe.h"
#include "zkelect/election/snapshot.h"
#include "zkelect/election/state_board.h"
#include "zkelect/metrics/metrics.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;
using testing::FakeZkClient;
using testing::RecordingRoleListener;

// Found while running the integration tests on a loaded machine
// (SystemdNotifyTest.ReadyOnceJoinedWatchdogPingsAndStopping, 1 run in 3):
// the after-step hook, which sends systemd READY=1, ran before the step's
// snapshot reached the board, so a client told "ready" could still read
// /readyz 503.
TEST(ElectionLoopTest, AfterStepSeesTheSnapshotAlreadyPublished) {
  const SystemClock clock;
  FakeZkClient zk;  // single-threaded: touched only from the loop thread below
  RecordingRoleListener listener;
  Metrics metrics;
  RecipeOptions options;
  options.identity = NodeIdentity{"me", "", {}};
  options.election_path = "/zkelect/loop";
  options.servers = "fake:2181";
  Recipe recipe(options, zk, clock, listener, metrics);
  StateBoard board(Snapshot{}, &clock);
  ElectionLoop loop(clock, board);
  std::atomic<int> steps{0};
  std::atomic<int> unpublished{0};
  std::atomic<bool> ready_seen{false};
  loop.SetAfterStep([&](const Snapshot& snapshot) {
    ++steps;
    if (!(*board.Current().snapshot == snapshot)) ++unpublished;
    if (snapshot.ready) ready_seen = true;
  });
  loop.Start(recipe);
  for (int i = 0; i < 200 && !ready_seen; ++i) {
    loop.Post([&zk] { zk.Deliver(); });
    std::this_thread::sleep_for(milliseconds(5));
  }
  loop.Stop();
  EXPECT_TRUE(ready_seen) << "the candidate joined";
  EXPECT_GT(steps.load(), 1);
  EXPECT_EQ(unpublished.load(), 0) << "of " << steps.load() << " steps";
}

// Found by CI (UnixSocketTest.SecondDaemonOnTheSamePathExitsOneAndTheFirst-
// KeepsItsSocket under TSan): the daemon serves HTTP before it starts the
// loop, and until the loop's first iteration its heartbeat was 0, so a
// /healthz in that window answered 503, "wedged", to a daemon just started.
TEST(ElectionLoopTest, ResponsiveFromConstructionAndWedgedOnlyAfterSilence) {
  testing::SimulatedClock clock;
  StateBoard board(Snapshot{}, &clock);
  ElectionLoop loop(clock, board);
  EXPECT_TRUE(loop.IsResponsive()) << "a loop not started yet is starting, not wedged";
  clock.Advance(std::chrono::seconds(6));
  EXPECT_FALSE(loop.IsResponsive()) << "never started for 6 s: wedged";
}

}  // namespace
}  // namespace zkelect
