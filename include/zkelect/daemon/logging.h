#pragma once

#include "zkelect/config/config.h"

namespace zkelect {

// Points spdlog's default logger at stderr in the configured format:
//  - text: "2026-11-21T10:00:00.123Z info  message" for terminals and journald;
//  - json: one object a line, {"time","level","message"}, for log shippers.
// Call once, from main, before any other thread starts.
void ConfigureLogging(const LogConfig& config);

// Changes the level and format of the logger ConfigureLogging() set up, in
// place (a live reload): lines being written finish in the old format.
// Thread-safe (spdlog's sinks lock; the level is atomic).
void ReconfigureLogging(const LogConfig& config);

}  // namespace zkelect
