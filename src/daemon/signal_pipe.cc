#include "zkelect/daemon/signal_pipe.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <vector>

namespace zkelect {
namespace {

int g_write_fd = -1;
std::vector<int> g_installed;

void OnSignal(int signo) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(signo);
  [[maybe_unused]] ssize_t n = write(g_write_fd, &byte, 1);
  errno = saved;
}

}  // namespace

SignalPipe::SignalPipe(std::initializer_list<int> signals) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) std::abort();
  read_fd_ = fds[0];
  write_fd_ = fds[1];
  g_write_fd = write_fd_;
  for (int signo : signals) {
    struct sigaction action {};
    action.sa_handler = &OnSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(signo, &action, nullptr);
    g_installed.push_back(signo);
  }
}

SignalPipe::~SignalPipe() {
  for (int signo : g_installed) std::signal(signo, SIG_DFL);
  g_installed.clear();
  g_write_fd = -1;
  close(read_fd_);
  close(write_fd_);
}

void SignalPipe::Notify(int code) {
  const unsigned char byte = static_cast<unsigned char>(code);
  [[maybe_unused]] ssize_t n = write(write_fd_, &byte, 1);
}

std::optional<int> SignalPipe::Wait(int timeout_ms) {
  for (;;) {
    unsigned char byte = 0;
    if (read(read_fd_, &byte, 1) == 1) return static_cast<int>(byte);
    pollfd pfd{read_fd_, POLLIN, 0};
    const int ready = poll(&pfd, 1, timeout_ms);
    if (ready == 0) return std::nullopt;
    if (ready < 0 && errno != EINTR) return std::nullopt;
  }
}

}  // namespace zkelect
