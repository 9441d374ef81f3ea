#include "zkelect/http/http_client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

namespace zkelect {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using TimePoint = HttpLimits::TimePoint;

// Without an eventfd, how often a waiting request looks at cancelled().
constexpr milliseconds kCancelCheckPeriod{50};
// recv() size.
constexpr size_t kReadSize = 8 * 1024;

// Closes the descriptor it owns.
class ScopedFd {
 public:
  explicit ScopedFd(int fd = -1) : fd_(fd) {}
  ScopedFd(ScopedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ScopedFd& operator=(ScopedFd&&) = delete;
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// strerror() in lower case, fit to follow a colon: "connection refused".
std::string ErrnoPhrase(int error) {
  std::string text = std::system_category().message(error);
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] + 32);
  return text;
}

HttpFailure Failure(HttpFailure::Kind kind, HttpFailure::Step step, std::string detail,
                    int error_number = 0) {
  return HttpFailure{kind, step, error_number, std::move(detail)};
}

HttpFailure Cancelled(HttpFailure::Step step) {
  return Failure(HttpFailure::Kind::kCancelled, step, "cancelled");
}

HttpFailure TimedOut(HttpFailure::Step step) {
  constexpr const char* kDoing[] = {"connecting", "sending the request", "waiting for the answer"};
  return Failure(HttpFailure::Kind::kTimedOut, step,
                 std::string("timed out ") + kDoing[static_cast<int>(step)]);
}

enum class Ready { kYes, kTimedOut, kCancelled, kFailed };

// Waits until `fd` has one of `events` (or an error or hang-up, which the
// next call on it reports), `deadline` passes or `cancel` fires. kFailed
// leaves poll()'s errno.
Ready WaitFor(int fd, short events, TimePoint deadline, const HttpCanceller* cancel) {
  // Each turn ends in a return or a poll() bounded by the deadline; EINTR
  // only restarts it.
  for (;;) {
    if (cancel != nullptr && cancel->cancelled()) return Ready::kCancelled;
    const TimePoint now = steady_clock::now();
    if (now >= deadline) return Ready::kTimedOut;
    milliseconds left = std::chrono::ceil<milliseconds>(deadline - now);
    if (cancel != nullptr && cancel->fd() < 0) left = std::min(left, kCancelCheckPeriod);
    pollfd fds[2] = {{fd, events, 0}, {cancel != nullptr ? cancel->fd() : -1, POLLIN, 0}};
    const int ready = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), INT_MAX)));
    if (ready < 0 && errno != EINTR) return Ready::kFailed;
    if (fds[1].revents != 0) return Ready::kCancelled;
    if (fds[0].revents != 0) return Ready::kYes;
  }
}

// No CR, LF or NUL: nothing that could end the line it is written on.
bool FitsOnALine(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// A method or header name: one word, without the separators of its line.
bool IsWord(std::string_view text) {
  return !text.empty() && FitsOnALine(text) && text.find_first_of(": \t") == std::string_view::npos;
}

// Why `request` cannot be written as HTTP/1.1 (empty when it can).
std::string WhyUnwritable(const ClientRequest& request) {
  if (!IsWord(request.method)) return "bad method \"" + request.method + "\"";
  const bool target_ok =
      request.target.starts_with('/') &&
      std::none_of(request.target.begin(), request.target.end(), [](char c) {
        return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) == 0x7f;
      });
  if (!target_ok) return "bad request target (a path starting with '/', without blanks)";
  if (!FitsOnALine(request.authority)) return "bad Host header (a line break or NUL in it)";
  for (const auto& [name, value] : request.headers) {
    if (!IsWord(name) || !FitsOnALine(value)) {
      return "bad header " + (IsWord(name) ? name : std::string("name")) +
             " (a line break or NUL in it)";
    }
  }
  return "";
}

std::string Serialize(const ClientRequest& request) {
  std::string out = request.method + " " + request.target + " HTTP/1.1\r\n";
  out += "Host: " + request.authority + "\r\n";
  for (const auto& [name, value] : request.headers) out += name + ": " + value + "\r\n";
  out += "Connection: close\r\n";
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  out += "\r\n";
  out += request.body;
  return out;
}

// One connect attempt to `address`: the socket, or the errno that failed
// it (the caller may try another address), or a failure that ends the
// request (the deadline, a cancellation).
std::variant<ScopedFd, int, HttpFailure> TryConnect(int family, const sockaddr* address,
                                                    socklen_t length, TimePoint deadline,
                                                    const HttpCanceller* cancel) {
  constexpr HttpFailure::Step kStep = HttpFailure::Step::kConnect;
  ScopedFd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return errno;
  if (::connect(fd.get(), address, length) == 0) return fd;
  // After EINTR too the connection goes on in the background (POSIX). A
  // Unix-domain socket whose backlog is full says EAGAIN: the server is
  // there, so that is an error, not a wait.
  if (errno != EINPROGRESS && errno != EINTR) return errno;
  switch (WaitFor(fd.get(), POLLOUT, deadline, cancel)) {
    case Ready::kTimedOut:
      return TimedOut(kStep);
    case Ready::kCancelled:
      return Cancelled(kStep);
    case Ready::kFailed:
      return errno;
    case Ready::kYes:
      break;
  }
  int error = 0;
  socklen_t error_length = sizeof error;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &error_length) != 0) error = errno;
  if (error == 0) return fd;
  return error;
}

// A socket connected to the Unix-domain socket at `path`, or why not.
std::variant<ScopedFd, HttpFailure> ConnectUnix(const std::string& path, TimePoint deadline,
                                                const HttpCanceller* cancel) {
  constexpr HttpFailure::Step kStep = HttpFailure::Step::kConnect;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return Failure(HttpFailure::Kind::kBadRequest, kStep,
                   "the socket path has " + std::to_string(path.size()) +
                       " bytes: expected at most " + std::to_string(sizeof(address.sun_path) - 1));
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  std::variant<ScopedFd, int, HttpFailure> tried = TryConnect(
      AF_UNIX, reinterpret_cast<const sockaddr*>(&address), sizeof(address), deadline, cancel);
  if (ScopedFd* fd = std::get_if<ScopedFd>(&tried)) return std::move(*fd);
  if (HttpFailure* failure = std::get_if<HttpFailure>(&tried)) return std::move(*failure);
  const int error = std::get<int>(tried);
  return Failure(HttpFailure::Kind::kCannotConnect, kStep, ErrnoPhrase(error), error);
}

// A socket connected to one of the host's addresses (or to its Unix-domain
// socket), or why there is none.
std::variant<ScopedFd, HttpFailure> Connect(const ClientRequest& request,
                                            const HttpLimits& limits) {
  using Kind = HttpFailure::Kind;
  constexpr HttpFailure::Step kStep = HttpFailure::Step::kConnect;
  const TimePoint deadline =
      std::min(limits.deadline, limits.connect_deadline.value_or(TimePoint::max()));
  if (!request.unix_path.empty()) return ConnectUnix(request.unix_path, deadline, limits.cancel);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int resolved =
      ::getaddrinfo(request.host.c_str(), std::to_string(request.port).c_str(), &hints, &found);
  if (resolved != 0) {
    const int error = resolved == EAI_SYSTEM ? errno : 0;
    return Failure(Kind::kCannotResolve, kStep,
                   "cannot resolve " + request.host + ": " +
                       (error != 0 ? ErrnoPhrase(error) : ::gai_strerror(resolved)),
                   error);
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);

  int last_error = EADDRNOTAVAIL;  // stays so only if getaddrinfo() found nothing
  for (const addrinfo* ai = addresses.get(); ai != nullptr; ai = ai->ai_next) {
    std::variant<ScopedFd, int, HttpFailure> tried =
        TryConnect(ai->ai_family, ai->ai_addr, ai->ai_addrlen, deadline, limits.cancel);
    if (ScopedFd* fd = std::get_if<ScopedFd>(&tried)) return std::move(*fd);
    if (HttpFailure* failure = std::get_if<HttpFailure>(&tried)) return std::move(*failure);
    last_error = std::get<int>(tried);
  }
  return Failure(Kind::kCannotConnect, kStep, ErrnoPhrase(last_error), last_error);
}

std::optional<HttpFailure> SendAll(int fd, std::string_view data, const HttpLimits& limits) {
  constexpr HttpFailure::Step kStep = HttpFailure::Step::kSend;
  // Each turn sends bytes, or waits against the deadline.
  while (!data.empty()) {
    const ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      data.remove_prefix(static_cast<size_t>(sent));
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    Ready ready = Ready::kFailed;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      ready = WaitFor(fd, POLLOUT, limits.deadline, limits.cancel);
    }
    if (ready == Ready::kYes) continue;
    if (ready == Ready::kTimedOut) return TimedOut(kStep);
    if (ready == Ready::kCancelled) return Cancelled(kStep);
    const int error = errno;
    return Failure(HttpFailure::Kind::kCannotSend, kStep, ErrnoPhrase(error), error);
  }
  return std::nullopt;
}

HttpResult Receive(int fd, const HttpLimits& limits) {
  constexpr HttpFailure::Step kStep = HttpFailure::Step::kReceive;
  HttpResponseParser parser(limits.max_body);
  char buffer[kReadSize];
  // Each turn reads bytes (the parser ends at its limits), reads the end of
  // the stream (which ends the parse), or waits against the deadline.
  while (parser.state() == HttpResponseParser::State::kIncomplete) {
    const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got > 0) {
      parser.Feed(std::string_view(buffer, static_cast<size_t>(got)));
      continue;
    }
    if (got == 0) {
      parser.Finish();
      continue;
    }
    if (errno == EINTR) continue;
    Ready ready = Ready::kFailed;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      ready = WaitFor(fd, POLLIN, limits.deadline, limits.cancel);
    }
    if (ready == Ready::kYes) continue;
    if (ready == Ready::kTimedOut) return TimedOut(kStep);
    if (ready == Ready::kCancelled) return Cancelled(kStep);
    const int error = errno;
    return Failure(HttpFailure::Kind::kBadResponse, kStep,
                   "cannot read the answer: " + ErrnoPhrase(error), error);
  }
  if (parser.state() == HttpResponseParser::State::kMalformed) {
    return Failure(HttpFailure::Kind::kBadResponse, kStep, parser.error());
  }
  return parser.TakeResponse();
}

}  // namespace

HttpCanceller::HttpCanceller() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

HttpCanceller::~HttpCanceller() {
  if (fd_ >= 0) ::close(fd_);
}

void HttpCanceller::Cancel() {
  cancelled_.store(true, std::memory_order_release);
  if (fd_ >= 0) {
    const uint64_t one = 1;
    // Cannot fail but by overflowing the counter, which one write a call
    // never reaches; the flag above is what counts anyway.
    (void)!::write(fd_, &one, sizeof one);
  }
}

HttpResult FetchHttp(const ClientRequest& request, const HttpLimits& limits) {
  if (const std::string why = WhyUnwritable(request); !why.empty()) {
    return Failure(HttpFailure::Kind::kBadRequest, HttpFailure::Step::kConnect, why);
  }
  if (limits.cancel != nullptr && limits.cancel->cancelled()) {
    return Cancelled(HttpFailure::Step::kConnect);
  }
  std::variant<ScopedFd, HttpFailure> connected = Connect(request, limits);
  if (HttpFailure* failure = std::get_if<HttpFailure>(&connected)) return std::move(*failure);
  const ScopedFd socket = std::move(std::get<ScopedFd>(connected));
  if (std::optional<HttpFailure> failure = SendAll(socket.get(), Serialize(request), limits)) {
    return std::move(*failure);
  }
  return Receive(socket.get(), limits);
}

}  // namespace zkelect
