#include "zkelect/hooks/hook_runner.h"

#include "zkelect/common/duration.h"

namespace zkelect {

std::string HookResult::Describe() const {
  if (!error.empty()) return "could not start: " + error;
  if (timed_out) return "timed out after " + FormatDuration(duration);
  return status ? status->ToString() : "unknown";
}

}  // namespace zkelect
