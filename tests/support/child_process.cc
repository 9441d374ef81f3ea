#include "support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <thread>

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace zkelect::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kPollInterval = std::chrono::milliseconds(1);

std::vector<std::string> BuildEnvironment(const ChildSpec& spec) {
  std::map<std::string, std::string> vars;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    const size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(text.substr(0, eq));
    bool dropped = false;
    for (const std::string& prefix : spec.drop_env_prefixes) {
      if (name.rfind(prefix, 0) == 0) dropped = true;
    }
    if (!dropped) vars[name] = std::string(text.substr(eq + 1));
  }
  for (const auto& [name, value] : spec.env) {
    if (value.has_value()) {
      vars[name] = *value;
    } else {
      vars.erase(name);
    }
  }
  std::vector<std::string> env;
  env.reserve(vars.size());
  for (const auto& [name, value] : vars) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Runs in the forked child: only async-signal-safe calls from here on.
[[noreturn]] void ExecChild(const char* program, char* const* argv, char* const* envp,
                            const char* stdout_path, const char* stderr_path,
                            const char* working_dir, pid_t parent, int error_fd) {
  auto fail = [error_fd](int step) {
    const int codes[2] = {step, errno};
    ssize_t ignored = write(error_fd, codes, sizeof(codes));
    static_cast<void>(ignored);
    _exit(127);
  };
  if (setpgid(0, 0) != 0) fail(1);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(2);
  if (getppid() != parent) _exit(127);  // the test is already gone

  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }

  const int in = open("/dev/null", O_RDONLY);
  if (in < 0 || dup2(in, STDIN_FILENO) < 0) fail(3);
  const int out = open(stdout_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out < 0 || dup2(out, STDOUT_FILENO) < 0) fail(4);
  if (stderr_path != nullptr) {
    const int err = open(stderr_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (err < 0 || dup2(err, STDERR_FILENO) < 0) fail(5);
  } else if (dup2(STDOUT_FILENO, STDERR_FILENO) < 0) {
    fail(5);
  }
  // Nothing else of the test (ZooKeeper sockets, HTTP connections) leaks into
  // the child; the error pipe is close-on-exec already.
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < 4096; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  if (working_dir != nullptr && chdir(working_dir) != 0) fail(6);
  execve(program, argv, envp);
  fail(7);
  _exit(127);
}

const char* StepName(int step) {
  switch (step) {
    case 1:
      return "setpgid";
    case 2:
      return "prctl(PR_SET_PDEATHSIG)";
    case 3:
      return "open /dev/null";
    case 4:
      return "open stdout log";
    case 5:
      return "open stderr log";
    case 6:
      return "chdir";
    case 7:
      return "execve";
    default:
      return "unknown step";
  }
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (exited()) return "exit code " + std::to_string(exit_code);
  return std::string("signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

ChildProcess::~ChildProcess() {
  if (spawned_ && !exit_status_.has_value()) static_cast<void>(KillAndWait());
}

std::string ChildProcess::Spawn(const ChildSpec& spec) {
  if (spawned_ && !Poll()) return "ChildProcess::Spawn: previous child is still running";
  if (spec.argv.empty()) return "ChildProcess::Spawn: empty argv";
  if (spec.stdout_path.empty()) return "ChildProcess::Spawn: no stdout path";

  std::vector<std::string> argv_strings = spec.argv;
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<std::string> env_strings = BuildEnvironment(spec);
  std::vector<char*> envp = CStrings(env_strings);
  const char* stderr_path = spec.stderr_path.empty() ? nullptr : spec.stderr_path.c_str();
  const char* working_dir = spec.working_dir.empty() ? nullptr : spec.working_dir.c_str();

  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    return std::string("pipe2 failed: ") + strerror(errno);
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int saved = errno;
    close(error_pipe[0]);
    close(error_pipe[1]);
    return std::string("fork failed: ") + strerror(saved);
  }
  if (pid == 0) {
    close(error_pipe[0]);
    ExecChild(argv_strings[0].c_str(), argv.data(), envp.data(), spec.stdout_path.c_str(),
              stderr_path, working_dir, parent, error_pipe[1]);
  }
  close(error_pipe[1]);
  setpgid(pid, pid);  // also here, so that the group exists before we signal it

  int codes[2] = {0, 0};
  ssize_t got = -1;
  for (int attempt = 0; attempt < 100; ++attempt) {  // EINTR only
    got = read(error_pipe[0], codes, sizeof(codes));
    if (got >= 0 || errno != EINTR) break;
  }
  close(error_pipe[0]);

  pid_ = pid;
  spawned_ = true;
  exit_status_.reset();
  if (got > 0) {
    static_cast<void>(WaitExit(std::chrono::seconds(5)));
    return "cannot start " + spec.argv[0] + ": " + StepName(codes[0]) + ": " + strerror(codes[1]);
  }
  return "";
}

bool ChildProcess::Poll() {
  if (!spawned_) return true;
  if (exit_status_.has_value()) return true;
  int status = 0;
  const pid_t reaped = waitpid(pid_, &status, WNOHANG);
  if (reaped == 0) return false;
  ExitStatus result;
  if (reaped == pid_ && WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (reaped == pid_ && WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  } else {
    result.signal = SIGKILL;  // lost track (ECHILD): treat as gone
  }
  exit_status_ = result;
  return true;
}

bool ChildProcess::running() { return spawned_ && !Poll(); }

void ChildProcess::Signal(int sig) {
  if (running()) kill(pid_, sig);
}

void ChildProcess::SignalGroup(int sig) {
  if (running()) kill(-pid_, sig);
}

std::optional<ExitStatus> ChildProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (!spawned_) return std::nullopt;
  const auto deadline = Clock::now() + timeout;
  const auto max_polls = timeout / kPollInterval + 2;
  for (auto polls = decltype(max_polls){0}; polls < max_polls; ++polls) {
    if (Poll()) return exit_status_;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  if (Poll()) return exit_status_;
  return std::nullopt;
}

std::optional<ExitStatus> ChildProcess::TerminateAndWait(std::chrono::milliseconds grace) {
  if (!running()) return exit_status_;
  Signal(SIGTERM);
  Signal(SIGCONT);  // a stopped child cannot act on SIGTERM
  if (auto status = WaitExit(grace)) return status;
  return KillAndWait();
}

std::optional<ExitStatus> ChildProcess::KillAndWait() {
  if (!running()) return exit_status_;
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  return WaitExit(std::chrono::seconds(10));
}

}  // namespace zkelect::test
