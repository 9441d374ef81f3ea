#include "zkelect/http/elastic_thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "support/http_probe.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::WaitUntil;

ElasticThreadPool::Options SmallPool(size_t max_threads, milliseconds idle = seconds(10)) {
  ElasticThreadPool::Options options;
  options.max_threads = max_threads;
  options.idle_timeout = idle;
  return options;
}

TEST(ElasticThreadPoolTest, StartsNoThreadUntilATaskComes) {
  ElasticThreadPool pool(SmallPool(4));
  EXPECT_EQ(pool.threads(), 0u);
}

TEST(ElasticThreadPoolTest, BlockedTasksDoNotHoldBackNewOnes) {
  ElasticThreadPool pool(SmallPool(64));
  std::promise<void> release;
  const std::shared_future<void> released = release.get_future().share();
  std::atomic<int> running{0};
  for (int i = 0; i < 50; ++i) {
    pool.Submit([&running, released] {
      ++running;
      released.wait();
    });
  }
  // A fixed pool of fewer threads would run some of these only after others end.
  EXPECT_TRUE(WaitUntil([&] { return running.load() == 50; }, seconds(10)));
  EXPECT_EQ(pool.threads(), 50u);
  release.set_value();
  pool.Shutdown();
  EXPECT_EQ(pool.threads(), 0u);
}

TEST(ElasticThreadPoolTest, BeyondMaxThreadsTasksWaitTheirTurn) {
  ElasticThreadPool pool(SmallPool(2));
  std::promise<void> release;
  const std::shared_future<void> released = release.get_future().share();
  std::atomic<int> started{0};
  for (int i = 0; i < 3; ++i) {
    pool.Submit([&started, released] {
      ++started;
      released.wait();
    });
  }
  ASSERT_TRUE(WaitUntil([&] { return started.load() == 2; }, seconds(10)));
  std::this_thread::sleep_for(milliseconds(50));  // the third must not start meanwhile
  EXPECT_EQ(started.load(), 2);
  EXPECT_EQ(pool.threads(), 2u);
  release.set_value();
  EXPECT_TRUE(WaitUntil([&] { return started.load() == 3; }, seconds(10)));
}

TEST(ElasticThreadPoolTest, AnIdleThreadIsReused) {
  ElasticThreadPool pool(SmallPool(8));
  for (int i = 0; i < 20; ++i) {
    std::promise<std::thread::id> ran;
    pool.Submit([&ran] { ran.set_value(std::this_thread::get_id()); });
    ran.get_future().wait();
    ASSERT_TRUE(WaitUntil([&] { return pool.idle_threads() == 1; }, seconds(10), milliseconds(1)));
  }
  EXPECT_EQ(pool.threads(), 1u);
}

TEST(ElasticThreadPoolTest, IdleThreadsExit) {
  ElasticThreadPool pool(SmallPool(8, milliseconds(50)));
  std::atomic<int> done{0};
  for (int i = 0; i < 5; ++i) pool.Submit([&done] { ++done; });
  ASSERT_TRUE(WaitUntil([&] { return done.load() == 5; }, seconds(10)));
  EXPECT_TRUE(WaitUntil([&] { return pool.threads() == 0; }, seconds(10)));
  // And the pool still serves after its threads are gone.
  std::promise<void> ran;
  pool.Submit([&ran] { ran.set_value(); });
  EXPECT_EQ(ran.get_future().wait_for(seconds(10)), std::future_status::ready);
}

TEST(ElasticThreadPoolTest, ShutdownRunsEveryQueuedTask) {
  std::atomic<int> done{0};
  {
    ElasticThreadPool pool(SmallPool(1));
    for (int i = 0; i < 10; ++i) {
      pool.Submit([&done] {
        std::this_thread::sleep_for(milliseconds(1));
        ++done;
      });
    }
    pool.Shutdown();
    EXPECT_EQ(done.load(), 10);
    pool.Shutdown();  // idempotent
  }
  EXPECT_EQ(done.load(), 10);
}

TEST(ElasticThreadPoolTest, TasksRunOnTheSmallStackTheyWereGiven) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "under sanitizers stacks are at least 2 MiB";
#endif
  ElasticThreadPool::Options options = SmallPool(1);
  options.stack_bytes = 128 * 1024;
  ElasticThreadPool pool(options);
  std::promise<size_t> size;
  pool.Submit([&size] {
    pthread_attr_t attr;
    size_t bytes = 0;
    pthread_getattr_np(pthread_self(), &attr);
    pthread_attr_getstacksize(&attr, &bytes);
    pthread_attr_destroy(&attr);
    size.set_value(bytes);
  });
  EXPECT_EQ(size.get_future().get(), 128u * 1024);
}

}  // namespace
}  // namespace zkelect
