#include "zkelect/config/config_loader.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

#include "zkelect/common/duration.h"
#include "zkelect/config/toml.h"
#include "zkelect/election/node_data.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t kMaxConfigFileBytes = 1 << 20;
constexpr std::size_t kMaxSecretFileBytes = 64 << 10;
constexpr std::size_t kMaxIdBytes = 255;
constexpr char kEnvPrefix[] = "ZKELECT_";
constexpr char kConfigEnv[] = "ZKELECT_CONFIG";
constexpr char kMetaEnv[] = "ZKELECT_META";

// ---------------------------------------------------------------------------
// Text checks.

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const std::size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

std::vector<std::string_view> Split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = s.find(separator, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit);
}

// Decodes UTF-8 that IsValidUtf8() accepted into code points.
std::vector<char32_t> CodePoints(std::string_view s) {
  std::vector<char32_t> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    std::size_t length = 4;
    char32_t cp = lead & 0x07u;
    if (lead < 0x80) {
      length = 1;
      cp = lead;
    } else if (lead < 0xe0) {
      length = 2;
      cp = lead & 0x1fu;
    } else if (lead < 0xf0) {
      length = 3;
      cp = lead & 0x0fu;
    }
    for (std::size_t k = 1; k < length && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3fu);
    }
    out.push_back(cp);
    i += length;
  }
  return out;
}

bool IsControl(char32_t cp) { return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f); }

// Well-formed UTF-8 without control characters: safe in a log line, in an
// HTTP header and in a JSON document.
bool IsCleanText(std::string_view s) {
  if (!IsValidUtf8(s)) return false;
  const std::vector<char32_t> cps = CodePoints(s);
  return std::none_of(cps.begin(), cps.end(), IsControl);
}

// A host name: dot-separated labels of letters, digits, '-' and '_' (Docker
// and Kubernetes service names have '_'), not starting or ending with '-'.
// The last label is not all digits, so that "10.0.0.300" is not a name.
bool IsDnsName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  const std::vector<std::string_view> labels = Split(s, '.');
  for (std::string_view label : labels) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '-' || c == '_';
      if (!ok) return false;
    }
  }
  return !AllDigits(labels.back());
}

// Dotted decimal, four parts, no leading zeros.
bool IsIpv4(std::string_view s) {
  const std::vector<std::string_view> parts = Split(s, '.');
  if (parts.size() != 4) return false;
  for (std::string_view part : parts) {
    if (!AllDigits(part) || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return false;
    int value = 0;
    std::from_chars(part.data(), part.data() + part.size(), value);
    if (value > 255) return false;
  }
  return true;
}

// "[" IPv6 address "]".
bool IsBracketedIpv6(std::string_view s) {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  const std::string inner(s.substr(1, s.size() - 2));
  in6_addr address{};
  return inet_pton(AF_INET6, inner.c_str(), &address) == 1;
}

// Splits "host:port" or "[v6]:port"; false when `s` has neither shape.
bool SplitHostPort(std::string_view s, std::string_view* host, std::string_view* port) {
  std::size_t colon = 0;
  if (!s.empty() && s.front() == '[') {
    const std::size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return false;
    }
    colon = close + 1;
  } else {
    colon = s.find(':');
    if (colon == std::string_view::npos || s.find(':', colon + 1) != std::string_view::npos) {
      return false;
    }
  }
  *host = s.substr(0, colon);
  *port = s.substr(colon + 1);
  return true;
}

bool IsPort(std::string_view s, int min) {
  if (!AllDigits(s) || s.size() > 5) return false;
  int value = 0;
  std::from_chars(s.data(), s.data() + s.size(), value);
  return value >= min && value <= 65535;
}

// Characters ZooKeeper refuses in a path (PathUtils.validatePath).
bool IsZkForbidden(char32_t cp) {
  return IsControl(cp) || (cp >= 0xe000 && cp <= 0xf8ff) || cp >= 0xfff0;
}

// An absolute ZooKeeper path other than the root: no empty, "." or ".."
// parts, no trailing '/', no character that ZooKeeper refuses.
bool IsZkPath(std::string_view s) {
  if (s.size() < 2 || s.front() != '/' || s.back() == '/' || !IsValidUtf8(s)) return false;
  for (std::string_view part : Split(s.substr(1), '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  const std::vector<char32_t> cps = CodePoints(s);
  return std::none_of(cps.begin(), cps.end(), IsZkForbidden);
}

// "host:port[,host:port...][/chroot]"; hosts are names, IPv4 or [IPv6].
bool IsConnectString(std::string_view s) {
  const std::size_t slash = s.find('/');
  if (slash != std::string_view::npos && !IsZkPath(s.substr(slash))) return false;
  const std::string_view servers = s.substr(0, slash);
  if (servers.empty()) return false;
  for (std::string_view server : Split(servers, ',')) {
    std::string_view host;
    std::string_view port;
    if (!SplitHostPort(server, &host, &port) || !IsPort(port, 1)) return false;
    if (!IsIpv4(host) && !IsBracketedIpv6(host) && !IsDnsName(host)) return false;
  }
  return true;
}

// "digest:user:password" -> "user:password". The user has no ':'; the
// password may (ZooKeeper splits at the first one).
std::optional<std::string> ParseDigest(std::string_view s) {
  constexpr std::string_view kScheme = "digest:";
  if (!s.starts_with(kScheme) || !IsCleanText(s)) return std::nullopt;
  const std::string_view credentials = s.substr(kScheme.size());
  const std::size_t colon = credentials.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == credentials.size()) {
    return std::nullopt;
  }
  return std::string(credentials);
}

// A bearer token goes into an HTTP header: visible ASCII only.
bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// ---------------------------------------------------------------------------
// Files.

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string ErrnoText(int error) { return std::generic_category().message(error); }

// A file's content and permission bits, read through one descriptor.
struct SmallFile {
  std::string content;
  mode_t mode = 0;  // st_mode & 07777
};

// Reads a whole regular file of at most `max_bytes`. Errors carry the reason
// only ("No such file or directory"); NotFound when the file does not exist.
// O_NONBLOCK: naming a FIFO must give an error, not a hang.
Result<SmallFile> ReadSmallFile(const std::string& path, std::size_t max_bytes) {
  const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ENOENT) return Status::NotFound(ErrnoText(error));
    return Status::InvalidArgument(ErrnoText(error));
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return Status::InvalidArgument(ErrnoText(errno));
  if (!S_ISREG(info.st_mode)) return Status::InvalidArgument("not a regular file");
  SmallFile file;
  file.mode = info.st_mode & 07777;
  std::string& content = file.content;
  std::array<char, 4096> buffer{};
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::InvalidArgument(ErrnoText(errno));
    if (n == 0) return file;
    content.append(buffer.data(), static_cast<std::size_t>(n));
    if (content.size() > max_bytes) {
      return Status::InvalidArgument("larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
}

Result<std::string> HostName() {
  std::array<char, 256> buffer{};  // HOST_NAME_MAX is 64 on Linux
  if (::gethostname(buffer.data(), buffer.size() - 1) != 0) {
    return Status::InvalidArgument(ErrnoText(errno));
  }
  return std::string(buffer.data());
}

// ---------------------------------------------------------------------------
// Settings and keys.

// One value of one key, as one source gave it.
struct Setting {
  std::string key;  // "zk.servers"; "meta" for --meta and ZKELECT_META
  TomlValue value;  // a string unless it came from the file
  bool from_file = false;
  std::string origin;  // "--zk.servers", "ZKELECT_ZK_SERVERS", "<file> line 3", "default"
};

// The value as an error message shows it: TOML syntax, one line. zk.auth is
// a secret: of a string only a ZooKeeper auth scheme before the first ':' is
// shown ("sasl:***"), of any other type nothing (an array, a number).
std::string ShowValue(const Setting& setting) {
  if (setting.key != "zk.auth") return FormatTomlValue(setting.value);
  constexpr std::array<std::string_view, 6> kSchemes = {"digest", "sasl",  "ip",
                                                        "x509",   "world", "auth"};
  const auto* text = std::get_if<std::string>(&setting.value);
  if (text == nullptr) return "***";
  const std::string_view scheme = std::string_view(*text).substr(0, text->find(':'));
  const bool known = scheme.size() < text->size() &&
                     std::find(kSchemes.begin(), kSchemes.end(), scheme) != kSchemes.end();
  return FormatTomlValue(known ? std::string(scheme) + ":***" : "***");
}

// `key = value (from origin): expectation`, the one shape of a bad value.
Status Invalid(const Setting& setting, std::string_view expectation) {
  return Status::InvalidArgument(setting.key + " = " + ShowValue(setting) + " (from " +
                                 setting.origin + "): " + std::string(expectation));
}

// kArgv: a command run without a shell. In the file an array of strings; in
// flags and the environment a JSON array of strings, or words split on
// whitespace. kAddresses: a kList that the file may also give as one string.
enum class Kind { kString, kBool, kInteger, kDuration, kList, kAddresses, kArgv };

// A value converted to its key's kind, before the key's own checks.
using Typed = std::variant<std::string, bool, std::int64_t, milliseconds, std::vector<std::string>>;

// Checks a value of the key's kind and stores it into the config; false when
// the value is not acceptable.
using Check = bool (*)(const Typed& value, Config* config);

struct KeySpec {
  std::string_view key;
  Kind kind;
  std::string_view example;    // a good value in TOML syntax, for type errors
  std::string_view expected;   // what a bad value is told
  std::string_view type_name;  // --help
  std::string_view help;       // --help, with the default
  Check check;
};

const std::string& Text(const Typed& v) { return std::get<std::string>(v); }
milliseconds Millis(const Typed& v) { return std::get<milliseconds>(v); }

bool CheckId(const Typed& v, Config* c) {
  if (Text(v).empty() || Text(v).size() > kMaxIdBytes || !IsCleanText(Text(v))) return false;
  c->id = Text(v);
  return true;
}

bool CheckAddress(const Typed& v, Config* c) {
  if (!IsCleanText(Text(v))) return false;
  c->address = Text(v);
  return true;
}

bool CheckStateDir(const Typed& v, Config* c) {
  if (!IsCleanText(Text(v)) || (!Text(v).empty() && Text(v).front() != '/')) return false;
  c->state_dir = Text(v);
  return true;
}

bool CheckZkServers(const Typed& v, Config* c) {
  if (!IsConnectString(Text(v))) return false;
  c->zk.servers = Text(v);
  return true;
}

bool CheckSessionTimeout(const Typed& v, Config* c) {
  if (Millis(v) < std::chrono::seconds(1) || Millis(v) > std::chrono::minutes(10)) return false;
  c->zk.session_timeout = Millis(v);
  return true;
}

bool CheckAuth(const Typed& v, Config* c) {
  if (Text(v).empty()) {
    c->zk.digest_auth.clear();
    return true;
  }
  std::optional<std::string> credentials = ParseDigest(Text(v));
  if (!credentials) return false;
  c->zk.digest_auth = std::move(*credentials);
  return true;
}

bool CheckAuthFile(const Typed& v, Config* c) {
  if (!IsCleanText(Text(v))) return false;
  c->zk.auth_file = Text(v);
  return true;
}

// Whether the path is under /zookeeper is checked by Finish(), which says so.
bool CheckElectionPath(const Typed& v, Config* c) {
  if (!IsZkPath(Text(v))) return false;
  c->election.path = Text(v);
  return true;
}

bool CheckCampaign(const Typed& v, Config* c) {
  c->election.campaign = std::get<bool>(v);
  return true;
}

bool CheckPriority(const Typed& v, Config* c) {
  const std::int64_t n = std::get<std::int64_t>(v);
  if (n < 0 || n > kMaxPriority) return false;
  c->election.priority = n;
  return true;
}

bool CheckPreempt(const Typed& v, Config* c) {
  c->election.preempt = std::get<bool>(v);
  return true;
}

bool CheckPreemptDelay(const Typed& v, Config* c) {
  if (Millis(v) < milliseconds(0) || Millis(v) > std::chrono::hours(1)) return false;
  c->election.preempt_delay = Millis(v);
  return true;
}

bool CheckRecheckInterval(const Typed& v, Config* c) {
  if (Millis(v) < std::chrono::seconds(1)) return false;
  c->election.recheck_interval = Millis(v);
  return true;
}

// "unix:/absolute/path", short enough for sockaddr_un's sun_path (with
// its terminating NUL).
bool IsUnixListenAddress(std::string_view address) {
  constexpr std::string_view kScheme = "unix:";
  constexpr std::size_t kMaxPathBytes = sizeof(sockaddr_un::sun_path) - 1;
  if (!address.starts_with(kScheme)) return false;
  const std::string_view path = address.substr(kScheme.size());
  return path.starts_with('/') && path.size() <= kMaxPathBytes && path.find('\0') == path.npos &&
         IsCleanText(path);
}

bool IsListenAddress(std::string_view address) {
  if (IsUnixListenAddress(address)) return true;
  std::string_view host;
  std::string_view port;
  if (!SplitHostPort(address, &host, &port) || !IsPort(port, 0)) return false;
  return IsIpv4(host) || IsBracketedIpv6(host) || host == "localhost";
}

bool CheckListen(const Typed& v, Config* c) {
  const auto& addresses = std::get<std::vector<std::string>>(v);
  if (addresses.empty() || !std::all_of(addresses.begin(), addresses.end(), IsListenAddress)) {
    return false;
  }
  c->http.listen = addresses;
  return true;
}

// An octal mode of permission bits only ("0660", "660"): the socket file
// must not become setuid or sticky by a typo.
bool CheckSocketMode(const Typed& v, Config* c) {
  const std::string& text = Text(v);
  if (text.size() < 3 || text.size() > 4 ||
      !std::all_of(text.begin(), text.end(), [](char d) { return d >= '0' && d <= '7'; })) {
    return false;
  }
  const unsigned mode = static_cast<unsigned>(std::stoul(text, nullptr, 8));
  if (mode > 0777) return false;
  c->http.socket_mode = mode;
  return true;
}

bool CheckAllowedHosts(const Typed& v, Config* c) {
  std::vector<std::string> hosts;
  for (const std::string& host : std::get<std::vector<std::string>>(v)) {
    if (!IsDnsName(host)) return false;
    hosts.push_back(AsciiLower(host));
  }
  c->http.allowed_hosts = std::move(hosts);
  return true;
}

bool CheckTokenFile(const Typed& v, Config* c) {
  if (!IsCleanText(Text(v))) return false;
  c->http.token_file = Text(v);
  return true;
}

bool CheckMaxWaiters(const Typed& v, Config* c) {
  const std::int64_t n = std::get<std::int64_t>(v);
  if (n < 1 || n > 10'000) return false;
  c->http.max_waiters = static_cast<int>(n);
  return true;
}

// Below this a long-poll is no wait at all: every request would come back at
// once, and `zkelect wait` and the status page would spin.
constexpr milliseconds kMinLongPollWait = std::chrono::seconds(1);

bool CheckDefaultWait(const Typed& v, Config* c) {
  if (Millis(v) < kMinLongPollWait) return false;
  c->http.default_wait = Millis(v);
  return true;
}

bool CheckMaxWait(const Typed& v, Config* c) {
  if (Millis(v) < kMinLongPollWait) return false;
  c->http.max_wait = Millis(v);
  return true;
}

bool CheckLogLevel(const Typed& v, Config* c) {
  constexpr std::array<std::string_view, 5> kLevels = {"trace", "debug", "info", "warn", "error"};
  if (std::find(kLevels.begin(), kLevels.end(), Text(v)) == kLevels.end()) return false;
  c->log.level = Text(v);
  return true;
}

bool CheckLogFormat(const Typed& v, Config* c) {
  if (Text(v) == "text") {
    c->log.format = LogConfig::Format::kText;
  } else if (Text(v) == "json") {
    c->log.format = LogConfig::Format::kJson;
  } else {
    return false;
  }
  return true;
}

bool CheckArgv(const Typed& v, std::vector<std::string>* out) {
  const auto& argv = std::get<std::vector<std::string>>(v);
  if (!argv.empty() && argv[0].empty()) return false;
  for (const std::string& arg : argv) {
    if (arg.find('\0') != std::string::npos) return false;
  }
  *out = argv;
  return true;
}
bool CheckOnStart(const Typed& v, Config* c) { return CheckArgv(v, &c->hooks.on_start); }
bool CheckOnStop(const Typed& v, Config* c) { return CheckArgv(v, &c->hooks.on_stop); }
bool CheckOnChange(const Typed& v, Config* c) { return CheckArgv(v, &c->hooks.on_change); }
bool CheckHealthCommand(const Typed& v, Config* c) { return CheckArgv(v, &c->health.command); }

bool CheckHookTimeout(const Typed& v, Config* c) {
  if (Millis(v) < milliseconds(100) || Millis(v) > std::chrono::hours(1)) return false;
  c->hooks.timeout = Millis(v);
  return true;
}

bool CheckKillGrace(const Typed& v, Config* c) {
  if (Millis(v) < milliseconds(100) || Millis(v) > std::chrono::minutes(10)) return false;
  c->hooks.kill_grace = Millis(v);
  return true;
}

bool CheckStartFailure(const Typed& v, Config* c) {
  if (Text(v) == "resign") {
    c->hooks.start_failure = HooksConfig::StartFailure::kResign;
  } else if (Text(v) == "ignore") {
    c->hooks.start_failure = HooksConfig::StartFailure::kIgnore;
  } else {
    return false;
  }
  return true;
}

// http://HOST:PORT/PATH with HOST on loopback: the probe never leaves the host.
bool CheckHealthHttp(const Typed& v, Config* c) {
  const std::string& url = Text(v);
  if (!url.empty()) {
    constexpr std::string_view kScheme = "http://";
    if (!url.starts_with(kScheme) || !IsCleanText(url)) return false;
    const std::string_view rest = std::string_view(url).substr(kScheme.size());
    const std::string_view authority = rest.substr(0, rest.find('/'));
    std::string_view host;
    std::string_view port;
    if (!SplitHostPort(authority, &host, &port) || !IsPort(port, 1)) return false;
    if (host != "localhost" && host != "[::1]" && !(IsIpv4(host) && host.starts_with("127."))) {
      return false;
    }
  }
  c->health.http = url;
  return true;
}

bool CheckHealthInterval(const Typed& v, Config* c) {
  if (Millis(v) < milliseconds(100)) return false;
  c->health.interval = Millis(v);
  return true;
}

bool CheckHealthTimeout(const Typed& v, Config* c) {
  if (Millis(v) < milliseconds(100)) return false;
  c->health.timeout = Millis(v);
  return true;
}

bool CheckCount(const Typed& v, int* out) {
  const std::int64_t n = std::get<std::int64_t>(v);
  if (n < 1 || n > 100) return false;
  *out = static_cast<int>(n);
  return true;
}
bool CheckRise(const Typed& v, Config* c) { return CheckCount(v, &c->health.rise); }
bool CheckFall(const Typed& v, Config* c) { return CheckCount(v, &c->health.fall); }

bool CheckChildOnExit(const Typed& v, Config* c) {
  if (Text(v) == "resign") {
    c->child.on_exit = ChildConfig::OnExit::kResign;
  } else if (Text(v) == "restart") {
    c->child.on_exit = ChildConfig::OnExit::kRestart;
  } else {
    return false;
  }
  return true;
}

bool CheckChildStopGrace(const Typed& v, Config* c) {
  if (Millis(v) < milliseconds(100) || Millis(v) > std::chrono::minutes(10)) return false;
  c->child.stop_grace = Millis(v);
  return true;
}

// Every key but `meta`, in the order of config/zkelect.toml.
constexpr std::array<KeySpec, 36> kKeys = {{
    {"id", Kind::kString, R"("web-1")",
     "expected a non-empty name of at most 255 bytes without control characters", "ID",
     "this candidate's id, published in its node [default: the host name]", &CheckId},
    {"address", Kind::kString, R"("10.0.0.5:8080")",
     "expected text without control characters, like 10.0.0.5:8080", "ADDRESS",
     "what followers should use to reach the leader's application [default: empty]", &CheckAddress},
    {"state_dir", Kind::kString, R"("/var/lib/zkelect")",
     "expected an absolute directory path, or empty for none", "DIR",
     "where maintenance mode persists across restarts [default: empty, not persisted]",
     &CheckStateDir},
    {"zk.servers", Kind::kString, R"("127.0.0.1:2181")",
     "expected a ZooKeeper connect string host:port[,host:port...][/chroot] like "
     "zk1:2181,zk2:2181/app",
     "HOST:PORT,...", "ZooKeeper connect string, chroot allowed [default: 127.0.0.1:2181]",
     &CheckZkServers},
    {"zk.session_timeout", Kind::kDuration, R"("10s")", "expected a duration from 1s to 10m",
     "DURATION", "requested ZooKeeper session timeout [default: 10s]", &CheckSessionTimeout},
    {"zk.auth", Kind::kString, R"("digest:user:password")", "expected digest:user:password",
     "digest:USER:PASSWORD",
     "ZooKeeper digest credentials; as a flag visible to every user of the host in ps: "
     "prefer --zk.auth_file [default: none]",
     &CheckAuth},
    {"zk.auth_file", Kind::kString, R"("/etc/zkelect/zk-auth")",
     "expected the path of a file holding digest:user:password", "FILE",
     "file holding digest:user:password (mode 0640, group zkelect), instead of --zk.auth "
     "[default: none]",
     &CheckAuthFile},
    {"election.path", Kind::kString, R"("/zkelect/default")",
     "expected an absolute ZooKeeper path like /zkelect/default", "PATH",
     "ZooKeeper path of the election [default: /zkelect/default]", &CheckElectionPath},
    {"election.campaign", Kind::kBool, "true", "expected true or false", "true|false",
     "false: observe the election and never lead [default: true]", &CheckCampaign},
    {"election.recheck_interval", Kind::kDuration, R"("30s")", "expected a duration of at least 1s",
     "DURATION", "period of the full re-read of the candidates [default: 30s]",
     &CheckRecheckInterval},
    {"election.priority", Kind::kInteger, "10", "expected an integer from 0 to 1000000", "N",
     "higher leads first; a lower-priority node first in line yields its place [default: 0]",
     &CheckPriority},
    {"election.preempt", Kind::kBool, "true", "expected true or false", "true|false",
     "true: a leader hands over to a higher-priority candidate registered for "
     "election.preempt_delay [default: false]",
     &CheckPreempt},
    {"election.preempt_delay", Kind::kDuration, R"("10s")", "expected a duration from 0s to 1h",
     "DURATION",
     "how long a higher-priority candidate must be registered before a leader hands over "
     "[default: 10s]",
     &CheckPreemptDelay},
    {"http.listen", Kind::kAddresses, R"("127.0.0.1:4040")",
     "expected host:port with host an IPv4 address, [IPv6 address] or localhost and port "
     "0-65535, like 127.0.0.1:4040, or unix:/absolute/path of at most 107 bytes, like "
     "unix:/run/zkelect/api.sock (one, or a list)",
     "ADDRESS,...",
     "HTTP API addresses: host:port (port 0 picks a free one) or unix:/path "
     "[default: 127.0.0.1:4040]",
     &CheckListen},
    {"http.socket_mode", Kind::kString, R"("0660")",
     "expected an octal mode of permission bits from 000 to 0777, like 0660", "MODE",
     "permissions of the socket files of unix: listeners [default: 0660]", &CheckSocketMode},
    {"http.allowed_hosts", Kind::kList, R"(["app.example.com"])",
     "expected DNS names like app.example.com", "NAME,...",
     "DNS names accepted in the Host header besides localhost [default: none]", &CheckAllowedHosts},
    {"http.token_file", Kind::kString, R"("/etc/zkelect/token")",
     "expected the path of a file holding the bearer token", "FILE",
     "file holding the bearer token required by POST endpoints [default: none]", &CheckTokenFile},
    {"http.max_waiters", Kind::kInteger, "64", "expected an integer from 1 to 10000", "N",
     "most long-poll requests parked at once [default: 64]", &CheckMaxWaiters},
    {"http.default_wait", Kind::kDuration, R"("60s")", "expected a duration of at least 1s",
     "DURATION", "long-poll wait when a request gives none, at least 1s [default: 60s]",
     &CheckDefaultWait},
    {"http.max_wait", Kind::kDuration, R"("10m")", "expected a duration of at least 1s", "DURATION",
     "longest long-poll wait a request may ask for, at least 1s [default: 10m]", &CheckMaxWait},
    {"hooks.on_start", Kind::kArgv, R"(["/usr/local/bin/promote", "--fast"])",
     "expected a command as an array of strings, like [\"/usr/local/bin/promote\", \"--fast\"]",
     "ARGV", "command run when this node becomes leader [default: none]", &CheckOnStart},
    {"hooks.on_stop", Kind::kArgv, R"(["/usr/local/bin/demote"])",
     "expected a command as an array of strings, like [\"/usr/local/bin/demote\"]", "ARGV",
     "command run when this node stops leading [default: none]", &CheckOnStop},
    {"hooks.on_change", Kind::kArgv, R"(["/usr/local/bin/reroute"])",
     "expected a command as an array of strings, like [\"/usr/local/bin/reroute\"]", "ARGV",
     "command run on every node when the leader changes [default: none]", &CheckOnChange},
    {"hooks.timeout", Kind::kDuration, R"("30s")", "expected a duration from 100ms to 1h",
     "DURATION", "longest a hook may run before SIGTERM [default: 30s]", &CheckHookTimeout},
    {"hooks.kill_grace", Kind::kDuration, R"("5s")", "expected a duration from 100ms to 10m",
     "DURATION", "time from SIGTERM to SIGKILL for a hook past its timeout [default: 5s]",
     &CheckKillGrace},
    {"hooks.start_failure", Kind::kString, R"("resign")", "expected resign or ignore", "POLICY",
     "what a failed start hook means: resign or ignore [default: resign]", &CheckStartFailure},
    {"health.command", Kind::kArgv, R"(["/usr/local/bin/app-healthy"])",
     "expected a command as an array of strings, like [\"/usr/local/bin/app-healthy\"]", "ARGV",
     "local health check command, healthy when it exits 0 [default: none]", &CheckHealthCommand},
    {"health.http", Kind::kString, R"("http://127.0.0.1:8080/health")",
     "expected an http:// URL on loopback, like http://127.0.0.1:8080/health", "URL",
     "local health check URL, healthy on 2xx [default: none]", &CheckHealthHttp},
    {"health.interval", Kind::kDuration, R"("5s")", "expected a duration of at least 100ms",
     "DURATION", "time between health checks [default: 5s]", &CheckHealthInterval},
    {"health.timeout", Kind::kDuration, R"("2s")", "expected a duration of at least 100ms",
     "DURATION", "longest one health check may take [default: 2s]", &CheckHealthTimeout},
    {"health.rise", Kind::kInteger, "2", "expected an integer from 1 to 100", "N",
     "consecutive successes to become healthy [default: 2]", &CheckRise},
    {"health.fall", Kind::kInteger, "3", "expected an integer from 1 to 100", "N",
     "consecutive failures to become unhealthy [default: 3]", &CheckFall},
    {"child.on_exit", Kind::kString, R"("resign")", "expected resign or restart", "POLICY",
     "when the leader-only child exits by itself: resign or restart [default: resign]",
     &CheckChildOnExit},
    {"log.level", Kind::kString, R"("info")", "expected one of trace, debug, info, warn, error",
     "LEVEL", "trace, debug, info, warn or error [default: info]", &CheckLogLevel},
    {"log.format", Kind::kString, R"("text")", "expected text or json", "FORMAT",
     "text, or json for one JSON object a line [default: text]", &CheckLogFormat},
    {"child.stop_grace", Kind::kDuration, R"("10s")", "expected a duration from 100ms to 10m",
     "DURATION", "time from SIGTERM to SIGKILL when stopping the leader-only child [default: 10s]",
     &CheckChildStopGrace},
}};

const KeySpec* FindKey(std::string_view key) {
  for (const KeySpec& spec : kKeys) {
    if (spec.key == key) return &spec;
  }
  return nullptr;
}

// ZKELECT_ + the key upper-cased, '.' -> '_'.
std::string EnvName(std::string_view key) {
  std::string name = kEnvPrefix;
  for (char c : key) {
    if (c == '.') {
      name += '_';
    } else if (c >= 'a' && c <= 'z') {
      name += static_cast<char>(c - 'a' + 'A');
    } else {
      name += c;
    }
  }
  return name;
}

std::string_view LastPart(std::string_view key) {
  const std::size_t dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

// A known key the unknown one was probably meant to be: the same name under
// another table, or one within two typos (fewer for short keys, so that "zk"
// does not suggest "id"). Empty when none.
std::string_view Suggest(std::string_view unknown) {
  for (const KeySpec& spec : kKeys) {
    if (LastPart(spec.key) == LastPart(unknown)) return spec.key;
  }
  if (unknown.size() > 64) return {};
  std::string_view best;
  std::size_t best_distance = 3;
  for (const KeySpec& spec : kKeys) {
    const std::size_t distance = EditDistance(unknown, spec.key);
    if (distance < best_distance && distance * 3 <= unknown.size()) {
      best = spec.key;
      best_distance = distance;
    }
  }
  return best;
}

// The value is not shown: a typo of zk.auth would otherwise leak a password.
Status UnknownKey(const Setting& setting) {
  std::string message = setting.key + " (from " + setting.origin + "): unknown key";
  if (const std::string_view suggestion = Suggest(setting.key); !suggestion.empty()) {
    message += " (did you mean " + std::string(suggestion) + "?)";
  }
  return Status::InvalidArgument(message);
}

std::string TypeExpectation(const KeySpec& spec) {
  switch (spec.kind) {
    case Kind::kBool:
      return "expected true or false";
    case Kind::kInteger:
      return "expected an integer, like " + std::string(spec.example);
    case Kind::kDuration:
      return "expected a duration string, like " + std::string(spec.example);
    case Kind::kList:
    case Kind::kArgv:
      return "expected an array of strings, like " + std::string(spec.example);
    case Kind::kAddresses:
      return "expected a string or an array of strings, like " + std::string(spec.example);
    case Kind::kString:
      break;
  }
  return "expected a string, like " + std::string(spec.example);
}

Result<Typed> ParseDurationSetting(const Setting& setting, const std::string& text) {
  Result<milliseconds> d = ParseDuration(text);
  if (!d.ok()) return Invalid(setting, d.status().message());
  return Typed(*d);
}

// A value from the file: TOML types must match the key's kind.
Result<Typed> ConvertToml(const KeySpec& spec, const Setting& setting) {
  const TomlValue& value = setting.value;
  const auto* text = std::get_if<std::string>(&value);
  switch (spec.kind) {
    case Kind::kString:
      if (text != nullptr) return Typed(*text);
      break;
    case Kind::kBool:
      if (const auto* b = std::get_if<bool>(&value)) return Typed(std::in_place_type<bool>, *b);
      break;
    case Kind::kInteger:
      if (const auto* i = std::get_if<std::int64_t>(&value)) return Typed(*i);
      break;
    case Kind::kDuration:
      if (text != nullptr) return ParseDurationSetting(setting, *text);
      break;
    case Kind::kAddresses:
      if (text != nullptr) return Typed(std::vector<std::string>{*text});
      [[fallthrough]];
    case Kind::kList:
    case Kind::kArgv:
      if (const auto* array = std::get_if<TomlArray>(&value)) {
        std::vector<std::string> items;
        for (const TomlScalar& element : *array) {
          const auto* item = std::get_if<std::string>(&element);
          if (item == nullptr) return Invalid(setting, TypeExpectation(spec));
          items.push_back(*item);
        }
        return Typed(std::move(items));
      }
      break;
  }
  return Invalid(setting, TypeExpectation(spec));
}

// A value from a flag or the environment: text, read according to the kind.
Result<Typed> ConvertText(const KeySpec& spec, const Setting& setting) {
  const std::string& text = std::get<std::string>(setting.value);
  switch (spec.kind) {
    case Kind::kString:
      return Typed(text);
    case Kind::kBool:
      if (text == "true" || text == "false") {
        return Typed(std::in_place_type<bool>, text == "true");
      }
      return Invalid(setting, spec.expected);
    case Kind::kInteger: {
      std::int64_t n = 0;
      const char* end = text.data() + text.size();
      const auto [ptr, error] = std::from_chars(text.data(), end, n);
      if (text.empty() || error != std::errc() || ptr != end) {
        return Invalid(setting, spec.expected);
      }
      return Typed(n);
    }
    case Kind::kDuration:
      return ParseDurationSetting(setting, text);
    case Kind::kList:
    case Kind::kAddresses: {
      std::vector<std::string> items;
      if (Trim(text).empty()) return Typed(std::move(items));
      for (std::string_view item : Split(text, ',')) items.emplace_back(Trim(item));
      return Typed(std::move(items));
    }
    case Kind::kArgv: {
      std::vector<std::string> argv;
      if (Trim(text).starts_with("[")) {
        const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (!doc.is_array()) return Invalid(setting, spec.expected);
        for (const nlohmann::json& arg : doc) {
          if (!arg.is_string()) return Invalid(setting, spec.expected);
          argv.push_back(arg.get<std::string>());
        }
        return Typed(std::move(argv));
      }
      std::istringstream words(text);
      for (std::string word; words >> word;) argv.push_back(word);
      return Typed(std::move(argv));
    }
  }
  return Invalid(setting, spec.expected);
}

// ---------------------------------------------------------------------------
// Merging.

// The configuration being built, where each of its values came from, and
// what to warn about.
struct Loading {
  Config config;
  std::map<std::string, Setting> winners;  // key -> the setting its value came from
  std::vector<std::string> warnings;
};

// "0644", as chmod writes a mode.
std::string OctalMode(mode_t mode) {
  std::ostringstream out;
  out << std::oct << std::setw(4) << std::setfill('0') << mode;
  return out.str();
}

// A configuration file that others may write lets any local user run code
// as the daemon's user (hooks.on_start), and a secret file that others may
// write lets them replace the credentials: refused, as sshd refuses such
// files. Group-writable is left to the operator (the zkelect group).
Status CheckNotWritableByOthers(const Setting& setting, mode_t mode) {
  if ((mode & S_IWOTH) == 0) return Status::Ok();
  return Invalid(setting, "expected a file that only its owner and group may write (mode " +
                              OctalMode(mode) + "; chmod o-w)");
}

// Reads the secret file at `path`, which `setting` names and which holds
// `what`. Refused when others may write it; a warning when they may read it.
Result<std::string> ReadSecretFile(const std::string& path, const Setting& setting,
                                   const std::string& what, Loading* loading) {
  Result<SmallFile> file = ReadSmallFile(path, kMaxSecretFileBytes);
  if (!file.ok()) {
    return Invalid(
        setting, "expected a readable file holding " + what + " (" + file.status().message() + ")");
  }
  if (Status s = CheckNotWritableByOthers(setting, file->mode); !s.ok()) return s;
  if ((file->mode & S_IROTH) != 0) {
    loading->warnings.push_back(setting.key + " = " + ShowValue(setting) + " (from " +
                                setting.origin + "): every user may read this secret (mode " +
                                OctalMode(file->mode) + "; chmod o-r)");
  }
  return std::move(file->content);
}

Status Apply(const KeySpec& spec, Setting setting, Loading* loading) {
  Result<Typed> typed = setting.from_file ? ConvertToml(spec, setting) : ConvertText(spec, setting);
  if (!typed.ok()) return typed.status();
  if (!spec.check(*typed, &loading->config)) return Invalid(setting, spec.expected);
  loading->winners[std::string(spec.key)] = std::move(setting);
  return Status::Ok();
}

// The setting a key's current value came from; its default when no source
// gave one (`default_text` is the default as written in the file).
Setting WinnerOrDefault(const Loading& loading, const std::string& key, std::string default_text) {
  auto it = loading.winners.find(key);
  if (it != loading.winners.end()) return it->second;
  return Setting{key, std::move(default_text), false, "default"};
}

bool ParseMetaPair(std::string_view item, std::string* key, std::string* value) {
  const std::size_t eq = item.find('=');
  if (eq == std::string_view::npos) return false;
  *key = std::string(Trim(item.substr(0, eq)));
  *value = std::string(Trim(item.substr(eq + 1)));
  return !key->empty() && IsCleanText(*key) && IsCleanText(*value);
}

// --meta k=v (one pair; the value may hold commas) or ZKELECT_META (pairs
// separated by commas; empty for none).
Status ApplyMetaText(const Setting& setting, bool comma_separated, Loading* loading) {
  const std::string& text = std::get<std::string>(setting.value);
  std::vector<std::string_view> items;
  if (!comma_separated) {
    items.push_back(text);
  } else if (!Trim(text).empty()) {
    items = Split(text, ',');
  }
  std::map<std::string, std::string> pairs;
  for (std::string_view item : items) {
    std::string key;
    std::string value;
    if (!ParseMetaPair(item, &key, &value)) {
      return Invalid(setting, comma_separated ? "expected comma-separated key=value pairs like "
                                                "zone=eu-1,rack=r7"
                                              : "expected key=value like zone=eu-1");
    }
    pairs[key] = value;
  }
  for (auto& [key, value] : pairs) loading->config.meta[key] = std::move(value);
  return Status::Ok();
}

// meta.<key> = "value" in the file.
Status ApplyFileMeta(const TomlEntry& entry, const Setting& setting, Loading* loading) {
  const auto* value = std::get_if<std::string>(&entry.value);
  if (entry.path.size() != 2 || value == nullptr || entry.path[1].empty() ||
      !IsCleanText(entry.path[1]) || !IsCleanText(*value)) {
    return Invalid(setting, R"(expected a table of strings, like [meta] zone = "eu-1")");
  }
  loading->config.meta[entry.path[1]] = *value;
  return Status::Ok();
}

Status LoadFile(const RawFlags& flags, const Environment& env, Loading* loading) {
  std::string path = flags.default_config_path;
  std::string origin = "default";
  bool named = true;
  if (flags.config_path) {
    path = *flags.config_path;
    origin = "--config";
  } else if (auto it = env.find(kConfigEnv); it != env.end()) {
    path = it->second;
    origin = kConfigEnv;
  } else {
    named = false;
  }
  if (path.empty()) return Status::Ok();

  const Setting config_setting{"config", path, false, origin};
  Result<SmallFile> file = ReadSmallFile(path, kMaxConfigFileBytes);
  if (!file.ok()) {
    if (!named && file.status().code() == Status::Code::kNotFound) return Status::Ok();
    return Invalid(config_setting,
                   "expected a readable TOML file (" + file.status().message() + ")");
  }
  if (Status s = CheckNotWritableByOthers(config_setting, file->mode); !s.ok()) return s;
  Result<TomlDocument> document = ParseToml(file->content, path);
  if (!document.ok()) return document.status();

  // In the order of the file, so that the first problem reported is the
  // first one a reader meets.
  std::vector<const std::pair<const std::string, TomlEntry>*> entries;
  for (const auto& item : *document) entries.push_back(&item);
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto* a, const auto* b) { return a->second.line < b->second.line; });
  for (const auto* item : entries) {
    const auto& [key, entry] = *item;
    if (flags.only_file_keys && !flags.only_file_keys->contains(key)) continue;
    Setting setting{key, entry.value, true, path + " line " + std::to_string(entry.line)};
    if (entry.path.front() == "meta") {
      if (Status s = ApplyFileMeta(entry, setting, loading); !s.ok()) return s;
      continue;
    }
    const KeySpec* spec = FindKey(key);
    if (spec == nullptr) return UnknownKey(setting);
    if (Status s = Apply(*spec, std::move(setting), loading); !s.ok()) return s;
  }
  return Status::Ok();
}

// The variables zkelect sets for its hooks and its leader-only child: a
// zkelect started from a hook inherits them. ZKELECT_ID is a key as well.
constexpr std::array<std::string_view, 10> kHookVariables = {
    "ZKELECT_EVENT",     "ZKELECT_REASON",         "ZKELECT_ID",    "ZKELECT_ELECTION",
    "ZKELECT_LEADER_ID", "ZKELECT_LEADER_ADDRESS", "ZKELECT_EPOCH", "ZKELECT_PREVIOUS_LEADER_ID",
    "ZKELECT_PRIORITY",  "ZKELECT_LEADER_PRIORITY"};

// A variable's name spelled as a key: ZKELECT_ZK_SESION_TIMEOUT ->
// "zk.sesion_timeout" (the first '_' becomes '.' after a table's name).
std::string KeyOfVariable(std::string_view name) {
  std::string key = AsciiLower(name.substr(std::string_view(kEnvPrefix).size()));
  const std::size_t underscore = key.find('_');
  if (underscore == std::string::npos) return key;
  const std::string table = key.substr(0, underscore) + ".";
  if (std::any_of(kKeys.begin(), kKeys.end(),
                  [&table](const KeySpec& spec) { return spec.key.starts_with(table); })) {
    key[underscore] = '.';
  }
  return key;
}

std::size_t DistanceToHookVariable(std::string_view name) {
  std::size_t best = std::string_view::npos;
  for (std::string_view hook : kHookVariables) best = std::min(best, EditDistance(name, hook));
  return best;
}

// The key whose variable is the fewest edits away from `name`.
std::string_view ClosestKey(std::string_view name) {
  std::string_view best = kKeys.front().key;
  std::size_t best_distance = std::string_view::npos;
  for (const KeySpec& spec : kKeys) {
    if (const std::size_t distance = EditDistance(name, EnvName(spec.key));
        distance < best_distance) {
      best = spec.key;
      best_distance = distance;
    }
  }
  return best;
}

// ZKELECT_ is zkelect's namespace, but not only zkelect's: scripts and other
// tools use it (bench/run-all exports ZKELECT_BIN), and a zkelect started
// from a hook inherits the hook variables, maybe of another version. A name
// within a typo of a key's variable (ZKELECT_ELECTON_PATH) is an error, like
// a misspelt key in the file: ignored, it would silently put the node in the
// wrong election. Any other unknown name is a warning. The value is never
// shown (a misspelt ZKELECT_ZK_AUTH holds a password).
Status CheckUnknownVariables(const Environment& env, Loading* loading) {
  for (const auto& variable : env) {
    const std::string& name = variable.first;  // a lambda may capture it (not a binding)
    if (!name.starts_with(kEnvPrefix) || name == kConfigEnv || name == kMetaEnv) continue;
    const auto is_name = [&name](std::string_view known) { return known == name; };
    if (std::any_of(kHookVariables.begin(), kHookVariables.end(), is_name) ||
        std::any_of(kKeys.begin(), kKeys.end(),
                    [&name](const KeySpec& spec) { return EnvName(spec.key) == name; })) {
      continue;
    }
    const std::string prefix = name + " (from the environment): ";
    const std::string_view suggestion = Suggest(KeyOfVariable(name));
    if (!suggestion.empty() &&
        EditDistance(name, EnvName(suggestion)) <= DistanceToHookVariable(name)) {
      return Status::InvalidArgument(prefix + "unknown variable (did you mean " +
                                     EnvName(suggestion) + ", key " + std::string(suggestion) +
                                     "?)");
    }
    // ZKELECT_HTTP_TOKEN, ZKELECT_ZK_AUTH_...: a secret given as a value
    // where zkelect takes it from a file alone (the environment of a process
    // is readable by others, /proc/PID/environ): the *_FILE key, not the
    // nearest spelling (which was ZKELECT_HTTP_LISTEN).
    const std::string file_variable = name + "_FILE";
    if (const auto file_key = std::find_if(
            kKeys.begin(), kKeys.end(),
            [&file_variable](const KeySpec& spec) { return EnvName(spec.key) == file_variable; });
        file_key != kKeys.end()) {
      loading->warnings.push_back(prefix +
                                  "not a zkelect variable, ignored (zkelect reads this value from "
                                  "a file only: " +
                                  file_variable + ", key " + std::string(file_key->key) +
                                  ", names that file)");
      continue;
    }
    const std::string_view closest = ClosestKey(name);
    loading->warnings.push_back(prefix + "not a zkelect variable, ignored (the closest is " +
                                EnvName(closest) + ", key " + std::string(closest) + ")");
  }
  return Status::Ok();
}

Status LoadEnvironment(const Environment& env, Loading* loading) {
  if (Status s = CheckUnknownVariables(env, loading); !s.ok()) return s;
  for (const KeySpec& spec : kKeys) {
    const std::string name = EnvName(spec.key);
    if (auto it = env.find(name); it != env.end()) {
      if (Status s = Apply(spec, Setting{std::string(spec.key), it->second, false, name}, loading);
          !s.ok()) {
        return s;
      }
    }
  }
  if (auto it = env.find(kMetaEnv); it != env.end()) {
    return ApplyMetaText(Setting{"meta", it->second, false, kMetaEnv}, true, loading);
  }
  return Status::Ok();
}

Status LoadFlags(const RawFlags& flags, Loading* loading) {
  for (const auto& [key, value] : flags.values) {
    const Setting setting{key, value, false, "--" + key};
    const KeySpec* spec = FindKey(key);
    if (spec == nullptr) return UnknownKey(setting);
    if (Status s = Apply(*spec, setting, loading); !s.ok()) return s;
  }
  for (const std::string& item : flags.meta) {
    if (Status s = ApplyMetaText(Setting{"meta", item, false, "--meta"}, false, loading); !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

// Checks across keys, the default id, and the files the configuration names.
Status Finish(Loading* loading) {
  Config& config = loading->config;

  if (!loading->winners.contains("id")) {
    Result<std::string> host = HostName();
    if (!host.ok()) {
      return Status::InvalidArgument("id: cannot read the host name (" + host.status().message() +
                                     "); set id");
    }
    if (Status s = Apply(*FindKey("id"), Setting{"id", *host, false, "the host name"}, loading);
        !s.ok()) {
      return s;
    }
  }

  const std::string& path = config.election.path;
  if (path == "/zookeeper" || path.starts_with("/zookeeper/")) {
    return Invalid(loading->winners.at("election.path"),
                   "expected a path outside /zookeeper, which ZooKeeper reserves for itself");
  }

  if (config.http.default_wait > config.http.max_wait) {
    if (loading->winners.contains("http.default_wait")) {
      return Invalid(
          loading->winners.at("http.default_wait"),
          "expected at most http.max_wait (" + FormatDuration(config.http.max_wait) + ")");
    }
    return Invalid(
        WinnerOrDefault(*loading, "http.max_wait", FormatDuration(config.http.max_wait)),
        "expected at least http.default_wait (" + FormatDuration(config.http.default_wait) + ")");
  }

  if (!config.zk.auth_file.empty()) {
    const Setting& auth_file = loading->winners.at("zk.auth_file");
    if (!config.zk.digest_auth.empty()) {
      const Setting& auth = loading->winners.at("zk.auth");
      return Invalid(auth_file, "expected zk.auth or zk.auth_file, not both (zk.auth is set from " +
                                    auth.origin + ")");
    }
    Result<std::string> content =
        ReadSecretFile(config.zk.auth_file, auth_file, "digest:user:password", loading);
    if (!content.ok()) return content.status();
    std::optional<std::string> credentials = ParseDigest(Trim(*content));
    if (!credentials) {
      return Invalid(auth_file, "expected a file holding digest:user:password");
    }
    config.zk.digest_auth = std::move(*credentials);
  }

  if (!config.health.command.empty() && !config.health.http.empty()) {
    return Invalid(loading->winners.at("health.http"),
                   "expected health.command or health.http, not both");
  }

  config.http.token.clear();
  if (!config.http.token_file.empty()) {
    const Setting& token_file = loading->winners.at("http.token_file");
    Result<std::string> content =
        ReadSecretFile(config.http.token_file, token_file, "the bearer token", loading);
    if (!content.ok()) return content.status();
    const std::string_view token = Trim(*content);
    if (token.empty()) {
      return Invalid(token_file, "expected a file holding the bearer token (the file is empty)");
    }
    if (!IsToken(token)) {
      return Invalid(token_file,
                     "expected a file holding one bearer token of visible ASCII characters");
    }
    config.http.token = std::string(token);
  }
  return Status::Ok();
}

}  // namespace

void AddConfigFlags(CLI::App& cmd, RawFlags* flags) {
  constexpr char kGroup[] = "Configuration (flag > ZKELECT_* environment > file > default)";
  // expected(0, 1): `--key=` and a bare `--key` give "", instead of CLI11
  // taking the next argument (possibly another option) as the value.
  cmd.add_option_function<std::string>(
         "--config", [flags](const std::string& value) { flags->config_path = value; },
         std::string("TOML configuration file; empty for none [default: ") + kDefaultConfigPath +
             "] (env " + kConfigEnv + ")")
      ->expected(0, 1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->type_name("FILE")
      ->group(kGroup);
  for (const KeySpec& spec : kKeys) {
    const std::string key(spec.key);
    cmd.add_option_function<std::string>(
           "--" + key, [flags, key](const std::string& value) { flags->values[key] = value; },
           std::string(spec.help) + " (env " + EnvName(key) + ")")
        ->expected(0, 1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
        ->type_name(std::string(spec.type_name))
        ->group(kGroup);
  }
  // trigger_on_parse: the callback sees each occurrence, so --meta repeats.
  cmd.add_option_function<std::string>(
         "--meta", [flags](const std::string& value) { flags->meta.push_back(value); },
         std::string("metadata published with the id; repeatable, adds to the [meta] table (env ") +
             kMetaEnv + "=k=v,k2=v2)")
      ->expected(0, 1)
      ->trigger_on_parse()
      ->type_name("KEY=VALUE")
      ->group(kGroup);
}

Environment CurrentEnvironment() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return env;
}

Result<Config> LoadConfig(const RawFlags& flags, const Environment& env,
                          std::vector<std::string>* warnings) {
  Loading loading;
  if (Status s = LoadFile(flags, env, &loading); !s.ok()) return s;
  if (Status s = LoadEnvironment(env, &loading); !s.ok()) return s;
  if (Status s = LoadFlags(flags, &loading); !s.ok()) return s;
  if (Status s = Finish(&loading); !s.ok()) return s;
  if (warnings != nullptr) *warnings = std::move(loading.warnings);
  return std::move(loading.config);
}

}  // namespace zkelect
