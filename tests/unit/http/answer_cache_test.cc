#include "zkelect/http/answer_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace zkelect {
namespace {

StateBoard::View ViewOf(const std::string& id, uint64_t index) {
  Snapshot snapshot;
  snapshot.id = id;
  return StateBoard::View{std::make_shared<const Snapshot>(std::move(snapshot)), index};
}

// Renders "<prefix> <id> <index>" and counts its calls.
class CountingRender {
 public:
  explicit CountingRender(std::string prefix) : prefix_(std::move(prefix)) {}
  AnswerCache::Render Get() {
    return [this](const StateBoard::View& view) {
      ++calls;
      return AnswerCache::Answer{
          200, prefix_ + " " + view.snapshot->id + " " + std::to_string(view.index)};
    };
  }
  std::atomic<int> calls{0};

 private:
  const std::string prefix_;
};

TEST(AnswerCacheTest, RendersAViewOnceAndSharesIt) {
  CountingRender render("leader");
  AnswerCache cache(render.Get());
  const StateBoard::View view = ViewOf("a", 3);
  const std::shared_ptr<const AnswerCache::Answer> first = cache.Get(view);
  const std::shared_ptr<const AnswerCache::Answer> second = cache.Get(view);
  EXPECT_EQ(first->body, "leader a 3");
  EXPECT_EQ(first, second);
  EXPECT_EQ(render.calls, 1);
}

TEST(AnswerCacheTest, AnswersTheNewViewAfterAnIndexChange) {
  CountingRender render("leader");
  AnswerCache cache(render.Get());
  const StateBoard::View old_view = ViewOf("a", 3);
  EXPECT_EQ(cache.Get(old_view)->body, "leader a 3");
  EXPECT_EQ(cache.Get(ViewOf("b", 4))->body, "leader b 4");
  // A thread still serving the older view gets its own answer, and the cache
  // keeps the newer one.
  EXPECT_EQ(cache.Get(old_view)->body, "leader a 3");
  const int calls = render.calls;
  EXPECT_EQ(cache.Get(ViewOf("c", 4))->body, "leader c 4");  // another snapshot, same index
  EXPECT_EQ(render.calls, calls + 1);
}

// Past the leader lease, the board shows a fenced copy of the snapshot under
// the same index: it must not get the cached answer of the unfenced one.
TEST(AnswerCacheTest, AnotherSnapshotUnderTheSameIndexIsRenderedAnew) {
  CountingRender render("is-leader");
  AnswerCache cache(render.Get());
  EXPECT_EQ(cache.Get(ViewOf("leading", 7))->body, "is-leader leading 7");
  EXPECT_EQ(cache.Get(ViewOf("fenced", 7))->body, "is-leader fenced 7");
}

TEST(AnswerCacheTest, TwoEndpointsNeverShareABody) {
  CountingRender leader_render("leader");
  CountingRender role_render("is-leader");
  AnswerCache leader(leader_render.Get());
  AnswerCache is_leader(role_render.Get());
  const StateBoard::View view = ViewOf("a", 2);
  EXPECT_EQ(leader.Get(view)->body, "leader a 2");
  EXPECT_EQ(is_leader.Get(view)->body, "is-leader a 2");
  EXPECT_EQ(leader.Get(view)->body, "leader a 2");
}

TEST(AnswerCacheTest, ManyThreadsOnOneViewRenderItOnce) {
  CountingRender render("leader");
  AnswerCache cache(render.Get());
  const StateBoard::View view = ViewOf("a", 9);
  std::vector<std::thread> threads;
  std::vector<std::string> bodies(16);
  for (size_t i = 0; i < bodies.size(); ++i) {
    threads.emplace_back([&, i] { bodies[i] = cache.Get(view)->body; });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::string& body : bodies) EXPECT_EQ(body, "leader a 9");
  EXPECT_EQ(render.calls, 1);
}

}  // namespace
}  // namespace zkelect
