#include "zkelect/hooks/health_monitor.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

#include "zkelect/common/duration.h"
#include "zkelect/hooks/process_spawner.h"
#include "zkelect/http/http_client.h"

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
// Longest detail taken from the command's output or the HTTP body.
constexpr size_t kMaxDetailBytes = 200;
// How much of an HTTP body is read (the rest is not: the detail needs only
// its first line).
constexpr size_t kMaxBodyBytes = 1024;

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

// Why an HTTP check got no answer, for the verdict's detail.
std::string DescribeHttpFailure(const HttpFailure& failure, milliseconds timeout) {
  switch (failure.kind) {
    case HttpFailure::Kind::kTimedOut:
      switch (failure.step) {
        case HttpFailure::Step::kConnect:
          return TimedOut(timeout) + " connecting";
        case HttpFailure::Step::kSend:
          return TimedOut(timeout) + " sending the request";
        case HttpFailure::Step::kReceive:
          break;
      }
      return TimedOut(timeout);  // as for a command: the application did not answer in time
    case HttpFailure::Kind::kBadRequest:
    case HttpFailure::Kind::kCannotSend:
      return "cannot send the request: " + failure.detail;
    case HttpFailure::Kind::kBadResponse:
      return "no valid answer: " + failure.detail;
    case HttpFailure::Kind::kCannotResolve:
    case HttpFailure::Kind::kCannotConnect:
    case HttpFailure::Kind::kCancelled:
      break;
  }
  return failure.detail;  // "connection refused", "cannot resolve ..."
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
  // The request target: the URL's path and query, with a leading "/" added
  // when there is no path. (Built by appending: GCC 12 at -O3 reported a
  // false -Wrestrict in libstdc++ for string::insert(0, "/") here.)
  const std::string_view path_and_query = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (!path_and_query.starts_with('/')) target.path = "/";
  target.path.append(path_and_query);
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
  cancel_.Cancel();  // ends an HTTP check in flight, and any later one at once
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

// One deadline bounds the whole request, and Stop() cancels it through
// cancel_ whichever step it is in.
std::optional<HealthMonitor::Outcome> HealthMonitor::ProbeHttp() {
  if (!http_target_.error.empty()) return Outcome{false, http_target_.error};

  ClientRequest request;
  request.host = http_target_.host;
  request.port = http_target_.port;
  request.authority = http_target_.authority;
  request.target = http_target_.path;
  request.headers = {{"User-Agent", "zkelect-health-check"}};
  HttpLimits limits;
  limits.deadline = steady_clock::now() + config_.timeout;
  limits.max_body = kMaxBodyBytes;
  limits.cancel = &cancel_;
  const HttpResult result = FetchHttp(request, limits);
  if (const HttpFailure* failure = std::get_if<HttpFailure>(&result)) {
    if (failure->kind == HttpFailure::Kind::kCancelled) return std::nullopt;
    return Outcome{false, DescribeHttpFailure(*failure, config_.timeout)};
  }
  const ClientResponse& response = std::get<ClientResponse>(result);
  const bool ok = response.status >= 200 && response.status <= 299;
  return Outcome{ok, WithOutput("HTTP " + std::to_string(response.status),
                                OneLine(response.body, /*last=*/false))};
}

}  // namespace zkelect
