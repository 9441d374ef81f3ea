#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "zkelect/common/mutex.h"
#include "zkelect/election/state_board.h"

namespace zkelect {

// One endpoint's answer (status and JSON body) for the latest board view,
// rendered once and shared by every request that serves that view: a leader
// change answers hundreds of parked long-polls with the same view, and each
// would otherwise build the same JSON.
//
// A view is its snapshot (by identity: a fenced copy past the leader lease is
// another snapshot under the same index) and its index. Only the latest view
// is kept; a request for an older one (a thread that was slow to run) renders
// its own answer and leaves the cache alone.
//
// Thread-safe.
class AnswerCache {
 public:
  struct Answer {
    int status = 200;
    std::string body;
  };
  // Must depend on the view only (not on the time or on counters), and must
  // not call back into this cache.
  using Render = std::function<Answer(const StateBoard::View&)>;

  explicit AnswerCache(Render render);
  AnswerCache(const AnswerCache&) = delete;
  AnswerCache& operator=(const AnswerCache&) = delete;

  // The answer for `view`, rendered now if the cache holds another view.
  std::shared_ptr<const Answer> Get(const StateBoard::View& view) EXCLUDES(mu_);

 private:
  // Constant after construction.
  const Render render_;

  Mutex mu_;
  // Held, not only compared, so that its address cannot be reused by a newer
  // snapshot while it is the key.
  std::shared_ptr<const Snapshot> snapshot_ GUARDED_BY(mu_);
  uint64_t index_ GUARDED_BY(mu_) = 0;
  std::shared_ptr<const Answer> answer_ GUARDED_BY(mu_);
};

}  // namespace zkelect
