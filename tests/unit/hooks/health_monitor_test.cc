#include "zkelect/hooks/health_monitor.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/free_port.h"
#include "support/process_state.h"
#include "support/scripted_server.h"
#include "support/temp_dir.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// Generous bound for anything that should happen "soon" on a loaded machine.
constexpr milliseconds kSoon{10'000};
// What "promptly" means for Stop().
constexpr milliseconds kPromptly{1'000};

// Records what a HealthMonitor reports, with the number of probes that had
// ended when each verdict came.
class VerdictLog {
 public:
  struct Entry {
    bool healthy = false;
    std::string detail;
    uint64_t probes = 0;
  };

  std::function<void(const HealthVerdict&)> Callback() {
    return [this](const HealthVerdict& verdict) {
      const uint64_t probes = monitor_ != nullptr ? monitor_->stats().probes : 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        entries_.push_back(Entry{verdict.healthy, verdict.detail, probes});
      }
      changed_.notify_all();
    };
  }

  // The monitor whose stats() the callback reads; set before its Start().
  void Watch(const HealthMonitor* monitor) { monitor_ = monitor; }

  // Waits until at least `count` verdicts came; false at the deadline.
  bool WaitFor(size_t count, milliseconds timeout = kSoon) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, timeout, [&] { return entries_.size() >= count; });
  }

  std::vector<Entry> entries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_;
  }

 private:
  const HealthMonitor* monitor_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Entry> entries_;
};

// Polls `condition` every few milliseconds until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& condition, milliseconds timeout = kSoon) {
  const steady_clock::time_point deadline = steady_clock::now() + timeout;
  while (!condition()) {
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

HealthConfig CommandCheck(std::vector<std::string> argv, milliseconds interval = seconds(60),
                          milliseconds timeout = seconds(10)) {
  HealthConfig config;
  config.command = std::move(argv);
  config.interval = interval;
  config.timeout = timeout;
  return config;
}

HealthConfig HttpCheck(std::string url, milliseconds interval = seconds(60),
                       milliseconds timeout = seconds(10)) {
  HealthConfig config;
  config.http = std::move(url);
  config.interval = interval;
  config.timeout = timeout;
  return config;
}

// The pid written (by `echo $$`) into `path`, 0 while there is none.
pid_t ReadPid(const std::string& path) {
  std::ifstream in(path);
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

// True when no process `pid` exists, not even a zombie: it was reaped.
bool IsReaped(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

bool IsDead(pid_t pid) { return !test::ProcessRunning(pid); }

// A shell line that writes its pid to $1, starts a background sleep in the
// same process group and writes its pid to $2, then becomes a long sleep.
constexpr char kSleeperScript[] =
    "echo $$ > \"$1\"; /bin/sleep 30 & echo $! > \"$2\"; exec /bin/sleep 30";

TEST(HealthMonitorTest, HasNoVerdictBeforeTheFirstProbe) {
  VerdictLog log;
  HealthMonitor monitor(CommandCheck({"/bin/true"}), log.Callback());
  const HealthMonitor::Stats stats = monitor.stats();
  EXPECT_FALSE(stats.has_verdict);
  EXPECT_EQ(stats.probes, 0u);
  EXPECT_FALSE(stats.last_probe_at.has_value());
}

TEST(HealthMonitorTest, CommandExitingZeroIsHealthyAtTheFirstProbe) {
  VerdictLog log;
  HealthMonitor monitor(CommandCheck({"/bin/true"}), log.Callback());
  log.Watch(&monitor);
  monitor.Start();
  ASSERT_TRUE(log.WaitFor(1));
  const VerdictLog::Entry first = log.entries().front();
  EXPECT_TRUE(first.healthy);
  EXPECT_EQ(first.detail, "exit status 0");
  EXPECT_EQ(first.probes, 1u);
  const HealthMonitor::Stats stats = monitor.stats();
  EXPECT_TRUE(stats.has_verdict);
  EXPECT_TRUE(stats.healthy);
  EXPECT_EQ(stats.consecutive_ok, 1);
  EXPECT_EQ(stats.consecutive_failed, 0);
  EXPECT_EQ(stats.last_detail, "exit status 0");
  EXPECT_TRUE(stats.last_probe_at.has_value());
}

TEST(HealthMonitorTest, CommandExitingNonZeroIsUnhealthyAtTheFirstProbe) {
  VerdictLog log;
  HealthMonitor monitor(CommandCheck({"/bin/false"}), log.Callback());
  log.Watch(&monitor);
  monitor.Start();
  ASSERT_TRUE(log.WaitFor(1));
  const VerdictLog::Entry first = log.entries().front();
  EXPECT_FALSE(first.healthy);
  EXPECT_EQ(first.detail, "exit status 1");
  EXPECT_EQ(first.probes, 1u);
  const HealthMonitor::Stats stats = monitor.stats();
  EXPECT_FALSE(stats.healthy);
  EXPECT_EQ(stats.consecutive_failed, 1);
}

TEST(HealthMonitorTest, DetailEndsWithTheLastLineTheCommandWrote) {
  VerdictLog log;
  HealthMonitor monitor(
      CommandCheck({"/bin/sh", "-c", "echo starting; echo 'disk full' >&2; echo; exit 3"}),
      log.Callback());
  monitor.Start();
  ASSERT_TRUE(log.WaitFor(1));
  EXPECT_FALSE(log.entries().front().healthy);
  EXPECT_EQ(log.entries().front().detail, "exit status 3: disk full");
}

TEST(HealthMonitorTest, CommandThatCannotStartIsUnhealthy) {
  VerdictLog log;
  HealthMonitor monitor(CommandCheck({"/nonexistent/zkelect-check"}), log.Callback());
  monitor.Start();
  ASSERT_TRUE(log.WaitFor(1));
  EXPECT_FALSE(log.entries().front().healthy);
  EXPECT_NE(log.entries().front().detail.find("/nonexistent/zkelect-check"), std::string::npos)
      << log.entries().front().detail;
}

// Each probe runs a script that answers from a fixed pattern ('1' success,
// '0' failure, failure past its end), so the probe at which each verdict
// comes is exact.
struct HysteresisCase {
  const char* pattern;
  int rise;
  int fall;
  std::vector<std::pair<uint64_t, bool>> transitions;  // (probe number, healthy)
};

// Stable, readable names for ctest (gtest_discover_tests shows the parameter).
void PrintTo(const HysteresisCase& c, std::ostream* os) {
  *os << c.pattern << " rise " << c.rise << " fall " << c.fall;
}

class HealthMonitorHysteresisTest : public testing::TestWithParam<HysteresisCase> {};

TEST_P(HealthMonitorHysteresisTest, VerdictsChangeAfterRiseOrFallConsecutiveProbes) {
  const HysteresisCase& c = GetParam();
  const test::TempDir dir("health-monitor");
  constexpr char kScript[] =
      "n=$(cat \"$1/count\" 2>/dev/null || echo 0); n=$((n + 1)); echo \"$n\" > \"$1/count\"; "
      "test \"$(printf %s \"$2\" | cut -c\"$n\")\" = 1";
  HealthConfig config =
      CommandCheck({"/bin/sh", "-c", kScript, "sh", dir.path(), c.pattern}, milliseconds(50));
  config.rise = c.rise;
  config.fall = c.fall;
  VerdictLog log;
  HealthMonitor monitor(config, log.Callback());
  log.Watch(&monitor);
  monitor.Start();
  const uint64_t probes = std::string(c.pattern).size();
  ASSERT_TRUE(Eventually([&] { return monitor.stats().probes >= probes; }));
  monitor.Stop();  // joins: every verdict of those probes has been reported

  std::vector<std::pair<uint64_t, bool>> transitions;
  for (const VerdictLog::Entry& entry : log.entries()) {
    if (entry.probes <= probes) transitions.emplace_back(entry.probes, entry.healthy);
  }
  EXPECT_EQ(transitions, c.transitions);
}

INSTANTIATE_TEST_SUITE_P(
    Patterns, HealthMonitorHysteresisTest,
    testing::Values(
        // Healthy at once; two failures are not enough; the third in a row is;
        // two successes in a row bring it back.
        HysteresisCase{"100100010110000", 2, 3, {{1, true}, {7, false}, {11, true}, {14, false}}},
        // Unhealthy at once; one success is not enough.
        HysteresisCase{"0101100", 2, 3, {{1, false}, {5, true}}},
        // rise = fall = 1 follows every probe.
        HysteresisCase{"1010", 1, 1, {{1, true}, {2, false}, {3, true}, {4, false}}}),
    [](const testing::TestParamInfo<HysteresisCase>& param_info) {
      return std::string("pattern_") + param_info.param.pattern + "_rise" +
             std::to_string(param_info.param.rise) + "_fall" +
             std::to_string(param_info.param.fall);
    });

TEST(HealthMonitorTest, CommandPastItsTimeoutIsKilledWithItsProcessGroup) {
  const test::TempDir dir("health-monitor");
  const std::string pid_file = dir.Sub("pid");
  const std::string background_pid_file = dir.Sub("background-pid");
  VerdictLog log;
  HealthMonitor monitor(
      CommandCheck({"/bin/sh", "-c", kSleeperScript, "sh", pid_file, background_pid_file},
                   seconds(60), milliseconds(200)),
      log.Callback());
  const steady_clock::time_point start = steady_clock::now();
  monitor.Start();
  ASSERT_TRUE(log.WaitFor(1));
  const milliseconds took = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);

  EXPECT_FALSE(log.entries().front().healthy);
  EXPECT_EQ(log.entries().front().detail, "timed out after 200ms");
  EXPECT_LT(took, milliseconds(1'500));
  const pid_t pid = ReadPid(pid_file);
  const pid_t background_pid = ReadPid(background_pid_file);
  ASSERT_GT(pid, 0);
  ASSERT_GT(background_pid, 0);
  EXPECT_TRUE(IsReaped(pid)) << "pid " << pid;  // no zombie left by the monitor
  EXPECT_TRUE(Eventually([&] { return IsDead(background_pid); })) << "pid " << background_pid;
}

TEST(HealthMonitorTest, StopKillsARunningCommandPromptly) {
  const test::TempDir dir("health-monitor");
  const std::string pid_file = dir.Sub("pid");
  const std::string background_pid_file = dir.Sub("background-pid");
  VerdictLog log;
  HealthMonitor monitor(
      CommandCheck({"/bin/sh", "-c", kSleeperScript, "sh", pid_file, background_pid_file},
                   seconds(60), seconds(30)),
      log.Callback());
  monitor.Start();
  ASSERT_TRUE(Eventually([&] { return ReadPid(background_pid_file) > 0; }));
  const pid_t pid = ReadPid(pid_file);
  const pid_t background_pid = ReadPid(background_pid_file);

  const steady_clock::time_point start = steady_clock::now();
  monitor.Stop();
  EXPECT_LT(steady_clock::now() - start, kPromptly);
  EXPECT_TRUE(IsReaped(pid)) << "pid " << pid;
  EXPECT_TRUE(Eventually([&] { return IsDead(background_pid); })) << "pid " << background_pid;
  EXPECT_TRUE(log.entries().empty());  // the interrupted probe counts for nothing
  EXPECT_EQ(monitor.stats().probes, 0u);
}

TEST(HealthMonitorTest, StopIsPromptBetweenProbes) {
  VerdictLog log;
  HealthMonitor monitor(CommandCheck({"/bin/true"}, seconds(60)), log.Callback());
  monitor.Start();
  ASSERT_TRUE(log.WaitFor(1));
  const steady_clock::time_point start = steady_clock::now();
  monitor.Stop();
  EXPECT_LT(steady_clock::now() - start, kPromptly);
}

TEST(HealthMonitorTest, StopIsIdempotentAndFineBeforeStart) {
  VerdictLog log;
  HealthMonitor monitor(CommandCheck({"/bin/true"}), log.Callback());
  monitor.Stop();
  monitor.Stop();
  monitor.Start();  // a stopped monitor stays stopped
  monitor.Stop();
  EXPECT_TRUE(log.entries().empty());
}

// A local HTTP server for the checks: GET /status/N answers N (with a body
// "answer N", except 204), GET /slow
// answers only when released (or after 10s), counting the requests it holds.
class HealthEndpoint {
 public:
  HealthEndpoint() {
    server_.Get(R"(/status/(\d+))", [](const httplib::Request& request,
                                       httplib::Response& response) {
      response.status = std::stoi(request.matches[1]);
      if (response.status != 204) {
        response.set_content("answer " + request.matches[1].str() + "\nsecond line", "text/plain");
      }
    });
    server_.Get("/", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content("root probe=" + request.get_param_value("probe"), "text/plain");
    });
    server_.Get("/slow", [this](const httplib::Request&, httplib::Response& response) {
      std::unique_lock<std::mutex> lock(mu_);
      ++slow_requests_;
      changed_.notify_all();
      changed_.wait_for(lock, seconds(10), [this] { return released_; });
      response.set_content("late", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op on a server that is not listening yet.
    EXPECT_TRUE(Eventually([this] { return server_.is_running(); }));
  }

  ~HealthEndpoint() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    changed_.notify_all();
    server_.stop();
    thread_.join();
  }

  std::string Url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return "http://" + host + ":" + std::to_string(port_) + path;
  }

  bool WaitForSlowRequest() {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, kSoon, [this] { return slow_requests_ > 0; });
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable changed_;
  int slow_requests_ = 0;
  bool released_ = false;
};

struct HttpStatusCase {
  int status;
  bool healthy;
  const char* detail;
};

void PrintTo(const HttpStatusCase& c, std::ostream* os) { *os << "HTTP " << c.status; }

class HealthMonitorHttpStatusTest : public testing::TestWithParam<HttpStatusCase> {};

TEST_P(HealthMonitorHttpStatusTest, OnlyA2xxAnswerIsHealthy) {
  const HttpStatusCase& c = GetParam();
  HealthEndpoint endpoint;
  VerdictLog log;
  HealthMonitor monitor(HttpCheck(endpoint.Url("/status/" + std::to_string(c.status))),
                        log.Callback());
  monitor.Start();
  ASSERT_TRUE(log.WaitFor(1));
  EXPECT_EQ(log.entries().front().healthy, c.healthy);
  EXPECT_EQ(log.entries().front().detail, c.detail);
}

INSTANTIATE_TEST_SUITE_P(Statuses, HealthMonitorHttpStatusTest,
                         testing::Values(HttpStatusCase{200, true, "HTTP 200: answer 200"},
                                         HttpStatusCase{204, true, "HTTP 204"},
                                         HttpStatusCase{301, false, "HTTP 301: answer 301"},
                                         HttpStatusCase{404, false, "HTTP 404: answer 404"},
                                         HttpStatusCase{503, false, "HTTP 503: answer 503"}),
                         [](const testing::TestParamInfo<HttpStatusCase>& param_info) {
                           return "status_" + std::to_string(param_info.param.status);
                         });

// The request target of a URL without a path is "/", its query kept (the
// target is built by appending since GCC 12 at -O3 warned on an insert).
TEST(HealthMonitorTest, HttpUrlWithoutAPathRequestsTheRootWithItsQuery) {
  HealthEndpoint endpoint;
  for (const auto& [suffix, detail] : {std::pair{"", "HTTP 200: root probe="},
                                       std::pair{"?probe=1", "HTTP 200: root probe=1"},
                                       std::pair{"/?probe=2", "HTTP 200: root probe=2"}}) {
    VerdictLog log;
    HealthMonitor monitor(HttpCheck(endpoint.Url(suffix)), log.Callback());
    monitor.Start();
    ASSERT_TRUE(log.WaitFor(1)) << suffix;
    EXPECT_EQ(log.entries().front().detail, detail) << suffix;
  }
}

TEST(HealthMonitorTest, HttpCheckReachesLocalhostByName) {
  HealthEndpoint endpoint;
  VerdictLog log;
  HealthMonitor monitor(HttpCheck(endpoint.Url("/status/200", "localhost")), log.Callback());
  monitor.Start();
  ASSERT_TRUE(log.WaitFor(1));
  EXPECT_TRUE(log.entries().front().healthy) << log.entries().front().detail;
}

TEST(HealthMonitorTest, HttpConnectionRefusedIsUnhealthy) {
  const uint16_t port = test::PickFreePort();
  VerdictLog log;
  HealthMonitor monitor(HttpCheck("http://127.0.0.1:" + std::to_string(port) + "/health"),
                        log.Callback());
  monitor.Start();
  ASSERT_TRUE(log.WaitFor(1));
  EXPECT_FALSE(log.entries().front().healthy);
  EXPECT_EQ(log.entries().front().detail, "connection refused");
}

// The first verdict of an HTTP check of `server`; healthy with detail
// "no verdict" when none came soon.
HealthVerdict FirstVerdictOf(const test::ScriptedServer& server) {
  VerdictLog log;
  HealthMonitor monitor(HttpCheck("http://127.0.0.1:" + std::to_string(server.port()) + "/"),
                        log.Callback());
  monitor.Start();
  if (!log.WaitFor(1)) return HealthVerdict{true, "no verdict"};
  return HealthVerdict{log.entries().front().healthy, log.entries().front().detail};
}

TEST(HealthMonitorTest, HttpAnswerThatIsNotHttpIsUnhealthySayingWhy) {
  test::ScriptedServer server({"SSH-2.0-OpenSSH_9.2\r\n"}, test::ScriptedServer::Then::kClose);
  ASSERT_TRUE(server.ok());
  const HealthVerdict verdict = FirstVerdictOf(server);
  EXPECT_FALSE(verdict.healthy);
  EXPECT_EQ(verdict.detail, "no valid answer: malformed status line \"SSH-2.0-OpenSSH_9.2\"");
}

// Only the beginning of a long body is read: the verdict comes without the
// rest, which the server never sends.
TEST(HealthMonitorTest, HttpCheckReadsOnlyTheBeginningOfALongBody) {
  test::ScriptedServer server(
      {"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nup since 10:00\n" +
       std::string(2000, '.')},
      test::ScriptedServer::Then::kHoldOpen);
  ASSERT_TRUE(server.ok());
  const HealthVerdict verdict = FirstVerdictOf(server);
  EXPECT_TRUE(verdict.healthy);
  EXPECT_EQ(verdict.detail, "HTTP 200: up since 10:00");
}

TEST(HealthMonitorTest, HttpAnswerPastTheTimeoutIsUnhealthy) {
  HealthEndpoint endpoint;
  VerdictLog log;
  HealthMonitor monitor(HttpCheck(endpoint.Url("/slow"), seconds(60), milliseconds(200)),
                        log.Callback());
  const steady_clock::time_point start = steady_clock::now();
  monitor.Start();
  ASSERT_TRUE(log.WaitFor(1));
  // Well before the endpoint's 10 s answer, with room for a loaded machine.
  EXPECT_LT(steady_clock::now() - start, milliseconds(5'000));
  EXPECT_FALSE(log.entries().front().healthy);
  EXPECT_EQ(log.entries().front().detail, "timed out after 200ms");
}

TEST(HealthMonitorTest, StopCancelsARunningHttpCheckPromptly) {
  HealthEndpoint endpoint;
  VerdictLog log;
  HealthMonitor monitor(HttpCheck(endpoint.Url("/slow"), seconds(60), seconds(30)), log.Callback());
  monitor.Start();
  ASSERT_TRUE(endpoint.WaitForSlowRequest());
  const steady_clock::time_point start = steady_clock::now();
  monitor.Stop();
  EXPECT_LT(steady_clock::now() - start, kPromptly);
  EXPECT_TRUE(log.entries().empty());
  EXPECT_EQ(monitor.stats().probes, 0u);
}

}  // namespace
}  // namespace zkelect
