#pragma once

#include <atomic>
#include <string>

#include "zkelect/common/clock.h"
#include "zkelect/metrics/counter_family.h"
#include "zkelect/metrics/histogram_family.h"

namespace zkelect {

struct Snapshot;

// The daemon's metrics (GET /metrics). The daemon owns one; the parts that
// count events hold a reference for its whole life: the recipe (role
// transitions), the instrumented ZooKeeper client (requests, session events),
// the hook listener (hook runs) and the HTTP server (requests). Gauges that
// describe the current state are not stored here: Render() reads them from a
// snapshot of the state board, so they can never disagree with /status.
//
// Thread-safe: every member may be updated from any thread.
struct Metrics {
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Writes every metric in the Prometheus text format: the counters and
  // histograms below, then gauges from `snapshot` (as served, i.e. fenced),
  // `http_waiters` and the age of the last ZooKeeper reply at `now`.
  std::string Render(const Snapshot& snapshot, int http_waiters, Clock::TimePoint now) const;

  // Records that a ZooKeeper server answered at `when` (any reply).
  void NoteServerReply(Clock::TimePoint when);

  CounterFamily transitions;            // {reason}
  CounterFamily session_reconnects;     // {}
  CounterFamily session_expirations;    // {}
  CounterFamily sessions_opened;        // {}
  CounterFamily zk_requests;            // {op, result}
  HistogramFamily zk_request_duration;  // {op}
  CounterFamily hook_runs;              // {hook, result}
  HistogramFamily hook_duration;        // {hook}
  CounterFamily hook_over_budget;       // {}
  CounterFamily http_requests;          // {path, code}
  CounterFamily config_reloads;         // {result}: ok, refused

 private:
  // Clock::TimePoint of the last server reply, in ticks; 0 before the first.
  std::atomic<Clock::Duration::rep> last_server_reply_{0};
};

}  // namespace zkelect
