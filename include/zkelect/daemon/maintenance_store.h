#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "zkelect/common/status.h"

namespace zkelect {

// Whether this node is in maintenance (POST /withdraw until POST /join).
struct MaintenanceState {
  bool maintenance = false;
  // When the maintenance began; set exactly while `maintenance`.
  std::optional<std::chrono::system_clock::time_point> since;
  bool operator==(const MaintenanceState&) const = default;
};

// Keeps the maintenance state in `state_dir` (design §6), so that a node in
// maintenance stays out across a restart. The file, maintenance.json, holds
// `{"maintenance": true, "since": <unix milliseconds>}`. An empty state_dir
// persists nothing: the state lives in memory only.
//
// Not thread-safe: one caller at a time (MaintenanceControl serializes).
class MaintenanceStore {
 public:
  static constexpr const char* kFileName = "maintenance.json";

  // Checks that `state_dir` (if not empty) is a directory this process may
  // write, and reads the state file there if it exists. Errors name the
  // directory or the file, the value and what was expected: a directory
  // that is missing or not writable, a file that cannot be read or is not
  // the JSON above.
  static Result<MaintenanceStore> Open(std::string state_dir);

  const MaintenanceState& state() const { return state_; }

  // The state file's path; empty when nothing is persisted.
  const std::string& path() const { return path_; }

  // Makes `state` the current one, first on disk when persisting: writes a
  // temporary file, fsyncs it, renames it over the state file and fsyncs
  // the directory, so that a crash leaves the old state or the new one,
  // never a torn file. On error the state (and the file) stay as they were.
  Status Save(const MaintenanceState& state);

 private:
  MaintenanceStore(std::string state_dir, MaintenanceState state);

  std::string dir_;
  std::string path_;
  MaintenanceState state_;
};

}  // namespace zkelect
