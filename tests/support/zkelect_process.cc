#include "support/zkelect_process.h"

#include <csignal>
#include <fstream>
#include <thread>

namespace zkelect::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kListeningMarker = "HTTP API listening on http://127.0.0.1:";
constexpr auto kLogPoll = std::chrono::milliseconds(5);

// The port after the marker in `text`, or 0.
uint16_t ParsePort(const std::string& text) {
  const size_t at = text.find(kListeningMarker);
  if (at == std::string::npos) return 0;
  uint32_t port = 0;
  size_t digits = 0;
  for (size_t i = at + std::char_traits<char>::length(kListeningMarker);
       i < text.size() && digits < 6 && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
    port = port * 10 + static_cast<uint32_t>(text[i] - '0');
  }
  if (digits == 0 || port == 0 || port > 65535) return 0;
  return static_cast<uint16_t>(port);
}

}  // namespace

ZkelectProcess::ZkelectProcess(ZkelectOptions options)
    : options_(std::move(options)),
      dir_("zkelect-" + (options_.id.empty() ? std::string("daemon") : options_.id)),
      log_path_(dir_.Sub("zkelect.log")),
      stderr_path_(dir_.Sub("zkelect.stderr")),
      config_path_(dir_.Sub("zkelect.toml")) {}

ZkelectProcess::~ZkelectProcess() { static_cast<void>(process_.KillAndWait()); }

::testing::AssertionResult ZkelectProcess::Spawn() {
  ChildSpec spec;
  spec.argv = options_.launcher;
  spec.argv.insert(spec.argv.end(), {ZKELECT_BINARY, "run"});
  if (options_.standard_flags) {
    spec.argv.push_back("--id=" + options_.id);
    spec.argv.push_back("--zk.servers=" + options_.servers);
    spec.argv.push_back("--election.path=" + options_.election_path);
    spec.argv.push_back("--zk.session_timeout=" + options_.session_timeout);
    spec.argv.push_back("--http.listen=127.0.0.1:0");
    // An empty config file of our own: the machine's /etc/zkelect/zkelect.toml
    // must not leak into a test.
    std::ofstream(config_path_, std::ios::app).flush();
    spec.argv.push_back("--config=" + config_path_);
  }
  for (const std::string& flag : options_.extra_flags) spec.argv.push_back(flag);
  spec.stdout_path = log_path_;
  if (options_.separate_stderr) spec.stderr_path = stderr_path_;
  spec.working_dir = dir_.path();
  spec.drop_env_prefixes = {"ZKELECT_"};
  for (const auto& [name, value] : options_.env) spec.env[name] = value;

  {
    std::ofstream log(log_path_, std::ios::app);
    log.seekp(0, std::ios::end);
    run_log_offset_ = static_cast<size_t>(log.tellp());
  }
  port_ = 0;
  const std::string error = process_.Spawn(spec);
  if (!error.empty())
    return ::testing::AssertionFailure() << "zkelect " << options_.id << ": " << error;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ZkelectProcess::WaitListening(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const auto max_polls = timeout / kLogPoll + 2;
  for (auto polls = decltype(max_polls){0}; polls < max_polls; ++polls) {
    port_ = ParsePort(run_log_text());
    if (port_ != 0) return ::testing::AssertionSuccess();
    if (!process_.running()) {
      const auto status = process_.exit_status();
      return ::testing::AssertionFailure()
             << "zkelect " << options_.id << " exited before listening ("
             << (status.has_value() ? status->ToString() : std::string("?")) << ")\n"
             << LogTail();
    }
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(kLogPoll);
  }
  return ::testing::AssertionFailure()
         << "zkelect " << options_.id << " printed no \"" << kListeningMarker
         << "PORT\" line within " << timeout.count() << " ms\n"
         << LogTail();
}

::testing::AssertionResult ZkelectProcess::Start(std::chrono::milliseconds timeout) {
  auto spawned = Spawn();
  if (!spawned) return spawned;
  return WaitListening(timeout);
}

std::string ZkelectProcess::log_text() const { return ReadFileOrEmpty(log_path_); }

std::string ZkelectProcess::run_log_text() const {
  const std::string text = log_text();
  return text.size() > run_log_offset_ ? text.substr(run_log_offset_) : std::string();
}

std::string ZkelectProcess::stderr_text() const { return ReadFileOrEmpty(stderr_path_); }

std::string ZkelectProcess::LogTail(int lines) const {
  std::string out = "----- zkelect " + options_.id + ", last " + std::to_string(lines) +
                    " lines of " + log_path_ + " -----\n" + TailOfFile(log_path_, lines);
  if (options_.separate_stderr) {
    out += "----- its stderr -----\n" + TailOfFile(stderr_path_, lines);
  }
  return out;
}

}  // namespace zkelect::test
