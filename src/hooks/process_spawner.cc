#include "zkelect/hooks/process_spawner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

extern char** environ;

namespace zkelect {
namespace {

constexpr size_t kMaxLine = 4096;

ExitStatus FromWaitStatus(int status) {
  ExitStatus out;
  if (WIFEXITED(status)) {
    out.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
  }
  return out;
}

std::string WithoutNul(std::string value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\0') {
      out += "\xEF\xBF\xBD";
    } else {
      out += c;
    }
  }
  return out;
}

class PosixProcess final : public Process {
 public:
  PosixProcess(pid_t pid, int output_fd)
      : pid_(pid),
        output_fd_(output_fd),
        pidfd_(static_cast<int>(syscall(SYS_pidfd_open, pid, 0))) {}

  ~PosixProcess() override {
    if (!status_) {
      kill(-pid_, SIGKILL);
      int raw = 0;
      while (waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
      }
    }
    if (output_fd_ >= 0) close(output_fd_);
    if (pidfd_ >= 0) close(pidfd_);
  }

  int pid() const override { return pid_; }
  int exit_fd() const override { return pidfd_; }

  std::optional<ExitStatus> TryReap() override {
    if (status_) return status_;
    int raw = 0;
    pid_t r = waitpid(pid_, &raw, WNOHANG);
    if (r == pid_) status_ = FromWaitStatus(raw);
    return status_;
  }

  void SignalGroup(int signo) override {
    if (!status_) kill(-pid_, signo);
  }

  std::optional<ExitStatus> Wait(std::chrono::milliseconds timeout,
                                 const LineCallback& on_line) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (TryReap()) {
        Drain(on_line);  // what it wrote before exiting; not waiting for EOF,
        Flush(on_line);  // since a background grandchild may hold the pipe
        return status_;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd fds[2];
      nfds_t n = 0;
      if (pidfd_ >= 0) fds[n++] = {pidfd_, POLLIN, 0};
      if (output_fd_ >= 0) fds[n++] = {output_fd_, POLLIN, 0};
      // Without a pidfd, look at the process every 10 ms.
      const int wait_ms =
          static_cast<int>(pidfd_ >= 0 ? left.count() : std::min<long>(left.count(), 10));
      if (poll(fds, n, wait_ms) < 0 && errno != EINTR) return std::nullopt;
      Drain(on_line);
    }
  }

 private:
  // Reads what is available now, without blocking.
  void Drain(const LineCallback& on_line) {
    if (output_fd_ < 0) return;
    char buffer[4096];
    for (;;) {
      ssize_t n = read(output_fd_, buffer, sizeof buffer);
      if (n > 0) {
        pending_.append(buffer, static_cast<size_t>(n));
        EmitLines(on_line);
        continue;
      }
      if (n == 0) {  // EOF: every writer is gone
        close(output_fd_);
        output_fd_ = -1;
      }
      return;  // EAGAIN, EOF or an error
    }
  }

  void EmitLines(const LineCallback& on_line) {
    size_t start = 0;
    for (;;) {
      size_t nl = pending_.find('\n', start);
      if (nl == std::string::npos) break;
      if (on_line) on_line(std::string_view(pending_).substr(start, nl - start));
      start = nl + 1;
    }
    pending_.erase(0, start);
    while (pending_.size() >= kMaxLine) {  // a line without end: cut it
      if (on_line) on_line(std::string_view(pending_).substr(0, kMaxLine));
      pending_.erase(0, kMaxLine);
    }
  }

  void Flush(const LineCallback& on_line) {
    if (!pending_.empty() && on_line) on_line(pending_);
    pending_.clear();
  }

  const pid_t pid_;
  int output_fd_;
  const int pidfd_;
  std::string pending_;
  std::optional<ExitStatus> status_;
};

}  // namespace

std::string ExitStatus::ToString() const {
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exit status " + std::to_string(code);
}

Result<std::unique_ptr<Process>> PosixProcessSpawner::Spawn(const std::vector<std::string>& argv,
                                                            const Options& options) {
  if (argv.empty() || argv[0].empty()) return Status::InvalidArgument("empty command");

  // The daemon's environment, then ours on top.
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    size_t eq = text.find('=');
    if (eq != std::string_view::npos) env[std::string(text.substr(0, eq))] = text.substr(eq + 1);
  }
  for (const auto& [key, value] : options.env) env[key] = WithoutNul(value);
  std::vector<std::string> env_strings;
  env_strings.reserve(env.size());
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (std::string& s : args) argp.push_back(s.data());
  argp.push_back(nullptr);

  int pipe_fds[2] = {-1, -1};
  if (options.capture_output && pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return Status::Unavailable(std::string("cannot make a pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (options.capture_output) {
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  }
  // Nothing else of the daemon's (the HTTP listening socket, the ZooKeeper
  // connection) leaks into commands, whether or not it was close-on-exec.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argp[0], &actions, &attr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (options.capture_output) close(pipe_fds[1]);
  if (rc != 0) {
    if (options.capture_output) close(pipe_fds[0]);
    return Status::Unavailable("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  if (options.capture_output) fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
  return std::unique_ptr<Process>(std::make_unique<PosixProcess>(pid, pipe_fds[0]));
}

}  // namespace zkelect
