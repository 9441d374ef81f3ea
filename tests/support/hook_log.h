#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zkelect::test {

// One line of the shared hook log: a hook invocation began or ended.
struct HookRecord {
  int64_t wall_ns = 0;  // the hook's own `date +%s.%N` (wall clock, ns since the Unix epoch)
  bool begin = false;   // "begin" or "end"
  std::string event;    // ZKELECT_EVENT: start, stop, change
  std::string id;       // ZKELECT_ID: the daemon that ran the hook
  std::string reason;   // ZKELECT_REASON
  std::string epoch;    // ZKELECT_EPOCH, "-" when empty
  std::string text;     // the whole line, for messages
};

// The log that every daemon's hook script of one test appends to, one line
// per hook begin and end:
//
//   1732233600.123456789 begin start node-2 elected 4294967303
//
// Hooks stamp their lines with the wall clock (all processes run on one
// machine), so lines of different daemons can be ordered. Short appends with
// O_APPEND are atomic on Linux, so concurrent hooks do not tear lines.
//
// Not thread-safe: drive it from the test's main thread.
class HookLog {
 public:
  // `dir` holds the script and the log; both are created by WriteScript().
  explicit HookLog(const std::string& dir);
  HookLog(const HookLog&) = delete;
  HookLog& operator=(const HookLog&) = delete;

  // Writes the hook script (mode 0755). The stop hook sleeps `stop_sleep`
  // between its begin and end lines so that an overlap with a successor's
  // start would show. When the daemon's environment has HOOK_FAIL_START set
  // (non-empty), the start hook exits 1 after its end line.
  ::testing::AssertionResult WriteScript(std::chrono::milliseconds stop_sleep) const;

  // The hook's argv as a JSON array, for --hooks.on_start and friends.
  std::string ArgvJson() const;
  const std::string& script_path() const { return script_path_; }
  const std::string& log_path() const { return log_path_; }

  // Every well-formed line so far, in file order. A malformed line is a
  // test failure (ADD_FAILURE) and is skipped.
  std::vector<HookRecord> Read() const;

  // The first record matching all given fields (empty string: any), whose
  // time is at least `after_ns`.
  std::optional<HookRecord> Find(bool begin, const std::string& event, const std::string& id,
                                 const std::string& reason = "", int64_t after_ns = 0) const;
  // Waits (bounded by `timeout`) for Find(...) to succeed.
  std::optional<HookRecord> WaitFor(std::chrono::milliseconds timeout, bool begin,
                                    const std::string& event, const std::string& id,
                                    const std::string& reason = "", int64_t after_ns = 0) const;

  // The whole log, for failure messages.
  std::string Text() const;

 private:
  std::string script_path_;
  std::string log_path_;
};

// One "role A -> B (reason)" line of a daemon's text log.
struct RoleChangeLine {
  int64_t wall_ns = 0;  // the line's UTC timestamp (millisecond precision)
  std::string from;
  std::string to;
  std::string reason;
  std::string text;  // the whole line
};

// Every role change line of a daemon's log, in order. Lines look like
// "2026-11-21T23:42:45.419Z info  role leader -> disconnected (disconnected)"
// or "... role follower -> leader (elected, epoch 42, node _c_...)".
std::vector<RoleChangeLine> ParseRoleChanges(const std::string& daemon_log);

// "2026-11-21T23:42:45.419Z" as ns since the Unix epoch, or nullopt.
std::optional<int64_t> ParseUtcMillisTimestamp(const std::string& text);

// The wall clock now, in ns since the Unix epoch (comparable with the above).
int64_t WallNowNs();

}  // namespace zkelect::test
