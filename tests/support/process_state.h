#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace zkelect::test {

// One process as /proc/<pid>/stat tells it.
struct ProcessStat {
  pid_t pid = 0;
  char state = '?';  // R, S, D, Z (zombie), X, ...
  pid_t ppid = 0;
  std::string comm;  // the command name, as in `ps -o comm`
};

// `pid`'s /proc/<pid>/stat, or nullopt when there is no such process.
std::optional<ProcessStat> ReadProcessStat(pid_t pid);

// `root` (first) and every process below it, as /proc shows them now.
std::vector<ProcessStat> ProcessTree(pid_t root);

// Descriptors `pid` has open (its /proc/<pid>/fd), or -1 when unknown.
int OpenDescriptors(pid_t pid);

// True while `pid` exists and has not died: a zombie waiting for its parent
// counts as dead (an orphan's new parent may be a pid 1 that reaps late or
// never).
bool ProcessRunning(pid_t pid);

// Polls until `pid` is no longer running or `timeout` passes; returns whether
// it stopped.
bool WaitProcessGone(pid_t pid, std::chrono::milliseconds timeout);

}  // namespace zkelect::test
