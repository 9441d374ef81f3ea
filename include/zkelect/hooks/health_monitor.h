#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "zkelect/common/mutex.h"
#include "zkelect/config/config.h"
#include "zkelect/http/http_client.h"

namespace zkelect {

class ProcessSpawner;

// What the health check says about the local application.
struct HealthVerdict {
  bool healthy = false;
  // The probe that decided it, for people: "exit status 1: disk full",
  // "timed out after 2s", "HTTP 503", "connection refused".
  std::string detail;
};

// Checks the local application's health on its own thread, like HDFS ZKFC's
// health monitor (issue 3, point 4), and reports each change of verdict.
//
// A probe is `health.command` (an argv run directly, no shell, in a new
// process group, stdin /dev/null, the daemon's environment; healthy when it
// exits 0 within `timeout`; its last line of output joins the detail) or
// `health.http` (GET on a loopback URL; healthy on a 2xx answer within
// `timeout`; no redirects followed). A command that outlives `timeout` is
// killed with its whole process group (SIGKILL) and reaped; an HTTP request
// that does is ended and its connection closed. Either counts as a failure.
//
// Verdicts: before the first probe there is none ("unknown"; the daemon keeps
// the node out of the election). The first probe decides the first verdict
// directly, so that startup is not delayed by rise × interval. After that,
// `rise` consecutive successes turn an unhealthy node healthy and `fall`
// consecutive failures turn a healthy node unhealthy.
//
// Probes start every `interval` (start to start) and never overlap: one that
// takes longer than `interval` is followed by the next at once.
//
// Thread-safety: Start(), Stop() and the destructor are for the owning thread
// (never from `on_change`); stats() may be called from any thread.
class HealthMonitor {
 public:
  // The latest state, for /status and metrics.
  struct Stats {
    bool has_verdict = false;    // false until the first probe has ended
    bool healthy = false;        // the verdict; meaningful when has_verdict
    int consecutive_ok = 0;      // length of the current run of successes
    int consecutive_failed = 0;  // length of the current run of failures
    std::string last_detail;     // the last probe's detail
    uint64_t probes = 0;         // probes that ended (not counting one cut short by Stop())
    std::optional<std::chrono::system_clock::time_point> last_probe_at;  // when it ended
  };

  // `config` must be enabled() (exactly one of command and http set; the
  // config loader checks it). `on_change` runs on the monitor's thread each
  // time the verdict changes, including the first verdict; it must not block
  // (the daemon posts it to the election loop). `spawner` runs the command and
  // must outlive the monitor; nullptr: a PosixProcessSpawner of its own.
  HealthMonitor(const HealthConfig& config, std::function<void(const HealthVerdict&)> on_change,
                ProcessSpawner* spawner = nullptr);
  ~HealthMonitor();  // Stop()s
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // Starts the monitor's thread; the first probe runs at once. At most once;
  // a stopped monitor does not start again.
  void Start() EXCLUDES(mu_);

  // Wakes the thread and joins it, promptly (well under a second) whether it
  // sleeps between probes or a probe is running: a running command is killed
  // with its process group and reaped, an HTTP request is cancelled, and the
  // interrupted probe counts for nothing. After Stop() returns, on_change is
  // never called again. Idempotent; fine before Start().
  void Stop() EXCLUDES(mu_);

  Stats stats() const EXCLUDES(mu_);

 private:
  // One probe's result.
  struct Outcome {
    bool ok = false;
    std::string detail;
  };
  // health.http, taken apart once.
  struct HttpTarget {
    std::string host;  // for connect(), without IPv6 brackets
    int port = 0;
    std::string authority;  // the Host header, as in the URL
    std::string path;       // with the query, "/" when the URL has none
    std::string error;      // why the URL cannot be used; empty when it can
  };

  static HttpTarget ParseHttpTarget(const std::string& url);

  void Loop() EXCLUDES(mu_);
  // nullopt: cut short by Stop().
  std::optional<Outcome> ProbeCommand() EXCLUDES(mu_);
  std::optional<Outcome> ProbeHttp() EXCLUDES(mu_);
  // Counts `outcome` into stats_; returns the new verdict if it changed.
  std::optional<HealthVerdict> Record(const Outcome& outcome) EXCLUDES(mu_);
  bool stopping() const EXCLUDES(mu_);

  // Constant after construction.
  const HealthConfig config_;
  const std::function<void(const HealthVerdict&)> on_change_;
  const std::unique_ptr<ProcessSpawner> own_spawner_;  // when none was given
  ProcessSpawner& spawner_;
  const HttpTarget http_target_;
  // Cancelled by Stop(); thread-safe.
  HttpCanceller cancel_;

  mutable Mutex mu_;
  // Wakes the monitor's thread between probes: Stop().
  std::condition_variable wake_;
  bool started_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  Stats stats_ GUARDED_BY(mu_);

  // Owning thread only.
  std::thread thread_;
};

}  // namespace zkelect
