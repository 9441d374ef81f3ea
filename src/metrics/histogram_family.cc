#include "zkelect/metrics/histogram_family.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "zkelect/metrics/prometheus_writer.h"

namespace zkelect {

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names,
                                 std::vector<double> bounds_seconds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds_seconds)) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end()) {
    std::abort();
  }
}

void HistogramFamily::Observe(const std::vector<std::string>& label_values,
                              std::chrono::nanoseconds duration) {
  if (label_values.size() != label_names_.size()) std::abort();
  const double seconds = std::chrono::duration<double>(duration).count();
  // The first bound >= the value ("le"); past the last one, the +Inf bucket.
  const size_t bucket = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), seconds) - bounds_.begin());
  MutexLock lock(&mu_);
  Series& series = series_[label_values];
  if (series.buckets.empty()) series.buckets.assign(bounds_.size() + 1, 0);
  ++series.buckets[bucket];
  ++series.count;
  series.sum_seconds += seconds;
}

uint64_t HistogramFamily::Count(const std::vector<std::string>& label_values) const {
  MutexLock lock(&mu_);
  const auto it = series_.find(label_values);
  return it == series_.end() ? 0 : it->second.count;
}

void HistogramFamily::WriteTo(PrometheusWriter& writer) const {
  writer.Family(name_, help_, PrometheusWriter::Type::kHistogram);
  const std::string bucket_name = name_ + "_bucket";
  const std::string sum_name = name_ + "_sum";
  const std::string count_name = name_ + "_count";
  MutexLock lock(&mu_);
  for (const auto& [values, series] : series_) {
    Labels labels = ZipLabels(label_names_, values);
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += series.buckets[i];
      Labels with_le = labels;
      with_le.emplace_back("le", i < bounds_.size() ? FormatSampleValue(bounds_[i]) : "+Inf");
      writer.Sample(bucket_name, with_le, cumulative);
    }
    writer.Sample(sum_name, labels, series.sum_seconds);
    writer.Sample(count_name, labels, series.count);
  }
}

}  // namespace zkelect
