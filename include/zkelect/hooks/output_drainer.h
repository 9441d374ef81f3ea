#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "zkelect/common/mutex.h"
#include "zkelect/hooks/line_buffer.h"

namespace zkelect {

// Reads on, in the background, the output pipes of hooks that have exited
// while something they started (`svc &`) still holds the write end: it logs
// their lines until every writer has closed the pipe. Without it the read
// end would be closed when the hook ends, and the background process would
// die of SIGPIPE at its next write (issue 20 finding 8). The next hook never
// waits for this.
//
// At most kMaxPipes pipes are kept; a pipe beyond that is closed at once
// (its writers then get EPIPE/SIGPIPE), and so is every pipe at Stop().
//
// Thread-safe.
class OutputDrainer {
 public:
  static constexpr std::size_t kMaxPipes = 64;

  OutputDrainer();
  ~OutputDrainer();  // Stop()s
  OutputDrainer(const OutputDrainer&) = delete;
  OutputDrainer& operator=(const OutputDrainer&) = delete;

  // Takes ownership of `fd` (the non-blocking read end of a pipe) and of
  // the partial line `rest` read from it so far; logs every further line
  // through `on_line` on the drainer's thread until end of file, then
  // closes `fd`. Starts the thread on first use. Returns false (and closes
  // `fd`) when kMaxPipes are already kept or the drainer is stopped.
  bool Adopt(int fd, LineBuffer rest, LineBuffer::LineCallback on_line) EXCLUDES(mu_);

  // Closes every pipe kept and joins the thread. Idempotent.
  void Stop() EXCLUDES(mu_);

  // How many pipes are being read now (for tests).
  std::size_t size() const EXCLUDES(mu_);

 private:
  struct Pipe {
    int fd;
    LineBuffer lines;
    LineBuffer::LineCallback on_line;
  };

  void Loop();
  // Reads what `pipe` has now; false at end of file or on an error.
  static bool ReadSome(Pipe& pipe);

  const int wake_fd_;  // an eventfd: new pipes or Stop(); constant after construction

  mutable Mutex mu_;
  std::vector<Pipe> pipes_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_ GUARDED_BY(mu_);
};

}  // namespace zkelect
