#include "support/leadership_log.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <sstream>

#include "support/temp_dir.h"

namespace zkelect::test {
namespace {

std::optional<int64_t> ParseNanos(const std::string& text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

std::string Leadership::Describe() const {
  std::ostringstream out;
  out << id << " [epoch " << epoch << "] from " << start_ns << " to ";
  if (stop_ns.has_value()) {
    out << *stop_ns << " ns (" << stop_reason << ")";
  } else {
    out << "now (leads still)";
  }
  return out.str();
}

std::vector<Leadership> LeadershipLog::Read(std::string* problems) const {
  std::vector<Leadership> done;
  std::map<std::string, Leadership> open;  // by id: the leadership under way
  std::istringstream in(ReadFileOrEmpty(path_));
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    std::istringstream words(line);
    std::string event, phase, ns_text, id, epoch, reason, extra;
    words >> event >> phase >> ns_text >> id >> epoch >> reason;
    const std::optional<int64_t> ns = ParseNanos(ns_text);
    if (reason.empty() || (words >> extra) || !ns || (event != "start" && event != "stop") ||
        (phase != "begin" && phase != "end")) {
      *problems += "malformed line: " + line + "\n";
      continue;
    }
    const auto current = open.find(id);
    const bool leads = current != open.end();
    if (event == "start" && phase == "begin") {
      if (leads) {
        *problems += "a start while " + id + " leads: " + line + "\n";
        continue;
      }
      Leadership leadership;
      leadership.id = id;
      leadership.start_ns = *ns;
      leadership.epoch = epoch;
      open.emplace(id, std::move(leadership));
    } else if (!leads) {
      *problems += "a " + event + " " + phase + " while " + id + " does not lead: " + line + "\n";
    } else if (event == "stop" && phase == "end") {
      current->second.stop_ns = *ns;
      current->second.stop_reason = reason;
      done.push_back(std::move(current->second));
      open.erase(current);
    }
  }
  for (auto& [id, leadership] : open) done.push_back(std::move(leadership));
  std::sort(done.begin(), done.end(),
            [](const Leadership& a, const Leadership& b) { return a.start_ns < b.start_ns; });
  return done;
}

int LeadershipLog::StartsOf(const std::string& id, int64_t after_ns) const {
  std::string ignored;
  int starts = 0;
  for (const Leadership& leadership : Read(&ignored)) {
    if (leadership.id == id && leadership.start_ns >= after_ns) ++starts;
  }
  return starts;
}

std::string LeadershipLog::Text() const {
  return "----- leadership log " + path_ + " -----\n" + ReadFileOrEmpty(path_);
}

std::string Overlaps(const std::vector<Leadership>& leaderships) {
  std::string overlaps;
  for (size_t later = 0; later < leaderships.size(); ++later) {
    for (size_t earlier = 0; earlier < later; ++earlier) {
      const Leadership& a = leaderships[earlier];
      const Leadership& b = leaderships[later];
      const bool a_first = a.start_ns <= b.start_ns;
      const Leadership& first = a_first ? a : b;
      const Leadership& second = a_first ? b : a;
      if (!first.stop_ns.has_value() || *first.stop_ns > second.start_ns) {
        overlaps += "overlap: " + first.Describe() + " and " + second.Describe() + "\n";
      }
    }
  }
  return overlaps;
}

int64_t MonotonicNowNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

}  // namespace zkelect::test
