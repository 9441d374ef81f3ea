#pragma once

#include <optional>

namespace zkelect {

// What zkelect does when it is PID 1, as the container image and the
// Kubernetes manifest run it: a PID 1 inherits every orphan of its PID
// namespace, and must reap them (wait for them) or they stay as <defunct>
// entries for good. Hooks leave orphans all the time: `sh -c 'svc &'`, a
// shell hook whose group is killed at its timeout, a health command's
// children.
//
// Design: like tini and `docker run --init`, PID 1 forks. The child goes on
// to be the daemon, unchanged; the parent stays PID 1 and does nothing but
// reap every child it gets (waitpid(-1)) and forward the signals an
// operator or the runtime sends to PID 1 (TERM, INT, HUP, QUIT, USR1, USR2)
// to the daemon; when the daemon ends, PID 1 exits with the daemon's status
// (128 + N for signal N), and the kernel ends what is left in the namespace.
//
// Why not reap inside the daemon: the hook runner waits for each of its
// children by pid and needs its exit status; a waitpid(-1) in the daemon
// would steal it, and telling orphans from the runner's own children needs
// a registry that every spawn and wait must keep exactly in step (a child
// that exits between fork and registration would be reaped by the wrong
// one). With the split, the daemon's children are the daemon's alone, and
// every orphan goes to the one process that reaps blindly.
//
// Not thread-safe: call once, at the start of main's work, before any
// thread exists (fork() copies only the calling thread).
class InitShim {
 public:
  InitShim() = delete;

  // Returns nullopt at once when the process is not PID 1, or cannot fork
  // (then the daemon runs as PID 1 without reaping, as before, and says so
  // in the log). As PID 1: returns nullopt in the forked child, which is to
  // run the daemon; in PID 1 itself, returns only when the daemon has
  // ended, with the exit code PID 1 should exit with.
  static std::optional<int> RunIfPid1();
};

}  // namespace zkelect
