#include "zkelect/election/candidate_id_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "zkelect/election/node_data.h"

namespace zkelect {
namespace {

using State = CandidateId::State;
using std::chrono::steady_clock;

// A reader that records what is asked and answers only when the test says
// so, as the election loop would, later and on another thread.
class RecordingReader {
 public:
  CandidateIdCache::Reader reader() {
    return [this](std::vector<std::string> nodes) {
      std::lock_guard<std::mutex> lock(mu_);
      for (std::string& node : nodes) asked_.push_back(std::move(node));
      ++calls_;
    };
  }
  std::vector<std::string> asked() {
    std::lock_guard<std::mutex> lock(mu_);
    return asked_;
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> asked_;
  int calls_ = 0;
};

std::string DataOf(const std::string& id, const std::string& address = "") {
  return EncodeNodeData(NodeIdentity{id, address, {}});
}

// Never waits.
steady_clock::time_point Now() { return steady_clock::now(); }

// A retry interval longer than any test: what failed stays failed.
constexpr CandidateIdCache::Timing kNoRetry{std::chrono::hours(1), std::chrono::hours(1)};

TEST(CandidateIdCacheTest, ReadsEachNodeOnceAndAnswersLaterRequestsFromTheCache) {
  RecordingReader reads;
  CandidateIdCache cache(reads.reader(), kNoRetry);
  const std::vector<std::string> listing = {"n1", "n2"};
  CandidateIds ids = cache.Lookup(1, listing, true, Now());
  EXPECT_EQ(ids, (CandidateIds{CandidateId{}, CandidateId{}}));  // pending
  EXPECT_EQ(reads.asked(), listing);
  cache.Deliver("n1", DataOf("node-1", "10.0.0.1:80"));
  cache.Deliver("n2", DataOf("node-2"));

  for (int i = 0; i < 3; ++i) {
    ids = cache.Lookup(1 + static_cast<uint64_t>(i), listing, true, Now());
    ASSERT_EQ(ids.size(), 2u);
    EXPECT_EQ(ids[0], (CandidateId{State::kKnown, "node-1", "10.0.0.1:80"}));
    EXPECT_EQ(ids[1], (CandidateId{State::kKnown, "node-2", ""}));
  }
  EXPECT_EQ(reads.calls(), 1) << "hits cost no read";
}

TEST(CandidateIdCacheTest, ANewListingDropsTheNodesThatLeftAndReadsOnlyNewOnes) {
  RecordingReader reads;
  CandidateIdCache cache(reads.reader(), kNoRetry);
  cache.Lookup(1, {"n1", "n2"}, true, Now());
  cache.Deliver("n1", DataOf("node-1"));
  cache.Deliver("n2", DataOf("node-2"));
  const CandidateIds ids = cache.Lookup(2, {"n2", "n3"}, true, Now());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(reads.asked(), (std::vector<std::string>{"n1", "n2", "n3"}));
  EXPECT_EQ(ids[0].id, "node-2");
  EXPECT_EQ(ids[1].state, State::kPending);
  // A late answer for a node that left is not kept.
  cache.Deliver("n1", DataOf("node-1"));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.Lookup(3, {"n2", "n3"}, true, Now())[1].state, State::kPending);
}

// A slower request that rendered an older snapshot must not put its listing
// back: the newer one's nodes would be dropped and read again.
TEST(CandidateIdCacheTest, AnOlderSnapshotsListingNoLongerDropsTheCurrentOnesIds) {
  RecordingReader reads;
  CandidateIdCache cache(reads.reader(), kNoRetry);
  cache.Lookup(5, {"n2", "n3"}, true, Now());
  cache.Deliver("n3", DataOf("node-3"));
  const CandidateIds old = cache.Lookup(4, {"n1", "n2"}, true, Now());
  EXPECT_EQ(old[0].state, State::kPending);  // n1 left already: not read again
  EXPECT_EQ(reads.asked(), (std::vector<std::string>{"n2", "n3"}));
  EXPECT_EQ(cache.Lookup(5, {"n2", "n3"}, true, Now())[1].id, "node-3");
}

// An unreadable node (an ACL that denies us, or gone) must not cost a read,
// nor a wait, on every /status.
TEST(CandidateIdCacheTest, AnUnreadableNodeIsNotReadAgainNorAwaitedOnEveryRequest) {
  RecordingReader reads;
  CandidateIdCache cache(reads.reader(), kNoRetry);
  cache.Lookup(1, {"n1"}, true, Now());
  cache.Deliver("n1", std::nullopt);
  const auto start = steady_clock::now();
  const CandidateIds ids = cache.Lookup(1, {"n1"}, true, steady_clock::now() + std::chrono::hours(1));
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(30)) << "waited for a failed read";
  EXPECT_EQ(ids, (CandidateIds{CandidateId{State::kUnreadable, "", ""}}));
  EXPECT_EQ(reads.calls(), 1);
}

TEST(CandidateIdCacheTest, AFailedReadIsAskedAgainAfterRetryAfter) {
  RecordingReader reads;
  CandidateIdCache cache(reads.reader(), {std::chrono::milliseconds(0), std::chrono::hours(1)});
  cache.Lookup(1, {"n1"}, true, Now());
  cache.Deliver("n1", std::nullopt);
  cache.Lookup(1, {"n1"}, true, Now());
  EXPECT_EQ(reads.calls(), 2);
  cache.Deliver("n1", DataOf("node-1"));
  EXPECT_EQ(cache.Lookup(1, {"n1"}, true, Now())[0].id, "node-1");
}

TEST(CandidateIdCacheTest, AKnownIdIsReadAgainAfterRefreshAfterAndShownMeanwhile) {
  RecordingReader reads;
  CandidateIdCache cache(reads.reader(), {std::chrono::hours(1), std::chrono::milliseconds(0)});
  cache.Lookup(1, {"n1"}, true, Now());
  cache.Deliver("n1", DataOf("node-1", "old:80"));
  EXPECT_EQ(cache.Lookup(1, {"n1"}, true, Now())[0].address, "old:80");  // refresh under way
  EXPECT_EQ(reads.calls(), 2);
  cache.Deliver("n1", DataOf("node-1", "new:80"));
  EXPECT_EQ(cache.Lookup(1, {"n1"}, false, Now())[0].address, "new:80");
}

TEST(CandidateIdCacheTest, WithoutMayReadNothingIsAsked) {
  RecordingReader reads;
  CandidateIdCache cache(reads.reader(), kNoRetry);
  const CandidateIds ids =
      cache.Lookup(1, {"n1"}, false, steady_clock::now() + std::chrono::hours(1));
  EXPECT_EQ(ids[0].state, State::kPending);
  EXPECT_EQ(reads.calls(), 0);
}

TEST(CandidateIdCacheTest, ConcurrentRequestsShareOneReadPerNodeAndWaitForIt) {
  RecordingReader reads;
  CandidateIdCache cache(reads.reader(), kNoRetry);
  const std::vector<std::string> listing = {"n1", "n2", "n3"};
  constexpr int kRequests = 8;
  std::vector<CandidateIds> answers(kRequests);
  std::vector<std::thread> requests;
  for (int i = 0; i < kRequests; ++i) {
    requests.emplace_back([&, i] {
      answers[static_cast<size_t>(i)] =
          cache.Lookup(1, listing, true, steady_clock::now() + std::chrono::seconds(60));
    });
  }
  // Every node asked once, by whichever request came first.
  const auto deadline = steady_clock::now() + std::chrono::seconds(30);
  while (reads.asked().size() < listing.size() && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (const std::string& node : listing) cache.Deliver(node, DataOf("id-" + node));
  for (std::thread& request : requests) request.join();
  EXPECT_EQ(reads.asked(), listing);
  for (const CandidateIds& ids : answers) {
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_EQ(ids[2], (CandidateId{State::kKnown, "id-n3", ""}));
  }
}

TEST(CandidateIdCacheTest, AWaitEndsAtTheDeadlineWhenNoAnswerComes) {
  RecordingReader reads;
  CandidateIdCache cache(reads.reader(), kNoRetry);
  const CandidateIds ids =
      cache.Lookup(1, {"n1"}, true, steady_clock::now() + std::chrono::milliseconds(20));
  EXPECT_EQ(ids[0].state, State::kPending);
  EXPECT_EQ(reads.calls(), 1);
}

// Another ZooKeeper client may create any number of nodes under the election
// path and write up to 1 MB into each: the cache stays bounded.
TEST(CandidateIdCacheTest, HoldsAtMostMaxCandidatesAndCapsWhatItShows) {
  RecordingReader reads;
  CandidateIdCache cache(reads.reader(), kNoRetry);
  std::vector<std::string> listing;
  for (size_t i = 0; i < CandidateIdCache::kMaxCandidates + 5; ++i) {
    listing.push_back("n" + std::to_string(i));
  }
  CandidateIds ids = cache.Lookup(1, listing, true, Now());
  EXPECT_EQ(cache.size(), CandidateIdCache::kMaxCandidates);
  EXPECT_EQ(reads.asked().size(), CandidateIdCache::kMaxReadsUnderWay);
  ASSERT_EQ(ids.size(), listing.size());
  EXPECT_EQ(ids.back().state, State::kNotRead);
  EXPECT_EQ(ids.front().state, State::kPending);

  cache.Deliver("n0", std::string(1 << 20, '['));  // 1 MB, foreign
  cache.Deliver("n1", DataOf(std::string(10000, 'x')));
  cache.Deliver("n2", DataOf("short", std::string(3000, 'y')));
  ids = cache.Lookup(1, listing, false, Now());
  EXPECT_EQ(ids[0], (CandidateId{State::kKnown, std::string(CandidateIdCache::kMaxShownBytes, '['),
                                 ""}));
  // Longer than kMaxDecodedBytes: not decoded, its first bytes are its id.
  EXPECT_EQ(ids[1].id.size(), CandidateIdCache::kMaxShownBytes);
  EXPECT_TRUE(ids[1].id.starts_with("{\"address\":\"\",\"id\":\"xxx")) << ids[1].id;
  EXPECT_EQ(ids[2].id, "short");
  EXPECT_EQ(ids[2].address, std::string(CandidateIdCache::kMaxShownBytes, 'y'));
}

// Each answer may carry a megabyte of another client's data: at most
// kMaxReadsUnderWay at once, the rest asked by later requests.
TEST(CandidateIdCacheTest, AsksAtMostMaxReadsUnderWayAtOnce) {
  RecordingReader reads;
  CandidateIdCache cache(reads.reader(), kNoRetry);
  std::vector<std::string> listing;
  for (size_t i = 0; i < CandidateIdCache::kMaxReadsUnderWay + 50; ++i) {
    listing.push_back("n" + std::to_string(i));
  }
  cache.Lookup(1, listing, true, Now());
  cache.Lookup(1, listing, true, Now());
  ASSERT_EQ(reads.asked().size(), CandidateIdCache::kMaxReadsUnderWay);
  for (size_t i = 0; i < 10; ++i) cache.Deliver(listing[i], DataOf(listing[i]));
  cache.Lookup(1, listing, true, Now());
  EXPECT_EQ(reads.asked().size(), CandidateIdCache::kMaxReadsUnderWay + 10);
  EXPECT_EQ(reads.asked().back(), listing[CandidateIdCache::kMaxReadsUnderWay + 9]);
}

TEST(CandidateIdCacheTest, DecodeShowsForeignDataAsItsIdAndOursByItsFields) {
  EXPECT_EQ(CandidateIdCache::Decode(DataOf("node-1", "h:1")),
            (CandidateId{State::kKnown, "node-1", "h:1"}));
  EXPECT_EQ(CandidateIdCache::Decode("10.0.0.9"), (CandidateId{State::kKnown, "10.0.0.9", ""}));
  EXPECT_EQ(CandidateIdCache::Decode(""), (CandidateId{State::kKnown, "", ""}));
  EXPECT_EQ(CandidateIdCache::Decode("{\"id\": 7}").id, "{\"id\": 7}");
}

}  // namespace
}  // namespace zkelect
