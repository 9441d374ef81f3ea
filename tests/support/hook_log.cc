#include "support/hook_log.h"

#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/temp_dir.h"

namespace zkelect::test {
namespace {

constexpr std::chrono::milliseconds kWaitPoll{10};

bool AllDigits(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// "1732233600.123456789" (date +%s.%N) as ns, or nullopt.
std::optional<int64_t> ParseSecondsDotNanos(const std::string& text) {
  const size_t dot = text.find('.');
  if (dot == std::string::npos) return std::nullopt;
  const std::string seconds = text.substr(0, dot);
  const std::string nanos = text.substr(dot + 1);
  if (!AllDigits(seconds) || !AllDigits(nanos) || nanos.size() != 9 || seconds.size() > 12) {
    return std::nullopt;
  }
  return std::stoll(seconds) * 1'000'000'000 + std::stoll(nanos);
}

std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

// A number of milliseconds as seconds for sleep(1), e.g. 80 -> "0.080".
std::string SecondsText(std::chrono::milliseconds ms) {
  char text[32];
  std::snprintf(text, sizeof(text), "%lld.%03lld", static_cast<long long>(ms.count() / 1000),
                static_cast<long long>(ms.count() % 1000));
  return text;
}

}  // namespace

HookLog::HookLog(const std::string& dir)
    : script_path_(dir + "/hook.sh"), log_path_(dir + "/hooks.log") {}

::testing::AssertionResult HookLog::WriteScript(std::chrono::milliseconds stop_sleep) const {
  if (log_path_.find('\'') != std::string::npos) {
    return ::testing::AssertionFailure() << "log path with a quote: " << log_path_;
  }
  const std::string fields =
      "${ZKELECT_EVENT:--} ${ZKELECT_ID:--} ${ZKELECT_REASON:--} ${ZKELECT_EPOCH:--}";
  std::ostringstream script;
  script
      << "#!/bin/sh\n"
      << "# Written by the zkelect hook tests: one line per hook begin and end.\n"
      << "log='" << log_path_ << "'\n"
      << "echo \"$(date +%s.%N) begin " << fields << "\" >> \"$log\"\n"
      << "if [ \"$ZKELECT_EVENT\" = stop ]; then sleep " << SecondsText(stop_sleep) << "; fi\n"
      << "echo \"$(date +%s.%N) end " << fields << "\" >> \"$log\"\n"
      << "if [ \"$ZKELECT_EVENT\" = start ] && [ -n \"${HOOK_FAIL_START:-}\" ]; then exit 1; fi\n"
      << "exit 0\n";
  {
    std::ofstream out(script_path_, std::ios::trunc);
    out << script.str();
    if (!out.flush()) {
      return ::testing::AssertionFailure() << "cannot write " << script_path_;
    }
  }
  if (chmod(script_path_.c_str(), 0755) != 0) {
    return ::testing::AssertionFailure() << "cannot chmod " << script_path_;
  }
  return ::testing::AssertionSuccess();
}

std::string HookLog::ArgvJson() const { return nlohmann::json::array({script_path_}).dump(); }

std::vector<HookRecord> HookLog::Read() const {
  std::vector<HookRecord> records;
  std::istringstream in(ReadFileOrEmpty(log_path_));
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const std::vector<std::string> words = Words(line);
    const std::optional<int64_t> ns =
        words.empty() ? std::nullopt : ParseSecondsDotNanos(words.front());
    if (words.size() != 6 || !ns || (words[1] != "begin" && words[1] != "end")) {
      ADD_FAILURE() << "malformed line in " << log_path_ << ": " << line;
      continue;
    }
    HookRecord record;
    record.wall_ns = *ns;
    record.begin = words[1] == "begin";
    record.event = words[2];
    record.id = words[3];
    record.reason = words[4];
    record.epoch = words[5];
    record.text = line;
    records.push_back(std::move(record));
  }
  return records;
}

std::optional<HookRecord> HookLog::Find(bool begin, const std::string& event, const std::string& id,
                                        const std::string& reason, int64_t after_ns) const {
  for (HookRecord& record : Read()) {
    if (record.begin == begin && (event.empty() || record.event == event) &&
        (id.empty() || record.id == id) && (reason.empty() || record.reason == reason) &&
        record.wall_ns >= after_ns) {
      return std::move(record);
    }
  }
  return std::nullopt;
}

std::optional<HookRecord> HookLog::WaitFor(std::chrono::milliseconds timeout, bool begin,
                                           const std::string& event, const std::string& id,
                                           const std::string& reason, int64_t after_ns) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto max_polls = timeout / kWaitPoll + 2;
  for (auto polls = decltype(max_polls){0}; polls < max_polls; ++polls) {
    if (auto found = Find(begin, event, id, reason, after_ns)) return found;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kWaitPoll);
  }
  return std::nullopt;
}

std::string HookLog::Text() const {
  return "----- hook log " + log_path_ + " -----\n" + ReadFileOrEmpty(log_path_);
}

std::optional<int64_t> ParseUtcMillisTimestamp(const std::string& text) {
  // 2026-11-21T23:42:45.419Z
  if (text.size() != 24 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != '.' || text[23] != 'Z') {
    return std::nullopt;
  }
  auto number = [&text](size_t at, size_t length) -> std::optional<int> {
    const std::string digits = text.substr(at, length);
    if (!AllDigits(digits)) return std::nullopt;
    return std::stoi(digits);
  };
  const auto year = number(0, 4), month = number(5, 2), day = number(8, 2), hour = number(11, 2),
             minute = number(14, 2), second = number(17, 2), millis = number(20, 3);
  if (!year || !month || !day || !hour || !minute || !second || !millis) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  const time_t seconds = timegm(&tm);
  if (seconds == static_cast<time_t>(-1)) return std::nullopt;
  return static_cast<int64_t>(seconds) * 1'000'000'000 + int64_t{*millis} * 1'000'000;
}

std::vector<RoleChangeLine> ParseRoleChanges(const std::string& daemon_log) {
  std::vector<RoleChangeLine> changes;
  std::istringstream in(daemon_log);
  for (std::string line; std::getline(in, line);) {
    // "<timestamp> <level> role <from> -> <to> (<reason>[, ...])"
    const std::vector<std::string> words = Words(line);
    if (words.size() < 7 || words[2] != "role" || words[4] != "->") continue;
    const std::optional<int64_t> ns = ParseUtcMillisTimestamp(words[0]);
    const size_t open = line.find(" (", line.find(" -> "));
    if (!ns || open == std::string::npos) continue;
    const size_t end = line.find_first_of(",)", open + 2);
    if (end == std::string::npos) continue;
    RoleChangeLine change;
    change.wall_ns = *ns;
    change.from = words[3];
    change.to = words[5];
    change.reason = line.substr(open + 2, end - open - 2);
    change.text = line;
    changes.push_back(std::move(change));
  }
  return changes;
}

int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace zkelect::test
