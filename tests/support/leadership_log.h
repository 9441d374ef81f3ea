#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zkelect::test {

// One leadership of one participant of an election, on CLOCK_MONOTONIC.
struct Leadership {
  std::string id;        // the daemon's ZKELECT_ID, or the Curator peer's id
  int64_t start_ns = 0;  // its start hook began (Curator: isLeader)
  std::optional<int64_t>
      stop_ns;              // its stop hook ended (Curator: it stopped); nullopt: leads still
  std::string epoch;        // ZKELECT_EPOCH of the start, "-" for Curator
  std::string stop_reason;  // ZKELECT_REASON of the stop (Curator: shutdown, notLeader)

  // "node-2 [epoch 4294967303] from 123 to 456 ns (resigned)", for messages.
  std::string Describe() const;
};

// The log that every participant of one election appends its leaderships to:
// the zkelect daemons through their start and stop hook (the program of
// tests/faults/hook_logger.cc), the Curator peer from its latch listener
// (support/java/CuratorPeer.java). One line per event, each line one
// O_APPEND write:
//
//   <start|stop> <begin|end> <CLOCK_MONOTONIC ns> <id> <epoch|-> <reason|->
//
// A leadership runs from its "start begin" to its "stop end" (a zkelect stop
// hook's end comes before its node is deleted, design §3 rule 12). Curator
// writes no "start end" nor "stop begin".
//
// Not thread-safe: read it from the test's main thread.
class LeadershipLog {
 public:
  explicit LeadershipLog(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }

  // Every leadership so far, by start. A malformed line, or an event out of
  // order for its participant (a start while it leads, a stop while it does
  // not), is described in *problems (one line each) and skipped.
  std::vector<Leadership> Read(std::string* problems) const;

  // How many leaderships of `id` began at or after `after_ns`.
  int StartsOf(const std::string& id, int64_t after_ns) const;

  // The whole log, headed by its path, for failure messages.
  std::string Text() const;

 private:
  std::string path_;
};

// One line per pair of leaderships that overlap in time ("" when none):
// leaderships, whoever holds them, must follow one another.
std::string Overlaps(const std::vector<Leadership>& leaderships);

// CLOCK_MONOTONIC now, in ns: the clock of the log's lines.
int64_t MonotonicNowNs();

}  // namespace zkelect::test
