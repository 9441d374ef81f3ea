#include "zkelect/election/state_board.h"

#include <utility>

namespace zkelect {
namespace {
const SystemClock kSystemClock;
}  // namespace

StateBoard::StateBoard(Snapshot initial, const Clock* clock)
    : clock_(clock != nullptr ? *clock : kSystemClock),
      snapshot_(std::make_shared<const Snapshot>(std::move(initial))) {}

StateBoard::View StateBoard::Visible() const {
  if (snapshot_->role != Role::kLeader || !lease_ || clock_.Now() <= *lease_) {
    return View{snapshot_, index_};
  }
  if (!fenced_) {
    Snapshot fenced = *snapshot_;
    fenced.role = Role::kDisconnected;
    fenced.leader.reset();
    fenced.no_leader_reason = "disconnected";
    fenced.ready = false;
    fenced_ = std::make_shared<const Snapshot>(std::move(fenced));
  }
  return View{fenced_, index_};
}

StateBoard::View StateBoard::Current() const {
  MutexLock lock(&mu_);
  return Visible();
}

bool StateBoard::Publish(Snapshot next, std::optional<Clock::TimePoint> lease) {
  {
    MutexLock lock(&mu_);
    lease_ = lease;
    if (*snapshot_ == next) return false;
    snapshot_ = std::make_shared<const Snapshot>(std::move(next));
    fenced_.reset();
    ++index_;
  }
  changed_.notify_all();
  return true;
}

StateBoard::View StateBoard::WaitForChange(uint64_t after,
                                           std::chrono::steady_clock::time_point deadline) const {
  MutexLock lock(&mu_);
  while (index_ <= after && !closed_) {
    if (lock.WaitUntil(changed_, deadline) == std::cv_status::timeout) break;
  }
  return Visible();
}

void StateBoard::Close() {
  {
    MutexLock lock(&mu_);
    closed_ = true;
  }
  changed_.notify_all();
}

}  // namespace zkelect
