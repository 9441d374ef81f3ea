// Hostile HTTP clients against a real daemon (issue 4, item 4): malformed
// request lines, oversized headers and bodies, hundreds of idle connections,
// slow-loris partial requests and thousands of requests to random paths.
// Meanwhile /healthz and /is-leader must keep answering within 100 ms, every
// bad request must get a JSON error, 4xx or 505 (or, for bytes that are not HTTP at
// all, a closed connection), and afterwards the daemon's open descriptors and
// resident memory must come back to where they were.

#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "integration/election_fixture.h"
#include "support/raw_connection.h"

namespace zkelect::test {
namespace {

// This test and the daemon it runs come from the same build preset.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizedBuild = true;
#else
constexpr bool kSanitizedBuild = false;
#endif
// The probes' bound is the product's promise (100 ms) in an optimized build.
// Under the sanitizers the test is for races, leaks and memory errors, and
// the bound only catches a probe stuck behind the abuse: ThreadSanitizer
// serializes creating the hundreds of connection threads the abuse starts
// (probes waited 193 ms and 1019 ms in two runs here), and under ASan on a
// loaded 2-core machine probes waited 255 ms and 1007 ms in CI runs (47 ms
// when quiet; 8 ms in release).
constexpr std::chrono::milliseconds kProbeBound{kSanitizedBuild ? 5000 : 100};

// Open descriptors of `pid`.
int OpenFds(pid_t pid) {
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (dir == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = ::readdir(dir)) count += entry->d_name[0] != '.';
  ::closedir(dir);
  return count;
}

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
        const HttpReply reply = HttpGet(port_, path, seconds(2));
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
  ASSERT_TRUE(WaitForLeader(seconds(10), &leader));
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
  const int fds_before = OpenFds(pid);
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
  EXPECT_TRUE(WaitUntil([&] { return OpenFds(pid) <= fds_before; }, seconds(15)))
      << OpenFds(pid) << " fds open, " << fds_before << " before";
  EXPECT_TRUE(WaitUntil([&] { return ProcStatus(pid, "Threads:") <= threads_before; }, seconds(30)))
      << ProcStatus(pid, "Threads:") << " threads, " << threads_before << " before";
  const long rss_after = ProcStatus(pid, "VmRSS:");
  const long anon_after = ProcStatus(pid, "RssAnon:");
  std::cerr << "abuse: probes " << sampler.samples() << ", slowest "
            << sampler.max_latency().count() << " ms; fds " << fds_before << " -> " << OpenFds(pid)
            << "; RSS " << rss_before << " KiB -> " << rss_after << " KiB, of which anonymous "
            << anon_before << " KiB -> " << anon_after << " KiB\n";
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

}  // namespace
}  // namespace zkelect::test
