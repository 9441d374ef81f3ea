// fault_hook_logger: the start/stop hook of the fault-injection harness's
// daemons (tests/faults/harness.py).
//
//   fault_hook_logger LOG_PATH [SLEEP_MS]
//
// Appends one "begin" line, sleeps SLEEP_MS (default 0) so that a hook has a
// visible duration, then appends one "end" line:
//
//   <event> <begin|end> <CLOCK_MONOTONIC ns> <daemon id> <epoch|-> <reason|->
//
// from the daemon's ZKELECT_EVENT, ZKELECT_ID, ZKELECT_EPOCH and
// ZKELECT_REASON. CLOCK_MONOTONIC is the clock the harness's sampler uses
// (Python's time.monotonic_ns), so hook lines and /is-leader samples share one
// time line; it is not affected by wall-clock steps. Each line is a single
// write() to an O_APPEND descriptor, which Linux keeps whole even when hooks
// of several daemons append at once. Exits 1 (after a message on stderr) if
// the log cannot be written.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace {

std::string EnvOrDash(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr || *value == '\0' ? std::string("-") : std::string(value);
}

long long MonotonicNanos() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<long long>(now.tv_sec) * 1'000'000'000LL + now.tv_nsec;
}

bool AppendLine(int fd, const char* phase) {
  const std::string line = EnvOrDash("ZKELECT_EVENT") + " " + phase + " " +
                           std::to_string(MonotonicNanos()) + " " + EnvOrDash("ZKELECT_ID") + " " +
                           EnvOrDash("ZKELECT_EPOCH") + " " + EnvOrDash("ZKELECT_REASON") + "\n";
  const ssize_t written = write(fd, line.data(), line.size());
  return written == static_cast<ssize_t>(line.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s LOG_PATH [SLEEP_MS]\n", argv[0]);
    return 1;
  }
  const long sleep_ms = argc == 3 ? std::strtol(argv[2], nullptr, 10) : 0;
  const int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "fault_hook_logger: open %s: %s\n", argv[1], std::strerror(errno));
    return 1;
  }
  bool ok = AppendLine(fd, "begin");
  if (sleep_ms > 0) {
    timespec pause{sleep_ms / 1000, (sleep_ms % 1000) * 1'000'000L};
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {
    }
  }
  ok = AppendLine(fd, "end") && ok;
  close(fd);
  if (!ok) std::fprintf(stderr, "fault_hook_logger: short write to %s\n", argv[1]);
  return ok ? 0 : 1;
}
