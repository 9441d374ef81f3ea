#include "zkelect/daemon/init_shim.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>

namespace zkelect {
namespace {

// What PID 1 passes on to the daemon. (SIGKILL and SIGSTOP cannot be
// caught; a runtime sends SIGKILL to the whole namespace anyway.)
constexpr std::initializer_list<int> kForwarded = {SIGTERM, SIGINT,  SIGHUP,
                                                   SIGQUIT, SIGUSR1, SIGUSR2};

// `status` of waitpid() as a shell reports it.
int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// Reaps every child that has ended; returns the daemon's exit code once it
// is among them.
std::optional<int> ReapAll(pid_t daemon) {
  std::optional<int> daemon_exit;
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return daemon_exit;  // none left that ended (or no children at all)
    if (pid == daemon) daemon_exit = ExitCodeOf(status);
  }
}

}  // namespace

std::optional<int> InitShim::RunIfPid1() {
  if (::getpid() != 1) return std::nullopt;

  // Blocked before the fork, so that none is lost in between; PID 1 takes
  // them with sigwaitinfo(), the daemon unblocks them.
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  for (const int signo : kForwarded) sigaddset(&handled, signo);
  sigset_t previous;
  ::sigprocmask(SIG_BLOCK, &handled, &previous);

  const pid_t daemon = ::fork();
  if (daemon < 0) {
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    spdlog::warn(
        "running as PID 1 but cannot fork a reaper ({}): orphans of hooks will stay "
        "<defunct>; run the container with an init (docker run --init)",
        std::strerror(errno));
    return std::nullopt;
  }
  if (daemon == 0) {
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    return std::nullopt;
  }

  spdlog::info(
      "running as PID 1: the daemon is process {}; this one reaps orphans and forwards "
      "signals to it",
      daemon);
  for (;;) {
    siginfo_t info{};
    const int signo = ::sigwaitinfo(&handled, &info);
    if (signo < 0) continue;  // EINTR
    if (signo != SIGCHLD) {
      ::kill(daemon, signo);
      continue;
    }
    if (const std::optional<int> code = ReapAll(daemon)) return code;
  }
}

}  // namespace zkelect
