#include "zkelect/election/election_loop.h"

#include <algorithm>
#include <utility>

#include "zkelect/election/recipe.h"
#include "zkelect/election/state_board.h"

namespace zkelect {
namespace {
// The loop wakes at least this often, so /healthz sees a heartbeat even when
// nothing happens.
constexpr std::chrono::milliseconds kMaxSleep{1000};
// Longer than this without an iteration and the loop counts as wedged.
constexpr std::chrono::seconds kWedgedAfter{5};
}  // namespace

// Responsive from the start: the daemon serves /healthz before it starts
// the loop, and a heartbeat of 0 made the first probes answer 503 (CI's
// UnixSocketTest under TSan).
ElectionLoop::ElectionLoop(const Clock& clock, StateBoard& board)
    : clock_(clock), board_(board), heartbeat_ns_(clock.Now().time_since_epoch().count()) {}

ElectionLoop::~ElectionLoop() { Stop(); }

void ElectionLoop::SetSnapshotDecorator(std::function<void(Snapshot*)> decorate) {
  decorate_ = std::move(decorate);
}

void ElectionLoop::SetAfterStep(std::function<void(const Snapshot&)> after_step) {
  after_step_ = std::move(after_step);
}

void ElectionLoop::Start(Recipe& recipe) {
  recipe_ = &recipe;
  heartbeat_ns_ = clock_.Now().time_since_epoch().count();
  Post([this] { recipe_->Start(); });
  thread_ = std::thread([this] { Run(); });
}

void ElectionLoop::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    tasks_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ElectionLoop::Post(std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    if (stopping_) return;
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void ElectionLoop::Resign(std::chrono::milliseconds hold, std::function<void(ResignOutcome)> done) {
  Post([this, hold, done = std::move(done)] { recipe_->Resign(hold, done); });
}

void ElectionLoop::SetMaintenance(bool on, std::function<void(ResignOutcome)> done) {
  Post([this, on, since = clock_.WallNow(), done = std::move(done)] {
    recipe_->SetMaintenance(on, since, done);
  });
}

void ElectionLoop::Shutdown(std::function<void()> done) {
  Post([this, done = std::move(done)] { recipe_->Shutdown(done); });
}

void ElectionLoop::ReadNodeData(
    std::vector<std::string> nodes,
    std::function<void(const std::string& node, std::optional<std::string> data)> done) {
  Post([this, nodes = std::move(nodes), done = std::move(done)] {
    recipe_->ReadNodeData(nodes, done);
  });
}

bool ElectionLoop::IsResponsive() const {
  const auto last = Clock::TimePoint(Clock::Duration(heartbeat_ns_.load()));
  return clock_.Now() - last < kWedgedAfter;
}

void ElectionLoop::Run() {
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(&mu_);
      if (tasks_.empty() && !stopping_) {
        const auto until_timer = recipe_->NextWakeup() - clock_.Now();
        const auto sleep = std::clamp<Clock::Duration>(until_timer, Clock::Duration(0), kMaxSleep);
        if (sleep > Clock::Duration(0)) {
          lock.WaitUntil(wake_, std::chrono::steady_clock::now() + sleep);
        }
      }
      if (stopping_) return;
      if (!tasks_.empty()) {
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
    }
    heartbeat_ns_ = clock_.Now().time_since_epoch().count();
    // Deadlines first: after a pause (SIGSTOP, VM freeze) the self-fencing
    // check runs before any event that queued up meanwhile (rule 7).
    recipe_->OnWake();
    if (task) task();
    Snapshot snapshot = recipe_->MakeSnapshot();
    if (decorate_) decorate_(&snapshot);
    // Publish first: whoever after_step_ tells (systemd's READY=1) may ask
    // the HTTP API at once and must find this snapshot there.
    board_.Publish(snapshot, recipe_->LeaseExpiry());
    if (after_step_) after_step_(snapshot);
  }
}

}  // namespace zkelect
