#include "zkelect/election/state_board.h"

#include <utility>

namespace zkelect {

StateBoard::StateBoard(Snapshot initial)
    : snapshot_(std::make_shared<const Snapshot>(std::move(initial))) {}

StateBoard::View StateBoard::Current() const {
  MutexLock lock(&mu_);
  return View{snapshot_, index_};
}

bool StateBoard::Publish(Snapshot next) {
  {
    MutexLock lock(&mu_);
    if (*snapshot_ == next) return false;
    snapshot_ = std::make_shared<const Snapshot>(std::move(next));
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
  return View{snapshot_, index_};
}

void StateBoard::Close() {
  {
    MutexLock lock(&mu_);
    closed_ = true;
  }
  changed_.notify_all();
}

}  // namespace zkelect
