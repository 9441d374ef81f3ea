#pragma once

#include <functional>

namespace zkelect {

// Somewhere to send work that must run on another thread (the election loop).
// Post() is thread-safe, never blocks for long and never runs the task
// inline; tasks run in the order they were posted. Tasks posted after the
// receiver stopped are dropped.
class TaskPoster {
 public:
  virtual ~TaskPoster() = default;
  virtual void Post(std::function<void()> task) = 0;
};

}  // namespace zkelect
