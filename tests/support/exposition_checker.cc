#include "support/exposition_checker.h"

#include <cmath>
#include <cstdlib>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <utility>

namespace zkelect::test {
namespace {

const std::regex kMetricName("[a-zA-Z_:][a-zA-Z0-9_:]*");
const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary", "untyped"};

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::optional<double> ParseValue(const std::string& text) {
  if (text == "+Inf") return HUGE_VAL;
  if (text == "-Inf") return -HUGE_VAL;
  if (text == "NaN") return std::nan("");
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || std::isinf(value) || std::isnan(value)) {
    return std::nullopt;  // "inf", "nan" and "0x1p3" are not the format's spellings
  }
  if (text.find_first_of("xXpP") != std::string::npos) return std::nullopt;
  return value;
}

// Parses `name{a="1",b="2"} value` into `sample`; returns an error or "".
std::string ParseSample(const std::string& line, ExpositionSample* sample) {
  size_t pos = line.find_first_of("{ ");
  if (pos == std::string::npos) return "no value";
  sample->name = line.substr(0, pos);
  if (!std::regex_match(sample->name, kMetricName)) return "bad metric name";
  if (line[pos] == '{') {
    ++pos;
    while (pos < line.size() && line[pos] != '}') {
      const size_t eq = line.find('=', pos);
      if (eq == std::string::npos) return "label without '='";
      const std::string label = line.substr(pos, eq - pos);
      if (!std::regex_match(label, kLabelName) || label.rfind("__", 0) == 0) {
        return "bad label name \"" + label + "\"";
      }
      if (eq + 1 >= line.size() || line[eq + 1] != '"') return "label value not quoted";
      std::string value;
      size_t i = eq + 2;
      for (; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\') {
          if (i + 1 >= line.size()) return "dangling escape";
          const char next = line[++i];
          if (next == 'n') {
            value += '\n';
          } else if (next == '\\' || next == '"') {
            value += next;
          } else {
            return std::string("bad escape \\") + next;
          }
        } else {
          value += line[i];
        }
      }
      if (i >= line.size()) return "unterminated label value";
      if (!sample->labels.emplace(label, value).second) return "label \"" + label + "\" twice";
      pos = i + 1;
      if (pos < line.size() && line[pos] == ',') ++pos;
    }
    if (pos >= line.size()) return "unterminated label set";
    ++pos;  // '}'
  }
  if (pos >= line.size() || line[pos] != ' ') return "no space before the value";
  std::istringstream rest(line.substr(pos + 1));
  std::string value_text, timestamp, extra;
  rest >> value_text >> timestamp >> extra;
  if (!extra.empty()) return "trailing text";
  const std::optional<double> value = ParseValue(value_text);
  if (!value) return "bad value \"" + value_text + "\"";
  if (!timestamp.empty() && !ParseValue(timestamp)) return "bad timestamp";
  sample->value = *value;
  return "";
}

// The family a sample belongs to, given the declared types.
std::string FamilyOf(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    if (EndsWith(name, suffix)) {
      const std::string base = name.substr(0, name.size() - std::string(suffix).size());
      const auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return name;
}

std::string SeriesKey(const ExpositionSample& sample, bool without_le) {
  std::string key = sample.name;
  for (const auto& [label, value] : sample.labels) {
    if (without_le && label == "le") continue;
    key += "|" + label + "=" + value;
  }
  return key;
}

void CheckHistograms(ExpositionCheck& check) {
  // Per series (labels without le): buckets in order, then sum and count.
  struct Series {
    std::vector<std::pair<double, double>> buckets;  // le, cumulative count
    std::optional<double> count;
    bool has_sum = false;
  };
  std::map<std::string, Series> series;
  for (const ExpositionSample& sample : check.samples) {
    const std::string family = FamilyOf(sample.name, check.types);
    const auto type = check.types.find(family);
    if (type == check.types.end() || type->second != "histogram") continue;
    ExpositionSample base = sample;
    base.name = family;
    Series& s = series[SeriesKey(base, /*without_le=*/true)];
    if (sample.name == family + "_bucket") {
      const auto le = sample.labels.find("le");
      const std::optional<double> bound =
          le == sample.labels.end() ? std::nullopt : ParseValue(le->second);
      if (!bound) {
        check.errors.push_back(sample.name + ": bucket without a valid le");
        continue;
      }
      s.buckets.emplace_back(*bound, sample.value);
    } else if (sample.name == family + "_sum") {
      s.has_sum = true;
    } else if (sample.name == family + "_count") {
      s.count = sample.value;
    } else {
      check.errors.push_back(sample.name + ": not a series of histogram " + family);
    }
  }
  for (const auto& [key, s] : series) {
    for (size_t i = 1; i < s.buckets.size(); ++i) {
      if (!(s.buckets[i].first > s.buckets[i - 1].first)) {
        check.errors.push_back(key + ": le bounds not increasing");
      }
      if (s.buckets[i].second < s.buckets[i - 1].second) {
        check.errors.push_back(key + ": buckets not cumulative");
      }
    }
    if (s.buckets.empty() || !std::isinf(s.buckets.back().first)) {
      check.errors.push_back(key + ": no +Inf bucket last");
    } else if (!s.count || *s.count != s.buckets.back().second) {
      check.errors.push_back(key + ": _count missing or not equal to the +Inf bucket");
    }
    if (!s.has_sum) check.errors.push_back(key + ": no _sum");
  }
}

}  // namespace

const ExpositionSample* ExpositionCheck::Find(
    const std::string& name, const std::map<std::string, std::string>& labels) const {
  for (const ExpositionSample& sample : samples) {
    if (sample.name == name && sample.labels == labels) return &sample;
  }
  return nullptr;
}

ExpositionCheck CheckExposition(const std::string& text) {
  ExpositionCheck check;
  if (text.empty() || text.back() != '\n') check.errors.push_back("does not end with a newline");
  std::set<std::string> helped;
  std::set<std::string> finished;  // families whose samples are over
  std::set<std::string> series;
  std::string current;  // the family of the previous line
  std::istringstream in(text);
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const std::string where = "line " + std::to_string(number) + " \"" + line + "\": ";
    auto switch_to = [&](const std::string& family) {
      if (family == current) return true;
      if (finished.count(family) > 0) {
        check.errors.push_back(where + "family " + family + " is not contiguous");
        return false;
      }
      if (!current.empty()) finished.insert(current);
      current = family;
      return true;
    };
    if (line.empty()) {
      check.errors.push_back(where + "blank line");
      continue;
    }
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, keyword, name, rest;
      words >> hash >> keyword >> name;
      std::getline(words, rest);
      if (hash != "#" || (keyword != "HELP" && keyword != "TYPE")) {
        check.errors.push_back(where + "a comment that is neither HELP nor TYPE");
        continue;
      }
      if (!std::regex_match(name, kMetricName)) {
        check.errors.push_back(where + "bad metric name");
        continue;
      }
      if (!switch_to(name)) continue;
      if (keyword == "HELP") {
        if (!helped.insert(name).second) check.errors.push_back(where + "second HELP");
        continue;
      }
      const std::string type = rest.empty() ? "" : rest.substr(1);
      if (kTypes.count(type) == 0) {
        check.errors.push_back(where + "unknown type \"" + type + "\"");
      } else if (!check.types.emplace(name, type).second) {
        check.errors.push_back(where + "second TYPE");
      } else if (type == "counter" && !EndsWith(name, "_total")) {
        check.errors.push_back(where + "counter name does not end in _total");
      }
      continue;
    }
    ExpositionSample sample;
    if (const std::string error = ParseSample(line, &sample); !error.empty()) {
      check.errors.push_back(where + error);
      continue;
    }
    const std::string family = FamilyOf(sample.name, check.types);
    if (check.types.count(family) == 0) {
      check.errors.push_back(where + "sample before its TYPE");
    }
    if (!switch_to(family)) continue;
    if (!series.insert(SeriesKey(sample, /*without_le=*/false)).second) {
      check.errors.push_back(where + "series written twice");
    }
    check.samples.push_back(std::move(sample));
  }
  CheckHistograms(check);
  return check;
}

}  // namespace zkelect::test
