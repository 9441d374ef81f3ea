#include "zkelect/http/elastic_thread_pool.h"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

namespace zkelect {
namespace {

// Sanitizers make frames several times larger, and TSan needs room of its
// own on a stack it did not allocate (it refuses less than ~1 MiB).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr size_t kMinStackBytes = 2 * 1024 * 1024;
#else
constexpr size_t kMinStackBytes = 64 * 1024;
#endif

}  // namespace

struct ElasticThreadPool::Worker {
  ElasticThreadPool* pool = nullptr;
  pthread_t thread{};
  void* mapping = nullptr;  // guard page, then the stack
  size_t mapping_bytes = 0;
};

ElasticThreadPool::ElasticThreadPool(Options options) : options_(options) {}

ElasticThreadPool::~ElasticThreadPool() { Shutdown(); }

void ElasticThreadPool::Submit(std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    if (shutdown_) {
      spdlog::critical("ElasticThreadPool::Submit() after Shutdown()");
      std::abort();
    }
    tasks_.push_back(std::move(task));
    if (tasks_.size() <= idle_) {
      work_.notify_one();
      return;
    }
    if (threads_ < options_.max_threads && Spawn()) return;
    if (threads_ > 0) return;  // a busy thread takes it when done
    task = std::move(tasks_.back());
    tasks_.pop_back();
  }
  task();
}

void ElasticThreadPool::Shutdown() {
  Worker* last = nullptr;
  {
    MutexLock lock(&mu_);
    shutdown_ = true;
    work_.notify_all();
    while (threads_ > 0) lock.Wait(drained_);
    last = std::exchange(exited_, nullptr);
  }
  if (last != nullptr) Reap(last);
}

size_t ElasticThreadPool::threads() const {
  MutexLock lock(&mu_);
  return threads_;
}

size_t ElasticThreadPool::idle_threads() const {
  MutexLock lock(&mu_);
  return idle_;
}

bool ElasticThreadPool::Spawn() {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t stack_bytes = std::max(options_.stack_bytes, kMinStackBytes);
  auto worker = std::make_unique<Worker>();
  worker->pool = this;
  worker->mapping_bytes = stack_bytes + page;
  void* mapping = ::mmap(nullptr, worker->mapping_bytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (mapping == MAP_FAILED) {
    spdlog::warn("HTTP: cannot map a {} KiB thread stack: {}", stack_bytes / 1024,
                 std::strerror(errno));
    return false;
  }
  worker->mapping = mapping;
  // The stack grows down: its lowest page faults instead of overflowing.
  ::mprotect(mapping, page, PROT_NONE);

  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  ::pthread_attr_setstack(&attr, static_cast<char*>(mapping) + page, stack_bytes);
  const int error = ::pthread_create(&worker->thread, &attr, &WorkerMain, worker.get());
  ::pthread_attr_destroy(&attr);
  if (error != 0) {
    spdlog::warn("HTTP: cannot start a thread ({} running): {}", threads_, std::strerror(error));
    ::munmap(mapping, worker->mapping_bytes);
    return false;
  }
  ++threads_;
  worker.release();  // owned by its thread until reaped
  return true;
}

void* ElasticThreadPool::WorkerMain(void* arg) {
  auto* worker = static_cast<Worker*>(arg);
  ::pthread_setname_np(::pthread_self(), "zkelect-http");
  worker->pool->Work();
  // Hand this thread over to be reaped by the next one to exit (or by
  // Shutdown()), and reap the one before: a thread cannot free its own
  // stack.
  ElasticThreadPool& pool = *worker->pool;
  Worker* previous = nullptr;
  bool last = false;
  {
    MutexLock lock(&pool.mu_);
    previous = std::exchange(pool.exited_, worker);
    last = --pool.threads_ == 0;
    if (last) pool.drained_.notify_all();
  }
  if (previous != nullptr) Reap(previous);
  // The burst is over. What its threads allocated was freed into malloc's
  // per-thread arenas, which keep the pages; hand them back to the system.
  if (last) ::malloc_trim(0);
  return nullptr;
}

void ElasticThreadPool::Work() {
  while (std::function<void()> task = NextTask()) task();
}

std::function<void()> ElasticThreadPool::NextTask() {
  MutexLock lock(&mu_);
  const auto idle_deadline = std::chrono::steady_clock::now() + options_.idle_timeout;
  while (tasks_.empty() && !shutdown_) {
    ++idle_;
    const std::cv_status waited = lock.WaitUntil(work_, idle_deadline);
    --idle_;
    if (waited == std::cv_status::timeout && tasks_.empty()) return nullptr;
  }
  if (tasks_.empty()) return nullptr;  // shut down, nothing left to run
  std::function<void()> task = std::move(tasks_.front());
  tasks_.pop_front();
  return task;
}

void ElasticThreadPool::Reap(Worker* worker) {
  ::pthread_join(worker->thread, nullptr);
  ::munmap(worker->mapping, worker->mapping_bytes);
  delete worker;
}

}  // namespace zkelect
