#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/sim_clock.h"

namespace zkelect::sim {

// What happened in a run, for two readers: a person (the last `capacity`
// lines, printed with the seed when an invariant breaks) and the replay test
// (a hash over every line ever added: two runs of one seed must agree bit
// for bit). Lines carry the virtual time since the start of the run.
//
// Not thread-safe.
class Trace {
 public:
  Trace(const SimClock& clock, size_t capacity) : clock_(clock), ring_(capacity) {}
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

  // Adds one line (without its time stamp, which is added here).
  void Add(std::string_view line);

  // FNV-1a over every line added so far, time stamps included.
  uint64_t hash() const { return hash_; }
  uint64_t lines() const { return count_; }

  // The most recent lines, oldest first, one per line of text.
  std::string Tail() const;

 private:
  const SimClock& clock_;
  std::vector<std::string> ring_;
  uint64_t count_ = 0;
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace zkelect::sim
