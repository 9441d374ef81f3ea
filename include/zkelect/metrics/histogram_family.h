#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "zkelect/common/mutex.h"

namespace zkelect {

class PrometheusWriter;

// Histograms of durations (rendered in seconds) of one metric, told apart by
// label values, with fixed bucket bounds: Prometheus' cumulative `_bucket`
// series (`le`), `_sum` and `_count`.
//
// Thread-safe, like CounterFamily.
class HistogramFamily {
 public:
  // `bounds_seconds` must be strictly increasing; +Inf is added.
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds_seconds);
  HistogramFamily(const HistogramFamily&) = delete;
  HistogramFamily& operator=(const HistogramFamily&) = delete;

  // Records one duration for the series of `label_values`.
  void Observe(const std::vector<std::string>& label_values, std::chrono::nanoseconds duration);

  // Observations recorded for a series (0 for one never observed).
  uint64_t Count(const std::vector<std::string>& label_values) const;

  void WriteTo(PrometheusWriter& writer) const;

 private:
  struct Series {
    std::vector<uint64_t> buckets;  // per bound, not cumulative; the last is +Inf
    uint64_t count = 0;
    double sum_seconds = 0;
  };

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;

  mutable Mutex mu_;
  std::map<std::vector<std::string>, Series> series_ GUARDED_BY(mu_);
};

}  // namespace zkelect
