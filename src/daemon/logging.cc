#include "zkelect/daemon/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "zkelect/common/control_bytes.h"
#include "zkelect/common/log_event.h"

namespace zkelect {
namespace {

// The payload of a LogEvent() line is "<message>\x1f<fields as JSON>"; any
// other line is just its message.
struct Payload {
  std::string_view message;
  std::string_view fields;  // a JSON object, or empty
};

Payload SplitPayload(const spdlog::details::log_msg& msg) {
  const std::string_view payload(msg.payload.data(), msg.payload.size());
  const size_t separator = payload.find(kLogFieldsSeparator);
  if (separator == std::string_view::npos) return {payload, {}};
  const std::string_view fields = payload.substr(separator + 1);
  // Text from elsewhere (a hook's output) may hold the separator by chance:
  // only a JSON object after it makes fields, so the line stays valid JSON.
  if (fields.empty() || fields.front() != '{' || !nlohmann::json::accept(fields)) {
    return {payload, {}};
  }
  return {payload.substr(0, separator), fields};
}

// %v for text: the message alone, its control bytes escaped so that no
// terminal escape or carriage return reaches the reader's terminal raw.
class TextMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string message = EscapeControlBytes(SplitPayload(msg).message);
    dest.append(message.data(), message.data() + message.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TextMessageFlag>();
  }
};

// %j for json: `"message":"...","fields":{...}`, the message quoted with any
// bytes made valid UTF-8, fields {} for a line without any.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const Payload payload = SplitPayload(msg);
    std::string out = "\"message\":";
    out += nlohmann::json(std::string(payload.message))
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += ",\"fields\":";
    out += payload.fields.empty() ? std::string_view("{}") : payload.fields;
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// The formatter of `format`, in UTC.
std::unique_ptr<spdlog::formatter> MakeFormatter(LogConfig::Format format) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == LogConfig::Format::kJson) {
    formatter->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%j})");
  } else {
    formatter->add_flag<TextMessageFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l %*");
  }
  return formatter;
}

}  // namespace

void ConfigureLogging(const LogConfig& config) {
  auto logger = std::make_shared<spdlog::logger>("zkelect",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(MakeFormatter(config.format));
  logger->set_level(spdlog::level::from_str(config.level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

void ReconfigureLogging(const LogConfig& config) {
  const std::shared_ptr<spdlog::logger> logger = spdlog::default_logger();
  logger->set_formatter(MakeFormatter(config.format));
  logger->set_level(spdlog::level::from_str(config.level));
}

}  // namespace zkelect
