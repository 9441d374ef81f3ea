#pragma once

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>

#include "zkelect/common/mutex.h"

namespace zkelect {

// Runs tasks on threads made on demand, for the HTTP server's connections.
// A task starts at once on an idle thread, or on a new one while fewer than
// `max_threads` exist; beyond that it waits, first in first out. A thread
// idle for `idle_timeout` exits, so an idle daemon holds no such thread.
//
// Why not a fixed pool: a connection holds its thread while it waits for its
// next request (ConnectionServer serves a connection per task, until it
// closes or parks a long-poll), so a fixed pool lets a few idle connections
// starve /healthz. Here an idle connection costs one parked thread on a
// small stack, and new connections still find a thread.
//
// Stacks are `stack_bytes` (at least 2 MiB under sanitizers), mapped and
// unmapped by the pool itself: glibc
// would keep the stacks of exited threads cached (up to 40 MiB), their
// touched pages resident, long after a burst of connections is gone.
//
// Thread-safe. Tasks must not call Shutdown().
class ElasticThreadPool {
 public:
  struct Options {
    size_t max_threads = 64;
    size_t stack_bytes = 256 * 1024;
    std::chrono::milliseconds idle_timeout{10'000};
  };

  explicit ElasticThreadPool(Options options);
  ElasticThreadPool(const ElasticThreadPool&) = delete;
  ElasticThreadPool& operator=(const ElasticThreadPool&) = delete;
  // Calls Shutdown().
  ~ElasticThreadPool();

  // Runs `task` on a pool thread, now or once one is free. If the system
  // refuses to make a thread and the pool has none, runs it on the caller's
  // thread rather than losing it. Must not be called after Shutdown().
  void Submit(std::function<void()> task) EXCLUDES(mu_);

  // Runs every task already submitted to its end, then joins every thread
  // and unmaps every stack. Idempotent.
  void Shutdown() EXCLUDES(mu_);

  // Threads alive now, busy or idle, and the idle ones (for tests and
  // metrics).
  size_t threads() const EXCLUDES(mu_);
  size_t idle_threads() const EXCLUDES(mu_);

 private:
  struct Worker;
  static void* WorkerMain(void* arg);
  // The loop of one worker: runs tasks until idle too long or shut down.
  void Work() EXCLUDES(mu_);
  // Waits for the next task; empty once the thread should exit.
  std::function<void()> NextTask() EXCLUDES(mu_);
  // Starts one more worker; false when the system refuses.
  bool Spawn() REQUIRES(mu_);
  // Joins `worker` (which has left Work()) and frees its stack.
  static void Reap(Worker* worker);

  // Constant after construction.
  const Options options_;

  mutable Mutex mu_;
  std::condition_variable work_;     // a task is queued, or shutdown
  std::condition_variable drained_;  // the last thread left
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mu_);
  size_t threads_ GUARDED_BY(mu_) = 0;
  size_t idle_ GUARDED_BY(mu_) = 0;
  bool shutdown_ GUARDED_BY(mu_) = false;
  // A thread that has left Work() and waits to be joined: each exiting
  // thread reaps the one before it, Shutdown() the last.
  Worker* exited_ GUARDED_BY(mu_) = nullptr;
};

}  // namespace zkelect
