#include "zkelect/http/answer_cache.h"

#include <utility>

namespace zkelect {

AnswerCache::AnswerCache(Render render) : render_(std::move(render)) {}

std::shared_ptr<const AnswerCache::Answer> AnswerCache::Get(const StateBoard::View& view) {
  MutexLock lock(&mu_);
  if (answer_ != nullptr && snapshot_ == view.snapshot && index_ == view.index) return answer_;
  // An older view than the one held: do not go back.
  if (answer_ != nullptr && view.index < index_) {
    return std::make_shared<const Answer>(render_(view));
  }
  // Rendered under the lock: the waiters woken with this view would all
  // render it at once otherwise. One render is microseconds.
  answer_ = std::make_shared<const Answer>(render_(view));
  snapshot_ = view.snapshot;
  index_ = view.index;
  return answer_;
}

}  // namespace zkelect
