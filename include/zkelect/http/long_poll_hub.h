#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "zkelect/common/mutex.h"
#include "zkelect/election/state_board.h"

namespace zkelect {

// Parked long-polls, without a thread each: one thread waits for the
// board's changes and the waits' deadlines, and answers every wait that is
// over in one pass.
//
// Why: a leader change ends up to http.max_waiters waits at once (1000 and
// more). With a thread parked per wait, each one woke, took the board's lock
// in turn and wrote its own answer: a thousand wake-ups and context switches
// on the daemon's cores before the last client heard. Here the answers go
// out back to back from one thread (the view is rendered once, see
// AnswerCache), and what each connection does next is left to the server.
//
// Thread-safe.
class LongPollHub {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  // Answers one wait with the view it ends with. Runs once, on the hub's
  // thread (or on Park()'s caller after Stop()); must not call the hub.
  using Answer = std::function<void(const StateBoard::View& view)>;
  // Names one parked wait, for Cancel(). Never 0.
  using Ticket = uint64_t;

  // `board` must outlive the hub.
  explicit LongPollHub(const StateBoard& board);
  LongPollHub(const LongPollHub&) = delete;
  LongPollHub& operator=(const LongPollHub&) = delete;
  // Calls Stop().
  ~LongPollHub();

  // Starts the hub's thread. Call once.
  void Start() EXCLUDES(mu_);

  // Waits, like StateBoard::WaitForChange(), until `topic` changes under an
  // index past `after`, `deadline` passes or the board closes; then
  // `answer` runs with the view of that moment. Returns the wait's ticket
  // (after Stop(), the wait was answered already).
  Ticket Park(StateBoard::Topic topic, uint64_t after, TimePoint deadline, Answer answer)
      EXCLUDES(mu_);

  // Ends the wait of `ticket` without an answer, if it is still parked: its
  // `answer` is destroyed, unrun, on the caller's thread (for a client that
  // went away). A wait answered already, or an unknown ticket: nothing.
  void Cancel(Ticket ticket) EXCLUDES(mu_);

  // Answers every parked wait with the current view and joins the thread;
  // later waits are answered at once, on the caller's thread. Idempotent;
  // Start() and Stop() are for the owning thread.
  void Stop() EXCLUDES(mu_);

  // Waits parked now.
  size_t parked() const EXCLUDES(mu_);

 private:
  struct Wait {
    Ticket ticket;
    StateBoard::Topic topic;
    uint64_t after;
    TimePoint deadline;
    Answer answer;
  };

  void Run() EXCLUDES(mu_);
  // Answers `waits` with the current view; logs what an answer throws
  // instead of letting it end the hub's thread.
  void AnswerAll(std::vector<Wait>& waits) const;
  // Takes out of `parked_` the waits that are over: for `changes`, at `now`,
  // or all of them once stopping.
  std::vector<Wait> TakeFinished(const StateBoard::Changes& changes, TimePoint now) REQUIRES(mu_);

  const StateBoard& board_;

  mutable Mutex mu_;
  std::condition_variable wake_;
  std::vector<Wait> parked_ GUARDED_BY(mu_);
  bool changed_ GUARDED_BY(mu_) = false;  // the board moved, or a wait needs a look
  bool stopping_ GUARDED_BY(mu_) = false;
  Ticket last_ticket_ GUARDED_BY(mu_) = 0;
  StateBoard::Changes seen_ GUARDED_BY(mu_);                  // what the thread last acted on
  TimePoint sleep_until_ GUARDED_BY(mu_) = TimePoint::max();  // the thread's next deadline
  // Owned by the owning thread (Start/Stop).
  std::thread thread_;
};

}  // namespace zkelect
