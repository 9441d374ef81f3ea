#include "zkelect/hooks/health_monitor.h"

#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <system_error>
#include <utility>

#include "zkelect/common/duration.h"
#include "zkelect/hooks/process_spawner.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A running command probe looks for Stop() this often (Process::Wait cannot
// be woken from another thread).
constexpr milliseconds kStopCheckPeriod{50};
// How long a SIGKILLed command may take to be reaped before we give up waiting
// here (the Process's destructor then reaps it).
constexpr milliseconds kReapWait{1000};
// While cancelling an HTTP request, Client::stop() is repeated this often: a
// stop() that lands before the request has its socket has nothing to shut.
constexpr milliseconds kCancelRetry{10};
// Longest detail taken from the command's output or the HTTP body.
constexpr size_t kMaxDetailBytes = 200;
// How much of an HTTP body is kept (the rest is read and dropped).
constexpr size_t kMaxBodyBytes = 1024;
// How long the connect that explains a connection failure may take.
constexpr int kDiagnoseConnectMs = 100;

// The first non-blank line of `text` (or its last one, with `last`), trimmed,
// control characters turned into spaces, cut to kMaxDetailBytes without
// splitting a UTF-8 sequence: safe in a log line and in /status.
std::string OneLine(std::string_view text, bool last) {
  constexpr std::string_view kBlank = " \t\r\n\f\v";
  std::string_view line;
  while (!text.empty()) {
    const size_t newline = last ? text.rfind('\n') : text.find('\n');
    std::string_view candidate;
    if (newline == std::string_view::npos) {
      candidate = text;
      text = {};
    } else if (last) {
      candidate = text.substr(newline + 1);
      text = text.substr(0, newline);
    } else {
      candidate = text.substr(0, newline);
      text = text.substr(newline + 1);
    }
    const size_t begin = candidate.find_first_not_of(kBlank);
    if (begin == std::string_view::npos) continue;
    line = candidate.substr(begin, candidate.find_last_not_of(kBlank) - begin + 1);
    break;
  }
  bool cut = false;
  if (line.size() > kMaxDetailBytes) {
    size_t end = kMaxDetailBytes;
    while (end > 0 && (static_cast<unsigned char>(line[end]) & 0xC0) == 0x80) --end;
    line = line.substr(0, end);
    cut = true;
  }
  std::string out(line);
  for (char& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) c = ' ';
  }
  if (cut) out += "...";
  return out;
}

std::string WithOutput(std::string what, const std::string& output_line) {
  if (!output_line.empty()) what += ": " + output_line;
  return what;
}

std::string TimedOut(milliseconds timeout) { return "timed out after " + FormatDuration(timeout); }

// httplib reports every failed connect as Error::Connection and leaves no
// errno behind, so one more connect attempt (immediate on loopback) tells an
// operator why: "connection refused" means nothing listens on the port.
std::string WhyNoConnection(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
    return "cannot resolve " + host;
  }
  bool refused = false;
  int error = 0;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      error = 0;
    } else if (errno != EINPROGRESS) {
      error = errno;
    } else if (pollfd ready{fd, POLLOUT, 0}; poll(&ready, 1, kDiagnoseConnectMs) == 1) {
      socklen_t length = sizeof error;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    } else {
      error = ETIMEDOUT;
    }
    close(fd);
    refused = refused || error == ECONNREFUSED;
  }
  freeaddrinfo(found);
  if (refused) return "connection refused";
  if (error == 0) return "cannot connect";  // it works now: the failure passed
  return std::string("cannot connect: ") + std::strerror(error);
}

// Why an HTTP request to `target` got no answer.
std::string DescribeHttpError(httplib::Error error, const std::string& host, int port) {
  switch (error) {
    case httplib::Error::Connection:
      return WhyNoConnection(host, port);
    case httplib::Error::ConnectionTimeout:
      return "connect timed out";
    case httplib::Error::Read:
      return "no valid answer (connection closed or malformed response)";
    case httplib::Error::Write:
      return "cannot send the request";
    default:
      return "request failed: " + httplib::to_string(error);
  }
}

bool ParsePort(std::string_view text, int* port) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 ||
      value > 65535) {
    return false;
  }
  *port = value;
  return true;
}

}  // namespace

HealthMonitor::HealthMonitor(const HealthConfig& config,
                             std::function<void(const HealthVerdict&)> on_change,
                             ProcessSpawner* spawner)
    : config_(config),
      on_change_(std::move(on_change)),
      own_spawner_(spawner == nullptr ? std::make_unique<PosixProcessSpawner>() : nullptr),
      spawner_(spawner == nullptr ? *own_spawner_ : *spawner),
      http_target_(config.command.empty() ? ParseHttpTarget(config.http) : HttpTarget{}) {
  assert(config_.enabled() && (config_.command.empty() || config_.http.empty()));
}

HealthMonitor::~HealthMonitor() { Stop(); }

HealthMonitor::HttpTarget HealthMonitor::ParseHttpTarget(const std::string& url) {
  HttpTarget target;
  constexpr std::string_view kScheme = "http://";
  std::string_view rest(url);
  if (!rest.starts_with(kScheme)) {
    target.error = "health.http = \"" + url + "\": expected an http:// URL";
    return target;
  }
  rest.remove_prefix(kScheme.size());
  const size_t slash = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, slash);
  target.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (target.path.front() == '?') target.path.insert(0, "/");
  target.authority = std::string(authority);

  std::string_view host;
  std::string_view port;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close != std::string_view::npos && authority.substr(close + 1).starts_with(':')) {
      host = authority.substr(1, close - 1);
      port = authority.substr(close + 2);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || !ParsePort(port, &target.port)) {
    target.error = "health.http = \"" + url + "\": expected http://HOST:PORT/PATH";
    return target;
  }
  target.host = std::string(host);
  return target;
}

void HealthMonitor::Start() {
  {
    MutexLock lock(&mu_);
    if (started_ || stopping_) return;
    started_ = true;
  }
  thread_ = std::thread([this] { Loop(); });
}

void HealthMonitor::Stop() {
  assert(!thread_.joinable() || thread_.get_id() != std::this_thread::get_id());
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

HealthMonitor::Stats HealthMonitor::stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

bool HealthMonitor::stopping() const {
  MutexLock lock(&mu_);
  return stopping_;
}

void HealthMonitor::Loop() {
  pthread_setname_np(pthread_self(), "zkelect-health");
  steady_clock::time_point next = steady_clock::now();
  for (;;) {
    {
      MutexLock lock(&mu_);
      while (!stopping_ && steady_clock::now() < next) lock.WaitUntil(wake_, next);
      if (stopping_) return;
    }
    next = steady_clock::now() + config_.interval;
    const std::optional<Outcome> outcome = config_.command.empty() ? ProbeHttp() : ProbeCommand();
    if (!outcome) return;  // Stop() cut it short
    spdlog::debug("health check {}: {}", outcome->ok ? "passed" : "failed", outcome->detail);
    if (const std::optional<HealthVerdict> verdict = Record(*outcome)) {
      if (verdict->healthy) {
        spdlog::info("health: healthy ({})", verdict->detail);
      } else {
        spdlog::warn("health: unhealthy ({})", verdict->detail);
      }
      on_change_(*verdict);
    }
  }
}

std::optional<HealthVerdict> HealthMonitor::Record(const Outcome& outcome) {
  MutexLock lock(&mu_);
  Stats& s = stats_;
  ++s.probes;
  s.last_detail = outcome.detail;
  s.last_probe_at = std::chrono::system_clock::now();
  if (outcome.ok) {
    ++s.consecutive_ok;
    s.consecutive_failed = 0;
  } else {
    ++s.consecutive_failed;
    s.consecutive_ok = 0;
  }
  const bool was_known = s.has_verdict;
  const bool was_healthy = s.healthy;
  if (!s.has_verdict) {
    s.has_verdict = true;
    s.healthy = outcome.ok;
  } else if (s.healthy && s.consecutive_failed >= std::max(config_.fall, 1)) {
    s.healthy = false;
  } else if (!s.healthy && s.consecutive_ok >= std::max(config_.rise, 1)) {
    s.healthy = true;
  }
  if (was_known && was_healthy == s.healthy) return std::nullopt;
  return HealthVerdict{s.healthy, outcome.detail};
}

// The command runs under Process::Wait in slices of kStopCheckPeriod, so that
// Stop() is seen while it runs and its output keeps being read (a child that
// fills the pipe must not stall until the timeout).
std::optional<HealthMonitor::Outcome> HealthMonitor::ProbeCommand() {
  ProcessSpawner::Options options;
  options.capture_output = true;
  Result<std::unique_ptr<Process>> spawned = spawner_.Spawn(config_.command, options);
  if (!spawned.ok()) return Outcome{false, spawned.status().message()};
  const std::unique_ptr<Process> process = std::move(spawned).value();

  std::string last_line;
  const Process::LineCallback on_line = [&last_line](std::string_view line) {
    std::string text = OneLine(line, /*last=*/true);
    if (!text.empty()) last_line = std::move(text);
  };
  const steady_clock::time_point deadline = steady_clock::now() + config_.timeout;
  for (;;) {
    if (stopping()) {
      process->SignalGroup(SIGKILL);
      (void)process->Wait(kReapWait, nullptr);
      return std::nullopt;
    }
    const auto left = std::chrono::ceil<milliseconds>(deadline - steady_clock::now());
    if (left <= milliseconds::zero()) break;
    if (const std::optional<ExitStatus> status =
            process->Wait(std::min(left, kStopCheckPeriod), on_line)) {
      return Outcome{status->ok(), WithOutput(status->ToString(), last_line)};
    }
  }
  process->SignalGroup(SIGKILL);
  if (!process->Wait(kReapWait, nullptr)) {
    spdlog::warn("health check {} did not die within {} of SIGKILL", config_.command.front(),
                 FormatDuration(kReapWait));
  }
  return Outcome{false, TimedOut(config_.timeout)};
}

// httplib's timeouts bound each connect/read/write, not the whole request, and
// a blocked request cannot be woken from its own thread. So the request runs
// on a short-lived thread of its own while this one keeps the deadline and
// watches for Stop(); either cancels it with Client::stop(), which shuts the
// socket down and makes the request return at once.
std::optional<HealthMonitor::Outcome> HealthMonitor::ProbeHttp() {
  if (!http_target_.error.empty()) return Outcome{false, http_target_.error};

  httplib::Client client(http_target_.host, http_target_.port);
  client.set_connection_timeout(config_.timeout);
  client.set_read_timeout(config_.timeout);
  client.set_write_timeout(config_.timeout);
  client.set_keep_alive(false);
  client.set_follow_location(false);

  // Written by the request thread, read here, both under mu_.
  bool done = false;
  Outcome answer;
  const auto request = [this, &client, &done, &answer] {
    const httplib::Headers headers = {{"Host", http_target_.authority},
                                      {"User-Agent", "zkelect-health-check"}};
    std::string body;
    const httplib::Result result = client.Get(
        http_target_.path, headers, [](const httplib::Response&) { return true; },
        [&body](const char* data, size_t length) {
          body.append(data, std::min(length, kMaxBodyBytes - body.size()));
          return true;
        });
    Outcome outcome;
    if (result) {
      const int status = result->status;
      outcome.ok = status >= 200 && status <= 299;
      outcome.detail = WithOutput("HTTP " + std::to_string(status), OneLine(body, false));
    } else {
      outcome.detail = DescribeHttpError(result.error(), http_target_.host, http_target_.port);
    }
    {
      MutexLock lock(&mu_);
      done = true;
      answer = std::move(outcome);
    }
    wake_.notify_all();
  };
  std::thread worker;
  try {
    worker = std::thread(request);
  } catch (const std::system_error& e) {
    return Outcome{false, std::string("cannot start the HTTP check: ") + e.what()};
  }

  const steady_clock::time_point deadline = steady_clock::now() + config_.timeout;
  bool cancelled_by_stop = false;
  bool timed_out = false;
  for (;;) {
    {
      MutexLock lock(&mu_);
      const bool cancelling = cancelled_by_stop || timed_out;
      const steady_clock::time_point until =
          cancelling ? steady_clock::now() + kCancelRetry : deadline;
      while (!done && (cancelling || !stopping_) && steady_clock::now() < until) {
        lock.WaitUntil(wake_, until);
      }
      if (done) break;
      if (!cancelling) {
        if (stopping_) {
          cancelled_by_stop = true;
        } else {
          timed_out = true;
        }
      }
    }
    client.stop();
  }
  worker.join();
  if (cancelled_by_stop) return std::nullopt;
  if (timed_out) return Outcome{false, TimedOut(config_.timeout)};
  return answer;  // the join ordered the request thread's write before this read
}

}  // namespace zkelect
