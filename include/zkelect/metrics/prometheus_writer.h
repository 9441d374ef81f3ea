#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zkelect {

// Label names and values of one sample, in the order they are written.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Pairs label names with values; the counts must match (a caller's bug
// otherwise, which aborts).
Labels ZipLabels(const std::vector<std::string>& names, const std::vector<std::string>& values);

// A sample value as the format writes it: the shortest text that reads back
// as the same double, "+Inf", "-Inf" or "NaN".
std::string FormatSampleValue(double value);

// Writes the Prometheus text exposition format (version 0.0.4): one
// `# HELP` and `# TYPE` line per family, then its samples. Label values and
// help texts are escaped as the format requires, so any text (a hook's
// name, a reason) is safe to pass.
//
// Callers write each family's samples right after its Family() call; the
// writer does not reorder. Not thread-safe; one writer per rendering.
class PrometheusWriter {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  PrometheusWriter() = default;
  PrometheusWriter(const PrometheusWriter&) = delete;
  PrometheusWriter& operator=(const PrometheusWriter&) = delete;

  // Starts the family `name` (a valid metric name, e.g. "zkelect_is_leader").
  void Family(std::string_view name, std::string_view help, Type type);

  // One sample. `name` is the family's name, or for a histogram its
  // `_bucket`, `_sum` or `_count` series.
  void Sample(std::string_view name, const Labels& labels, double value);
  void Sample(std::string_view name, const Labels& labels, uint64_t value);

  // Everything written so far.
  const std::string& text() const { return text_; }

 private:
  void SampleStart(std::string_view name, const Labels& labels);

  std::string text_;
};

// The exposition format's Content-Type.
inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace zkelect
