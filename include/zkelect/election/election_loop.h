#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <thread>

#include "zkelect/common/clock.h"
#include "zkelect/common/mutex.h"
#include "zkelect/common/task_poster.h"
#include "zkelect/election/election_control.h"

namespace zkelect {

class Recipe;
class StateBoard;
struct Snapshot;

// The one thread that owns the election state (design §2). Everything else
// (ZooKeeper completions, HTTP handlers, signals) posts tasks here; the loop
// runs them one at a time against the Recipe, wakes for the recipe's timers,
// and publishes a fresh Snapshot to the StateBoard after every step.
//
// Thread-safe: Post(), Resign(), SetMaintenance(), IsResponsive(), Shutdown() and Stop() may be
// called from any thread.
class ElectionLoop final : public TaskPoster, public ElectionControl {
 public:
  // `clock` and `board` must outlive the loop.
  ElectionLoop(const Clock& clock, StateBoard& board);
  ~ElectionLoop() override;  // Stop()s
  ElectionLoop(const ElectionLoop&) = delete;
  ElectionLoop& operator=(const ElectionLoop&) = delete;

  // Adds state the recipe does not own (hooks) to every published snapshot.
  // Runs on the loop thread. Set before Start().
  void SetSnapshotDecorator(std::function<void(Snapshot*)> decorate);

  // Runs on the loop thread after every step with the snapshot just
  // published (e.g. to tell systemd about readiness and to ping its watchdog:
  // a wedged loop stops pinging). Set before Start().
  void SetAfterStep(std::function<void(const Snapshot&)> after_step);

  // Starts the thread, which starts `recipe`. `recipe` must outlive Stop().
  void Start(Recipe& recipe);

  // Asks the recipe to leave the election; `done` runs on the loop thread
  // once the node is deleted and the session closed.
  void Shutdown(std::function<void()> done);

  // Ends the thread after the task running now; queued tasks are dropped and
  // later posts ignored. Idempotent. Not from the loop thread itself.
  void Stop();

  // TaskPoster:
  void Post(std::function<void()> task) override;

  // ElectionControl:
  void Resign(std::chrono::milliseconds hold, std::function<void(ResignOutcome)> done) override;
  // Not persisted here (see MaintenanceControl); `since` is the clock's now.
  void SetMaintenance(bool on, std::function<void(ResignOutcome)> done) override;
  void ReadNodeData(std::vector<std::string> nodes,
                    std::function<void(const std::string& node, std::optional<std::string> data)>
                        done) override;
  bool IsResponsive() const override;

 private:
  void Run();

  // Constant after construction.
  const Clock& clock_;
  StateBoard& board_;

  Mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;

  // Set before Start(), read by the loop thread.
  Recipe* recipe_ = nullptr;
  std::function<void(Snapshot*)> decorate_;
  std::function<void(const Snapshot&)> after_step_;
  std::thread thread_;
  // BootClock nanoseconds of the loop's latest iteration, or of its
  // construction before the first one (liveness).
  std::atomic<int64_t> heartbeat_ns_{0};
};

}  // namespace zkelect
