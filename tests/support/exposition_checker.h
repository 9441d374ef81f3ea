#pragma once

#include <map>
#include <string>
#include <vector>

namespace zkelect::test {

// One sample of a scrape: "name{labels} value".
struct ExpositionSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The result of checking a scrape.
struct ExpositionCheck {
  std::vector<std::string> errors;  // empty when the text is valid
  std::vector<ExpositionSample> samples;
  std::map<std::string, std::string> types;  // family name -> counter, gauge, ...

  // The value of the sample `name` with exactly `labels`, or nullptr.
  const ExpositionSample* Find(const std::string& name,
                               const std::map<std::string, std::string>& labels = {}) const;
};

// Checks `text` strictly against the Prometheus text exposition format
// 0.0.4, beyond what a lenient scraper accepts: every line is a HELP, a TYPE
// or a sample (no blank lines, no other comments); HELP and TYPE at most once
// per family and before its samples; a family's samples contiguous; valid
// metric and label names, label values with only \\, \" and \n escapes, no
// repeated label; values that parse; no series twice; counters end in _total;
// histograms have `le` buckets in increasing order, cumulative, ending in
// +Inf equal to _count, plus _sum; the text ends with a newline.
ExpositionCheck CheckExposition(const std::string& text);

}  // namespace zkelect::test
