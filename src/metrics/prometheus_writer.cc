#include "zkelect/metrics/prometheus_writer.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace zkelect {
namespace {

std::string_view TypeName(PrometheusWriter::Type type) {
  switch (type) {
    case PrometheusWriter::Type::kCounter:
      return "counter";
    case PrometheusWriter::Type::kGauge:
      return "gauge";
    case PrometheusWriter::Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// HELP text escapes backslash and newline; label values also escape '"'.
void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

}  // namespace

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

Labels ZipLabels(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  if (names.size() != values.size()) std::abort();
  Labels labels;
  labels.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) labels.emplace_back(names[i], values[i]);
  return labels;
}

void PrometheusWriter::Family(std::string_view name, std::string_view help, Type type) {
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  AppendEscaped(text_, help, /*quote=*/false);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += TypeName(type);
  text_ += '\n';
}

void PrometheusWriter::SampleStart(std::string_view name, const Labels& labels) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) text_ += ',';
      text_ += labels[i].first;
      text_ += "=\"";
      AppendEscaped(text_, labels[i].second, /*quote=*/true);
      text_ += '"';
    }
    text_ += '}';
  }
  text_ += ' ';
}

void PrometheusWriter::Sample(std::string_view name, const Labels& labels, double value) {
  SampleStart(name, labels);
  text_ += FormatSampleValue(value);
  text_ += '\n';
}

void PrometheusWriter::Sample(std::string_view name, const Labels& labels, uint64_t value) {
  SampleStart(name, labels);
  text_ += std::to_string(value);
  text_ += '\n';
}

}  // namespace zkelect
