// Hostile HTTP clients against a real daemon (issue 4, item 4): malformed
// request lines, oversized headers and bodies, hundreds of idle connections,
// slow-loris partial requests and thousands of requests to random paths.
// Meanwhile /healthz and /is-leader must keep answering (no probe stuck
// behind the abuse; their latency is printed, and measured in bench/), every
// bad request must get a JSON error, 4xx or 505 (or, for bytes that are not HTTP at
// all, a closed connection), and afterwards the daemon's open descriptors and
// resident memory must come back to where they were.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "integration/election_fixture.h"
#include "support/process_state.h"
#include "support/raw_connection.h"

namespace zkelect::test {
namespace {

// This test and the daemon it runs come from the same build preset.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizedBuild = true;
#else
constexpr bool kSanitizedBuild = false;
#endif
// The probes' bound only catches a probe stuck behind the abuse, in every
// build: on a busy 2-core CI machine a probe of a release build got no
// answer within 2 s (issue 15 point 6), ThreadSanitizer serializes creating
// the hundreds of connection threads the abuse starts (probes waited 193 ms
// and 1019 ms in two runs), and under ASan probes waited up to 1007 ms (8 ms
// in a quiet release build). How fast they answer is bench/'s to measure.
constexpr std::chrono::milliseconds kProbeBound{20'000};
// A probe's own read timeout: beyond the bound, so that a slow answer shows
// as slow rather than as a failure.
constexpr std::chrono::milliseconds kProbeTimeout{30'000};

// A number from /proc/<pid>/status: "Threads:", or a resident memory figure
// in KiB: "VmRSS:" (all of it), "RssAnon:" (heap, stacks) or "RssFile:"
// (pages of the binary and its libraries). -1 when unknown.
long ProcStatus(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  long value = -1;
  while (status >> key) {
    if (key == field) {
      status >> value;
      break;
    }
    status.ignore(1 << 16, '\n');
  }
  return value;
}

// Samples /healthz and /is-leader every 20 ms from a background thread and
// keeps the slowest answer and every failure.
class ProbeSampler {
 public:
  explicit ProbeSampler(uint16_t port) : port_(port) {
    thread_ = std::thread([this] { Run(); });
  }
  ~ProbeSampler() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  milliseconds max_latency() const { return milliseconds(max_ms_.load()); }
  int samples() const { return samples_; }
  const std::vector<std::string>& failures() const { return failures_; }

 private:
  void Run() {
    const auto deadline = Clock::now() + std::chrono::minutes(3);
    while (!stop_ && Clock::now() < deadline) {
      for (const char* path : {"/healthz", "/is-leader"}) {
        const auto start = Clock::now();
        const HttpReply reply = HttpGet(port_, path, kProbeTimeout);
        const int64_t took = MillisSince(start);
        max_ms_ = std::max<int64_t>(max_ms_, took);
        ++samples_;
        if (reply.status != 200 && failures_.size() < 20) failures_.push_back(reply.Describe());
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  }

  const uint16_t port_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> max_ms_{0};
  std::atomic<int> samples_{0};
  std::vector<std::string> failures_;  // written by the thread, read after Stop()
  std::thread thread_;
};

// One request on a fresh connection; the raw answer once the server closed
// (or after `timeout`).
std::string SendOnce(uint16_t port, const std::string& request, bool* closed,
                     milliseconds timeout = seconds(10)) {
  RawConnection connection(port);
  *closed = false;
  if (!connection.Send(request)) {
    *closed = true;  // reset: the server refused to read more
    return "";
  }
  return connection.ReadUntilClosed(timeout, closed);
}

// True when `raw` holds a refusal with a JSON error body: a 4xx, or 505
// for an HTTP version other than 1.x.
::testing::AssertionResult IsJsonRefusal(const std::string& raw) {
  const int status = StatusOf(raw);
  if ((status < 400 || status > 499) && status != 505) {
    return ::testing::AssertionFailure() << "status " << status << ": " << raw.substr(0, 300);
  }
  const nlohmann::json body = nlohmann::json::parse(BodyOf(raw), nullptr, false);
  if (!body.is_object() || !body["error"].is_object() || !body["error"]["code"].is_string()) {
    return ::testing::AssertionFailure() << "not a JSON error: " << raw.substr(0, 300);
  }
  return ::testing::AssertionSuccess();
}

struct BadRequest {
  const char* name;
  std::string bytes;
  bool http;  // HTTP enough to deserve a JSON error; otherwise closing is fine
};

std::vector<BadRequest> BadRequests() {
  const std::string host = "Host: 127.0.0.1\r\n";
  return {
      {"no version", "GET /leader\r\n\r\n", true},
      {"bad version", "GET /leader HTTP/7.3\r\n" + host + "\r\n", true},
      {"no path", "GET\r\n\r\n", true},
      {"lower-case method", "get /leader HTTP/1.1\r\n" + host + "\r\n", true},
      {"unknown method", "BREW /leader HTTP/1.1\r\n" + host + "\r\n", true},
      {"uri of 20 KiB", "GET /" + std::string(20 * 1024, 'a') + " HTTP/1.1\r\n" + host + "\r\n",
       true},
      {"header of 20 KiB",
       "GET /leader HTTP/1.1\r\n" + host + "X-Big: " + std::string(20 * 1024, 'b') + "\r\n\r\n",
       true},
      {"headers of 1 MiB",
       "GET /leader HTTP/1.1\r\n" + host +
           [] {
             std::string lines;
             for (int i = 0; i < 1024; ++i)
               lines += "X-Fill-" + std::to_string(i) + ": " + std::string(1000, 'c') + "\r\n";
             return lines;
           }() +
           "\r\n",
       true},
      {"body of 1 MiB",
       "POST /resign HTTP/1.1\r\n" + host + "Content-Length: 1048576\r\n\r\n" +
           std::string(1024 * 1024, 'd'),
       true},
      {"chunked body",
       "POST /resign HTTP/1.1\r\n" + host +
           "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
       true},
      {"bad content length", "POST /resign HTTP/1.1\r\n" + host + "Content-Length: -5\r\n\r\n",
       true},
      {"bad query", "GET /leader?index=abc&wait=forever HTTP/1.1\r\n" + host + "\r\n", true},
      {"foreign host", "GET /leader HTTP/1.1\r\nHost: attacker.example\r\n\r\n", true},
      {"binary garbage", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15),
       false},
      {"nul bytes", std::string(64, '\0') + "\r\n\r\n", false},
      {"only newlines", std::string(1000, '\n'), false},
  };
}

class HttpAbuseTest : public ElectionFixture {};

TEST_F(HttpAbuseTest, ProbesStayFastAndNothingLeaksUnderHostileClients) {
  ASSERT_TRUE(StartDaemons(1));
  size_t leader = 0;
  ASSERT_TRUE(WaitForLeader(seconds(30), &leader));
  ZkelectProcess& target = daemon(0);
  const uint16_t port = target.port();
  const pid_t pid = target.pid();

  // Warm up every path once, then take the baseline once the server's
  // threads have gone idle and exited (10 s).
  for (int i = 0; i < 20; ++i) {
    for (const char* path : {"/status", "/leader", "/healthz", "/is-leader", "/nope", "/"}) {
      HttpGet(port, path);
    }
  }
  // (Nothing outside the daemon tells when they have exited; the thread
  // count then is the one to come back to.)
  std::this_thread::sleep_for(seconds(12));
  const long threads_before = ProcStatus(pid, "Threads:");
  const int fds_before = OpenDescriptors(pid);
  const long rss_before = ProcStatus(pid, "VmRSS:");
  const long anon_before = ProcStatus(pid, "RssAnon:");
  ASSERT_GT(fds_before, 0);
  ASSERT_GT(rss_before, 0);
  ASSERT_GT(anon_before, 0);

  ProbeSampler sampler(port);

  // 1. Hundreds of idle connections, open through everything below.
  std::vector<RawConnection> idle;
  for (int i = 0; i < 400; ++i) {
    idle.emplace_back(port);
    ASSERT_TRUE(idle.back().ok()) << "connection " << i;
  }

  // 2. Slow loris: 50 partial requests, a byte every 100 ms, in the
  // background while the rest runs.
  std::atomic<bool> stop_loris{false};
  std::atomic<int> loris_cut{0};
  std::thread loris([&] {
    std::vector<RawConnection> slow;
    for (int i = 0; i < 50; ++i) {
      slow.emplace_back(port);
      slow.back().Send("GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    }
    for (int tick = 0; tick < 300 && !stop_loris; ++tick) {  // at most 30 s
      std::this_thread::sleep_for(milliseconds(100));
      for (RawConnection& connection : slow) {
        if (connection.ok() && !connection.Send("X")) ++loris_cut;
      }
    }
  });

  // 3. Malformed and oversized requests: a JSON error each, or a closed
  // connection for bytes that are not HTTP.
  for (const BadRequest& bad : BadRequests()) {
    SCOPED_TRACE(bad.name);
    bool closed = false;
    const std::string raw = SendOnce(port, bad.bytes, &closed);
    EXPECT_TRUE(closed) << "the server must close, or answer with Connection: close";
    if (bad.http || !raw.empty()) {
      EXPECT_TRUE(IsJsonRefusal(raw));
    }
  }

  // 4. Thousands of requests to random paths, from 4 clients at once.
  std::atomic<int> random_ok{0};
  std::atomic<int> random_bad{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 random(static_cast<unsigned>(c + 1));
      const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-._~%/";
      for (int i = 0; i < 750; ++i) {
        std::string path = "/";
        const int length = std::uniform_int_distribution<int>(1, 60)(random);
        for (int j = 0; j < length; ++j) {
          path += alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(random)];
        }
        bool closed = false;
        const std::string raw = SendOnce(
            port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            &closed);
        (IsJsonRefusal(raw) ? random_ok : random_bad)++;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(random_ok.load(), 3000);
  EXPECT_EQ(random_bad.load(), 0);

  // The slow-loris connections are cut off by the request deadline (5 s).
  EXPECT_TRUE(WaitUntil([&] { return loris_cut.load() == 50; }, seconds(20)))
      << loris_cut.load() << " of 50 slow connections were cut off";
  stop_loris = true;
  loris.join();
  idle.clear();
  sampler.Stop();

  // Probes never waited, whatever else was going on.
  EXPECT_GT(sampler.samples(), 50);
  EXPECT_TRUE(sampler.failures().empty()) << sampler.failures().front();
  EXPECT_LT(sampler.max_latency(), kProbeBound) << "slowest of " << sampler.samples();

  // Nothing leaks: descriptors come back at once (connections are closed
  // as the clients go), threads and memory once the idle connection threads
  // have exited (10 s) and their stacks are unmapped.
  EXPECT_TRUE(WaitUntil([&] { return OpenDescriptors(pid) <= fds_before; }, seconds(30)))
      << OpenDescriptors(pid) << " fds open, " << fds_before << " before";
  EXPECT_TRUE(WaitUntil([&] { return ProcStatus(pid, "Threads:") <= threads_before; }, seconds(30)))
      << ProcStatus(pid, "Threads:") << " threads, " << threads_before << " before";
  const long rss_after = ProcStatus(pid, "VmRSS:");
  const long anon_after = ProcStatus(pid, "RssAnon:");
  std::cerr << "abuse: probes " << sampler.samples() << ", slowest "
            << sampler.max_latency().count() << " ms; fds " << fds_before << " -> "
            << OpenDescriptors(pid) << "; RSS " << rss_before << " KiB -> " << rss_after
            << " KiB, of which anonymous " << anon_before << " KiB -> " << anon_after << " KiB\n";
  // Anonymous pages (heap and stacks) are where a leak would show; the rest
  // of RSS may grow by library code that error paths run for the first time
  // (file pages, shared and reclaimable). Measured here: +250 KiB of both.
  // Tolerance of 768 KiB: malloc keeps a few partly used pages and its two
  // arenas' tops after a burst of 500 threads (a leak of one connection's
  // state each would be several MiB).
  if (kSanitizedBuild) {
    // ASan keeps freed memory in its quarantine (256 MiB by default) and the
    // sanitizers' allocators do not give pages back, so RSS says nothing
    // about leaks there: +108 MiB was measured under ASan. LeakSanitizer
    // checks the daemon at its exit instead, and the release build runs the
    // bounds below.
    std::cerr << "abuse: RSS bounds not checked in a sanitizer build\n";
  } else {
    EXPECT_LE(anon_after, anon_before + 768)
        << "anonymous RSS grew by " << anon_after - anon_before << " KiB";
    EXPECT_LE(rss_after, rss_before + 2048) << "RSS grew by " << rss_after - rss_before << " KiB";
  }
  EXPECT_TRUE(target.running());
}

// Issue 20 point 2: a web page open in a browser on the host posted a form
// to /resign and the leader stepped down for 100 days. The same request,
// with the headers a browser adds to a cross-site form, is refused; the
// leader stays. curl's request (neither header) still resigns.
TEST_F(HttpAbuseTest, CrossSiteFormPostMakesTheLeaderResign) {
  ASSERT_TRUE(StartDaemons(1));
  size_t leader = 0;
  ASSERT_TRUE(WaitForLeader(seconds(30), &leader));
  const uint16_t port = daemon(leader).port();
  const std::string form =
      "POST /resign?hold=2400h HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
      "\r\nOrigin: https://evil.example\r\nSec-Fetch-Site: cross-site\r\n"
      "Sec-Fetch-Mode: navigate\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\nContent-Length: 0\r\n"
      "Connection: close\r\n\r\n";
  bool closed = false;
  const std::string raw = SendOnce(port, form, &closed);
  EXPECT_EQ(StatusOf(raw), 403) << raw;
  EXPECT_TRUE(IsJsonRefusal(raw));
  EXPECT_NE(BodyOf(raw).find("cross_site_request"), std::string::npos) << raw;
  EXPECT_EQ(HttpGet(port, "/is-leader", seconds(30)).status, 200) << "the leader resigned";

  const HttpReply curl = HttpPost(port, "/resign", seconds(30));
  EXPECT_EQ(curl.status, 200) << curl.Describe();
}

// Issue 20 point 3: long-polls whose clients reset or half-closed their
// connections kept their slots (and descriptors) until their wait ran out,
// so that every legitimate long-poll got 503 too_many_waiters meanwhile.
TEST_F(HttpAbuseTest, DeadLongPollsKeepTheirSlots) {
  constexpr int kMaxWaiters = 8;
  ZkelectProcess& target =
      AddDaemon("node-1", {"--http.max_waiters=" + std::to_string(kMaxWaiters)});
  ASSERT_TRUE(target.Start());
  ASSERT_TRUE(WaitReady(target, seconds(30)));
  size_t leader = 0;
  ASSERT_TRUE(WaitForLeader(seconds(30), &leader));
  const uint16_t port = target.port();
  const auto waiters = [&] {
    const HttpReply status = HttpGet(port, "/status", seconds(30));
    return status.status == 200 ? status.body["http"].value("waiters", -1) : -1;
  };
  const HttpReply current = HttpGet(port, "/leader", seconds(30));
  ASSERT_EQ(current.status, 200) << current.Describe();
  const std::string index = std::to_string(current.index().value_or(0));
  const std::string poll =
      "GET /leader?index=" + index + "&wait=10m HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  const int fds_before = OpenDescriptors(target.pid());

  // Twice over, so that a slot freed by the first round is taken again.
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::vector<RawConnection> clients;
    for (int i = 0; i < kMaxWaiters; ++i) {
      clients.emplace_back(port);
      ASSERT_TRUE(clients.back().Send(poll));
    }
    ASSERT_TRUE(WaitUntil([&] { return waiters() == kMaxWaiters; }, seconds(30)))
        << waiters() << " parked";
    for (size_t i = 0; i < clients.size(); ++i) {
      if (i % 2 == 0) {
        clients[i].Reset();
      } else {
        clients[i].ShutdownWrite();
      }
    }
    EXPECT_TRUE(WaitUntil([&] { return waiters() == 0; }, seconds(30)))
        << waiters() << " dead long-polls still parked";
  }
  EXPECT_TRUE(WaitUntil([&] { return OpenDescriptors(target.pid()) <= fds_before; }, seconds(30)))
      << OpenDescriptors(target.pid()) << " fds open, " << fds_before << " before";

  // A legitimate long-poll parks (it is not refused 503) and ends with its wait.
  const HttpReply live = HttpGet(port, "/leader?index=" + index + "&wait=1s", seconds(30));
  EXPECT_EQ(live.status, 200) << live.Describe();
}

}  // namespace
}  // namespace zkelect::test
