#pragma once

#include <sys/types.h>

#include <chrono>

namespace zkelect::test {

// True while `pid` exists and has not died: a zombie waiting for its parent
// counts as dead (an orphan's new parent may be a pid 1 that reaps late or
// never).
bool ProcessRunning(pid_t pid);

// Polls until `pid` is no longer running or `timeout` passes; returns whether
// it stopped.
bool WaitProcessGone(pid_t pid, std::chrono::milliseconds timeout);

}  // namespace zkelect::test
