#pragma once

#include <spdlog/common.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace zkelect {

// One structured field of a log line: "reason" = "elected", "epoch" = 42.
struct LogField {
  std::string key;
  std::variant<std::string, int64_t> value;
};

// Separates a log line's message from its fields inside the spdlog payload;
// the formatters of daemon/logging.cc split on it.
inline constexpr char kLogFieldsSeparator = '\x1f';

// Logs `message` with `fields` through the default logger. The message must
// read completely on its own: the text format prints only the message; the
// json format also writes the fields as the line's "fields" object, for
// machines (log pipelines filter on fields.reason, not on message text).
// Any thread.
void LogEvent(spdlog::level::level_enum level, std::string_view message,
              std::initializer_list<LogField> fields);

}  // namespace zkelect
