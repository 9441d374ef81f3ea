#include "zkelect/hooks/process_spawner.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>

extern char** environ;

namespace zkelect {
namespace {

using std::chrono::milliseconds;

// One round of Wait() reads at most this much output, so that a process
// that writes faster than its lines are logged cannot keep Wait() from its
// deadline (issue 20 finding 1).
constexpr size_t kRoundBytes = 64 * 1024;
// The stack the child runs on from clone() to its exec (execvpe's search of
// PATH keeps its buffer there).
constexpr size_t kChildStackBytes = 256 * 1024;

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

bool IsDaemonsOwn(std::string_view name) {
  return name.starts_with("ZKELECT_") || name == "NOTIFY_SOCKET" || name == "WATCHDOG_PID" ||
         name == "WATCHDOG_USEC";
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
    // Under reap_mu_, so that SignalGroup() never signals a group whose id
    // the reap has just freed for reuse.
    std::lock_guard<std::mutex> lock(reap_mu_);
    int raw = 0;
    if (waitpid(pid_, &raw, WNOHANG) == pid_) status_ = FromWaitStatus(raw);
    return status_;
  }

  void SignalGroup(int signo) override {
    std::lock_guard<std::mutex> lock(reap_mu_);
    if (!status_) kill(-pid_, signo);
  }

  std::optional<ExitStatus> Wait(milliseconds timeout, const LineCallback& on_line) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (TryReap()) {
        // What it wrote before exiting (bounded); not waiting for EOF, since
        // a background grandchild may hold the pipe: see ReleaseOutput().
        Drain(on_line, std::chrono::steady_clock::time_point::max());
        if (output_fd_ < 0) lines_.Flush(on_line);
        return status_;
      }
      const auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      std::array<pollfd, 2> fds{};
      nfds_t n = 0;
      if (pidfd_ >= 0) fds[n++] = {pidfd_, POLLIN, 0};
      if (output_fd_ >= 0) fds[n++] = {output_fd_, POLLIN, 0};
      // Without a pidfd, look at the process every 10 ms.
      const int wait_ms =
          static_cast<int>(pidfd_ >= 0 ? left.count() : std::min<long>(left.count(), 10));
      if (poll(fds.data(), n, wait_ms) < 0 && errno != EINTR) return std::nullopt;
      Drain(on_line, deadline);
    }
  }

  int ReleaseOutput(LineBuffer* rest) override {
    if (output_fd_ < 0) return -1;
    *rest = std::move(lines_);
    lines_ = LineBuffer();
    return std::exchange(output_fd_, -1);
  }

 private:
  // Reads what is available now without blocking, up to kRoundBytes or
  // until `deadline`, whichever comes first. Closes the pipe at EOF.
  void Drain(const LineCallback& on_line, std::chrono::steady_clock::time_point deadline) {
    char buffer[4096];
    for (size_t total = 0; output_fd_ >= 0 && total < kRoundBytes;) {
      const ssize_t n = read(output_fd_, buffer, sizeof buffer);
      if (n < 0) return;  // EAGAIN (nothing more now) or an error
      if (n == 0) {       // EOF: every writer is gone
        close(output_fd_);
        output_fd_ = -1;
        return;
      }
      lines_.Append(std::string_view(buffer, static_cast<size_t>(n)), on_line);
      total += static_cast<size_t>(n);
      if (std::chrono::steady_clock::now() >= deadline) return;
    }
  }

  const pid_t pid_;
  int output_fd_;
  const int pidfd_;
  LineBuffer lines_;
  std::mutex reap_mu_;                // held while reaping, and by SignalGroup()
  std::optional<ExitStatus> status_;  // written under reap_mu_, by the owner
};

// Everything a forked child needs, prepared before the fork: after it, in a
// multi-threaded process, the child may only make async-signal-safe calls.
struct ExecPlan {
  std::vector<std::string> argv_strings;
  std::vector<std::string> env_strings;
  std::vector<char*> argv;
  std::vector<char*> envp;
  int output_fd = -1;  // write end of the output pipe, or -1: inherit ours
  int error_fd = -1;   // close-on-exec pipe: errno if the exec fails
  pid_t parent = 0;
};

// The child, between clone() and its exec: becomes the leader of a new
// process group, dies with the spawning thread, and execs. It runs in the
// daemon's memory (CLONE_VM) with every signal blocked: async-signal-safe
// calls only, and no handler of the daemon may run here, so each one is
// reset before the signals are unblocked.
[[noreturn]] void ExecChild(const ExecPlan& plan) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != plan.parent) _exit(127);  // the parent died before prctl
  struct sigaction defaults = {};
  defaults.sa_handler = SIG_DFL;
  for (int signo : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD})
    sigaction(signo, &defaults, nullptr);
  for (int signo = 1; signo < NSIG; ++signo) {
    struct sigaction current = {};
    if (sigaction(signo, nullptr, &current) == 0 && current.sa_handler != SIG_DFL &&
        current.sa_handler != SIG_IGN) {
      sigaction(signo, &defaults, nullptr);
    }
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  const int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
  if (plan.output_fd >= 0) {
    dup2(plan.output_fd, STDOUT_FILENO);
    dup2(plan.output_fd, STDERR_FILENO);
  }
  // Nothing else of the daemon's (the HTTP listening socket, the ZooKeeper
  // connection) leaks into commands, whether or not it was close-on-exec;
  // error_fd is close-on-exec already and stays open until the exec.
  syscall(SYS_close_range, STDERR_FILENO + 1, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
  execvpe(plan.argv[0], plan.argv.data(), plan.envp.data());
  const int error = errno;
  (void)!write(plan.error_fd, &error, sizeof error);
  _exit(127);
}

int RunExecChild(void* plan) { ExecChild(*static_cast<const ExecPlan*>(plan)); }

}  // namespace

std::string ExitStatus::ToString() const {
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exit status " + std::to_string(code);
}

std::map<std::string, std::string> InheritedEnvironment(const char* const* envp) {
  std::map<std::string, std::string> env;
  for (const char* const* entry = envp; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const size_t eq = text.find('=');
    if (eq == std::string_view::npos || IsDaemonsOwn(text.substr(0, eq))) continue;
    env[std::string(text.substr(0, eq))] = text.substr(eq + 1);
  }
  return env;
}

Result<std::unique_ptr<Process>> PosixProcessSpawner::Spawn(const std::vector<std::string>& argv,
                                                            const Options& options) {
  if (argv.empty() || argv[0].empty()) return Status::InvalidArgument("empty command");

  ExecPlan plan;
  std::map<std::string, std::string> env = InheritedEnvironment(environ);
  for (const auto& [key, value] : options.env) env[key] = WithoutNul(value);
  for (const auto& [key, value] : env) plan.env_strings.push_back(key + "=" + value);
  for (std::string& s : plan.env_strings) plan.envp.push_back(s.data());
  plan.envp.push_back(nullptr);
  plan.argv_strings = argv;
  for (std::string& s : plan.argv_strings) plan.argv.push_back(s.data());
  plan.argv.push_back(nullptr);

  int output[2] = {-1, -1};
  if (options.capture_output && pipe2(output, O_CLOEXEC) != 0) {
    return Status::Unavailable(std::string("cannot make a pipe: ") + std::strerror(errno));
  }
  int errors[2] = {-1, -1};
  if (pipe2(errors, O_CLOEXEC) != 0) {
    const int error = errno;
    if (options.capture_output) {
      close(output[0]);
      close(output[1]);
    }
    return Status::Unavailable(std::string("cannot make a pipe: ") + std::strerror(error));
  }
  plan.output_fd = output[1];
  plan.error_fd = errors[1];
  plan.parent = getpid();
  // As posix_spawn does: the child borrows this address space until its exec
  // (CLONE_VM) while this thread waits (CLONE_VFORK). fork() copied the
  // daemon's page tables and left its pages copy-on-write, for every thread
  // of the daemon to fault on afterwards: a few hundred microseconds of each
  // hook's start, on the path of every handoff. Every signal stays blocked
  // until the child has reset the daemon's handlers (ExecChild).
  const auto stack = std::make_unique_for_overwrite<char[]>(kChildStackBytes);
  sigset_t all;
  sigset_t saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  const pid_t pid = clone(&RunExecChild, stack.get() + kChildStackBytes,
                          CLONE_VM | CLONE_VFORK | SIGCHLD, &plan);
  const int fork_error = errno;
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  close(errors[1]);
  if (options.capture_output) close(output[1]);
  int exec_error = 0;
  if (pid > 0) {
    // Until the exec (then the close-on-exec pipe reads end of file): the
    // child's group exists from here on.
    ssize_t n;
    while ((n = read(errors[0], &exec_error, sizeof exec_error)) < 0 && errno == EINTR) {
    }
    if (n != static_cast<ssize_t>(sizeof exec_error)) exec_error = 0;
  }
  close(errors[0]);
  if (pid < 0 || exec_error != 0) {
    if (options.capture_output) close(output[0]);
    if (pid > 0) {
      int raw = 0;
      while (waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
      }
    }
    return Status::Unavailable("cannot start " + argv[0] + ": " +
                               std::strerror(pid < 0 ? fork_error : exec_error));
  }
  if (options.capture_output) fcntl(output[0], F_SETFL, O_NONBLOCK);
  return std::unique_ptr<Process>(std::make_unique<PosixProcess>(pid, output[0]));
}

}  // namespace zkelect
