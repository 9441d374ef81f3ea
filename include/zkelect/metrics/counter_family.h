#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "zkelect/common/mutex.h"

namespace zkelect {

class PrometheusWriter;

// The counters of one metric, told apart by label values: for
// zkelect_transitions_total, one counter per "reason". A family without
// label names holds a single counter (Increment({})).
//
// Thread-safe: any thread may Increment() while another renders. A series
// appears on its first Increment() or Declare(), in label-value order.
class CounterFamily {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names);
  CounterFamily(const CounterFamily&) = delete;
  CounterFamily& operator=(const CounterFamily&) = delete;

  // Adds `by` to the series of `label_values` (one value per label name, in
  // the order of the constructor's names; a wrong count is a bug and aborts).
  void Increment(const std::vector<std::string>& label_values, uint64_t by = 1);

  // Makes the series exist at 0, so that rate() sees it before its first
  // event.
  void Declare(const std::vector<std::string>& label_values);

  // The series' count; 0 for one never incremented.
  uint64_t Value(const std::vector<std::string>& label_values) const;

  // Writes HELP, TYPE and every series.
  void WriteTo(PrometheusWriter& writer) const;

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;

  mutable Mutex mu_;
  std::map<std::vector<std::string>, uint64_t> series_ GUARDED_BY(mu_);
};

}  // namespace zkelect
