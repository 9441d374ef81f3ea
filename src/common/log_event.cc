#include "zkelect/common/log_event.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace zkelect {

void LogEvent(spdlog::level::level_enum level, std::string_view message,
              std::initializer_list<LogField> fields) {
  if (!spdlog::should_log(level)) return;
  nlohmann::ordered_json object = nlohmann::ordered_json::object();
  for (const LogField& field : fields) {
    std::visit([&](const auto& value) { object[field.key] = value; }, field.value);
  }
  std::string payload(message);
  payload += kLogFieldsSeparator;
  payload += object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  spdlog::log(level, "{}", payload);
}

}  // namespace zkelect
