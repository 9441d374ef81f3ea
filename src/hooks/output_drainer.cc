#include "zkelect/hooks/output_drainer.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

namespace zkelect {

OutputDrainer::OutputDrainer() : wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

OutputDrainer::~OutputDrainer() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

bool OutputDrainer::Adopt(int fd, LineBuffer rest, LineBuffer::LineCallback on_line) {
  {
    MutexLock lock(&mu_);
    if (!stopping_ && wake_fd_ >= 0 && pipes_.size() < kMaxPipes) {
      pipes_.push_back(Pipe{fd, std::move(rest), std::move(on_line)});
      if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
      const uint64_t one = 1;
      (void)!write(wake_fd_, &one, sizeof one);
      return true;
    }
  }
  spdlog::warn(
      "not reading the output of a hook's background processes any longer "
      "(already {} such pipes, or shutting down)",
      kMaxPipes);
  close(fd);
  return false;
}

void OutputDrainer::Stop() {
  std::thread thread;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    thread = std::move(thread_);
    if (wake_fd_ >= 0) {
      const uint64_t one = 1;
      (void)!write(wake_fd_, &one, sizeof one);
    }
  }
  if (thread.joinable()) thread.join();
  MutexLock lock(&mu_);
  for (Pipe& pipe : pipes_) close(pipe.fd);
  pipes_.clear();
}

std::size_t OutputDrainer::size() const {
  MutexLock lock(&mu_);
  return pipes_.size();
}

bool OutputDrainer::ReadSome(Pipe& pipe) {
  char buffer[4096];
  const ssize_t n = read(pipe.fd, buffer, sizeof buffer);
  if (n > 0) {
    pipe.lines.Append(std::string_view(buffer, static_cast<size_t>(n)), pipe.on_line);
    return true;
  }
  return n < 0 && (errno == EAGAIN || errno == EINTR);
}

// One poll over every pipe and the wake-up eventfd. Pipes are read and
// closed here, and only here, under mu_ (the lock is not held while polling;
// Adopt() only appends).
void OutputDrainer::Loop() {
  std::vector<pollfd> fds;
  for (;;) {
    {
      MutexLock lock(&mu_);
      if (stopping_) return;
      fds.assign(1, pollfd{wake_fd_, POLLIN, 0});
      for (const Pipe& pipe : pipes_) fds.push_back(pollfd{pipe.fd, POLLIN, 0});
    }
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
    if (fds[0].revents & POLLIN) {
      uint64_t count = 0;
      (void)!read(wake_fd_, &count, sizeof count);
    }
    MutexLock lock(&mu_);
    if (stopping_) return;
    // pipes_[i] is fds[i + 1]: only this thread removes pipes; new ones are
    // appended after those polled.
    std::vector<Pipe> kept;
    for (std::size_t i = 0; i < pipes_.size(); ++i) {
      Pipe& pipe = pipes_[i];
      const short revents = i + 1 < fds.size() ? fds[i + 1].revents : 0;
      if (revents == 0 || ReadSome(pipe)) {
        kept.push_back(std::move(pipe));
        continue;
      }
      pipe.lines.Flush(pipe.on_line);  // every writer has gone
      close(pipe.fd);
    }
    pipes_ = std::move(kept);
  }
}

}  // namespace zkelect
