#include "zkelect/hooks/hook_runner.h"

#include "zkelect/common/duration.h"

namespace zkelect {

const char* HookName(HookAction action) {
  switch (action) {
    case HookAction::kStart:
      return "on_start";
    case HookAction::kStop:
      return "on_stop";
    case HookAction::kChange:
      return "on_change";
  }
  return "hook";
}

std::string HookResult::Describe() const {
  if (!error.empty()) return "could not start: " + error;
  if (timed_out) return "timed out after " + FormatDuration(duration);
  return status ? status->ToString() : "unknown";
}

}  // namespace zkelect
