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

// Mirrors what api_json.h's LeaderBody() and IsLeaderBody() read, so that
// a waiter on a topic wakes for every change of its answer (besides the
// index), and only then.
bool StateBoard::Changed(Topic topic, const Snapshot& before, const Snapshot& after) {
  switch (topic) {
    case Topic::kAny:
      return true;
    case Topic::kLeader:
      return before.leader != after.leader || before.no_leader_reason != after.no_leader_reason ||
             (before.role == Role::kLeader) != (after.role == Role::kLeader) ||
             before.own_node != after.own_node;
    case Topic::kRole:
      return before.role != after.role;
  }
  return true;
}

bool StateBoard::Publish(Snapshot next, std::optional<Clock::TimePoint> lease) {
  std::array<bool, kTopics> changed{};
  {
    MutexLock lock(&mu_);
    lease_ = lease;
    if (*snapshot_ == next) return false;
    ++index_;
    for (size_t topic = 0; topic < kTopics; ++topic) {
      changed[topic] = Changed(static_cast<Topic>(topic), *snapshot_, next);
      if (changed[topic]) changed_at_[topic] = index_;
    }
    snapshot_ = std::make_shared<const Snapshot>(std::move(next));
    fenced_.reset();
    if (listener_) listener_();
  }
  for (size_t topic = 0; topic < kTopics; ++topic) {
    if (changed[topic]) changed_[topic].notify_all();
  }
  return true;
}

StateBoard::View StateBoard::WaitForChange(uint64_t after,
                                           std::chrono::steady_clock::time_point deadline,
                                           Topic topic) const {
  const auto t = static_cast<size_t>(topic);
  MutexLock lock(&mu_);
  while (changed_at_[t] <= after && !closed_) {
    if (lock.WaitUntil(changed_[t], deadline) == std::cv_status::timeout) break;
  }
  return Visible();
}

void StateBoard::Close() {
  {
    MutexLock lock(&mu_);
    closed_ = true;
    if (listener_) listener_();
  }
  for (std::condition_variable& changed : changed_) changed.notify_all();
}

StateBoard::Changes StateBoard::LastChanges() const {
  MutexLock lock(&mu_);
  return Changes{changed_at_, closed_};
}

void StateBoard::SetChangeListener(std::function<void()> listener) const {
  MutexLock lock(&mu_);
  listener_ = std::move(listener);
}

}  // namespace zkelect
