#include "sim/event_queue.h"

#include <utility>

namespace zkelect::sim {

void EventQueue::At(TimePoint when, std::function<void()> event) {
  if (when < clock_.Now()) when = clock_.Now();
  size_t slot;
  if (free_slots_.empty()) {
    slot = events_.size();
    events_.push_back(std::move(event));
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
    events_[slot] = std::move(event);
  }
  heap_.push(Entry{when, next_seq_++, slot});
}

bool EventQueue::RunNext() {
  if (heap_.empty()) return false;
  const Entry entry = heap_.top();
  heap_.pop();
  clock_.Set(entry.when);
  std::function<void()> event = std::move(events_[entry.slot]);
  events_[entry.slot] = nullptr;
  free_slots_.push_back(entry.slot);
  ++executed_;
  event();
  return true;
}

}  // namespace zkelect::sim
