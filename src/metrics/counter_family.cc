#include "zkelect/metrics/counter_family.h"

#include <cstdlib>
#include <utility>

#include "zkelect/metrics/prometheus_writer.h"

namespace zkelect {

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void CounterFamily::Increment(const std::vector<std::string>& label_values, uint64_t by) {
  if (label_values.size() != label_names_.size()) std::abort();
  MutexLock lock(&mu_);
  series_[label_values] += by;
}

void CounterFamily::Declare(const std::vector<std::string>& label_values) {
  Increment(label_values, 0);
}

uint64_t CounterFamily::Value(const std::vector<std::string>& label_values) const {
  MutexLock lock(&mu_);
  const auto it = series_.find(label_values);
  return it == series_.end() ? 0 : it->second;
}

void CounterFamily::WriteTo(PrometheusWriter& writer) const {
  writer.Family(name_, help_, PrometheusWriter::Type::kCounter);
  MutexLock lock(&mu_);
  for (const auto& [values, count] : series_) {
    writer.Sample(name_, ZipLabels(label_names_, values), count);
  }
}

}  // namespace zkelect
