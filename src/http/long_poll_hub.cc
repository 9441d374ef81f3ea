#include "zkelect/http/long_poll_hub.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <utility>

namespace zkelect {

LongPollHub::LongPollHub(const StateBoard& board) : board_(board) {}

LongPollHub::~LongPollHub() { Stop(); }

void LongPollHub::Start() {
  // Under the board's lock: only note the change here, the hub's thread
  // reads the board itself. With nothing parked there is nobody to answer,
  // so the thread sleeps on; the next Park() finds the change noted and
  // wakes it.
  board_.SetChangeListener([this] {
    bool wake = false;
    {
      MutexLock lock(&mu_);
      changed_ = true;
      wake = !parked_.empty();
    }
    if (wake) wake_.notify_one();
  });
  thread_ = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "zkelect-polls");
    Run();
  });
}

LongPollHub::Ticket LongPollHub::Park(StateBoard::Topic topic, uint64_t after, TimePoint deadline,
                                      Answer answer) {
  bool parked = false;
  bool wake = false;
  Ticket ticket = 0;
  {
    MutexLock lock(&mu_);
    ticket = ++last_ticket_;
    if (!stopping_) {
      // The thread must look again when this wait may be over already (a
      // change it has not acted on yet, or one it has seen since the caller
      // read the board, when this wait was not here yet) or ends before the
      // thread would wake.
      wake = changed_ || seen_.Past(after, topic) || deadline < sleep_until_;
      parked_.push_back(Wait{ticket, topic, after, deadline, std::move(answer)});
      parked = true;
      if (wake) changed_ = true;
    }
  }
  if (!parked) {
    answer(board_.Current());  // stopped: nothing waits any more
  } else if (wake) {
    wake_.notify_one();
  }
  return ticket;
}

void LongPollHub::Cancel(Ticket ticket) {
  std::optional<Wait> cancelled;  // destroyed after the lock is released
  {
    MutexLock lock(&mu_);
    const auto it = std::find_if(parked_.begin(), parked_.end(),
                                 [ticket](const Wait& wait) { return wait.ticket == ticket; });
    if (it == parked_.end()) return;
    cancelled = std::move(*it);
    parked_.erase(it);
  }
  // The thread may now sleep until a deadline that is gone: a spurious
  // wake-up, no harm.
}

void LongPollHub::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  board_.SetChangeListener({});
  // Waits parked before Start() (or without it) have had no thread.
  std::vector<Wait> left;
  {
    MutexLock lock(&mu_);
    left.swap(parked_);
  }
  AnswerAll(left);
}

size_t LongPollHub::parked() const {
  MutexLock lock(&mu_);
  return parked_.size();
}

void LongPollHub::Run() {
  for (;;) {
    {
      MutexLock lock(&mu_);
      while (!changed_ && !stopping_) {
        sleep_until_ = TimePoint::max();
        for (const Wait& wait : parked_) sleep_until_ = std::min(sleep_until_, wait.deadline);
        if (sleep_until_ == TimePoint::max()) {
          lock.Wait(wake_);
        } else if (lock.WaitUntil(wake_, sleep_until_) == std::cv_status::timeout) {
          break;
        }
      }
      // Cleared before the board is read: a change published from here on
      // sets it again and gets another pass.
      changed_ = false;
    }
    const StateBoard::Changes changes = board_.LastChanges();
    std::vector<Wait> finished;
    bool stopping = false;
    {
      MutexLock lock(&mu_);
      finished = TakeFinished(changes, std::chrono::steady_clock::now());
      seen_ = changes;
      stopping = stopping_;
    }
    AnswerAll(finished);
    if (stopping) return;
  }
}

void LongPollHub::AnswerAll(std::vector<Wait>& waits) const {
  if (waits.empty()) return;
  const StateBoard::View view = board_.Current();
  for (Wait& wait : waits) {
    // One answer that fails (out of memory) must not keep the others, or
    // the daemon: its wait is dropped, and with it what it held (a pending
    // HTTP answer closes its connection).
    try {
      wait.answer(view);
    } catch (const std::exception& e) {
      spdlog::error("HTTP: answering a long-poll failed: {}", e.what());
    }
  }
}

std::vector<LongPollHub::Wait> LongPollHub::TakeFinished(const StateBoard::Changes& changes,
                                                         TimePoint now) {
  std::vector<Wait> finished;
  if (stopping_) {
    finished.swap(parked_);
    return finished;
  }
  const auto keep = std::stable_partition(parked_.begin(), parked_.end(), [&](const Wait& wait) {
    return !changes.Past(wait.after, wait.topic) && wait.deadline > now;
  });
  finished.assign(std::make_move_iterator(keep), std::make_move_iterator(parked_.end()));
  parked_.erase(keep, parked_.end());
  return finished;
}

}  // namespace zkelect
