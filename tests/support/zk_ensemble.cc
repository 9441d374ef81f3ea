#include "support/zk_ensemble.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/free_port.h"

namespace zkelect::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kJava = "/usr/bin/java";
constexpr const char* kZooKeeperJar = "/usr/share/java/zookeeper.jar";
// slf4j's simple binding, from libslf4j-java (a dependency of zookeeper):
// without a binding ZooKeeper 3.8 logs nothing at all.
constexpr const char* kSlf4jSimpleJar = "/usr/share/java/slf4j-simple.jar";
constexpr milliseconds kServingPoll{50};
constexpr milliseconds kFourLetterTimeout{1000};

// Milliseconds left until `deadline`, at least 1.
int MillisLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left < 1 ? 1 : static_cast<int>(left);
}

std::string ParseMode(const std::string& srvr) {
  const std::string key = "Mode: ";
  const size_t at = srvr.find(key);
  if (at == std::string::npos) return "";
  const size_t end = srvr.find('\n', at);
  std::string mode = srvr.substr(
      at + key.size(), end == std::string::npos ? std::string::npos : end - at - key.size());
  while (!mode.empty() && (mode.back() == '\r' || mode.back() == ' ')) mode.pop_back();
  return mode;
}

}  // namespace

ZkEnsemble::ZkEnsemble(ZkEnsembleOptions options) : options_(options), root_("zk-ensemble") {
  const size_t count = options_.servers < 1 ? 1 : static_cast<size_t>(options_.servers);
  const std::vector<uint16_t> ports = PickFreePorts(3 * count);
  servers_.resize(count);
  for (size_t i = 0; i < count; ++i) {
    Server& server = servers_[i];
    server.myid = static_cast<int>(i) + 1;
    server.client_port = ports[3 * i];
    server.quorum_port = ports[3 * i + 1];
    server.election_port = ports[3 * i + 2];
    server.dir = root_.Sub("server" + std::to_string(server.myid));
    server.log_path = server.dir + "/zookeeper.out";
    server.process = std::make_unique<ChildProcess>();
    std::filesystem::create_directories(server.dir + "/data");
    std::ofstream(server.dir + "/data/myid") << server.myid << "\n";
  }
  for (const Server& server : servers_) WriteConfig(server);
}

ZkEnsemble::~ZkEnsemble() {
  for (Server& server : servers_) static_cast<void>(server.process->KillAndWait());
}

size_t ZkEnsemble::Index(int i) const {
  if (i < 0 || static_cast<size_t>(i) >= servers_.size()) {
    ADD_FAILURE() << "ZkEnsemble: no server " << i << " (size " << servers_.size() << ")";
    return 0;
  }
  return static_cast<size_t>(i);
}

void ZkEnsemble::WriteConfig(const Server& server) const {
  const auto tick = options_.tick.count();
  std::ofstream cfg(server.dir + "/zoo.cfg");
  cfg << "tickTime=" << tick << "\n"
      << "initLimit=50\n"
      << "syncLimit=15\n"
      << "minSessionTimeout=" << 2 * tick << "\n"
      << "maxSessionTimeout=" << 20 * tick << "\n"
      << "dataDir=" << server.dir << "/data\n"
      << "clientPort=" << server.client_port << "\n"
      << "clientPortAddress=127.0.0.1\n"
      << "4lw.commands.whitelist=*\n"
      << "admin.enableServer=false\n"
      // Test data is throw-away: no fsync, no 64 MB log preallocation.
      << "forceSync=no\n"
      << "preAllocSize=1024\n";
  if (servers_.size() > 1) {
    for (const Server& peer : servers_) {
      cfg << "server." << peer.myid << "=127.0.0.1:" << peer.quorum_port << ":"
          << peer.election_port << "\n";
    }
  }
}

::testing::AssertionResult ZkEnsemble::Start(int i) {
  Server& server = servers_[Index(i)];
  if (server.process->running()) return ::testing::AssertionSuccess();
  if (access(kJava, X_OK) != 0) {
    return ::testing::AssertionFailure()
           << kJava << " is missing: install default-jre-headless (scripts/install-deps.sh)";
  }
  if (access(kZooKeeperJar, R_OK) != 0) {
    return ::testing::AssertionFailure()
           << kZooKeeperJar << " is missing: install zookeeper (scripts/install-deps.sh)";
  }
  std::string classpath = std::string("/etc/zookeeper/conf:") + kZooKeeperJar;
  if (access(kSlf4jSimpleJar, R_OK) == 0) classpath += std::string(":") + kSlf4jSimpleJar;

  ChildSpec spec;
  spec.argv = {kJava,
               "-Dzookeeper.log.dir=" + server.dir,
               "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
               "-Dorg.slf4j.simpleLogger.showDateTime=true",
               "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
               "-Djava.net.preferIPv4Stack=true",
               "-Xmx128m",
               "-XX:+UseSerialGC",
               "-XX:TieredStopAtLevel=1",
               "-XX:-UsePerfData",
               "-cp",
               classpath,
               "org.apache.zookeeper.server.quorum.QuorumPeerMain",
               server.dir + "/zoo.cfg"};
  spec.stdout_path = server.log_path;
  spec.working_dir = server.dir;
  spec.env["JAVA_TOOL_OPTIONS"] = std::nullopt;  // would print a banner and may change flags
  {
    std::ofstream log(server.log_path, std::ios::app);
    log << "===== zk_ensemble: starting server " << server.myid << " =====\n";
  }
  const std::string error = server.process->Spawn(spec);
  server.wanted = error.empty();
  if (!error.empty())
    return ::testing::AssertionFailure() << "server " << server.myid << ": " << error;
  return ::testing::AssertionSuccess();
}

void ZkEnsemble::Stop(int i) {
  Server& server = servers_[Index(i)];
  server.wanted = false;
  static_cast<void>(server.process->TerminateAndWait(milliseconds(10000)));
}

void ZkEnsemble::Kill(int i) {
  Server& server = servers_[Index(i)];
  server.wanted = false;
  static_cast<void>(server.process->KillAndWait());
}

bool ZkEnsemble::running(int i) { return servers_[Index(i)].process->running(); }

void ZkEnsemble::Pause(int i) { servers_[Index(i)].process->SignalGroup(SIGSTOP); }

void ZkEnsemble::Resume(int i) { servers_[Index(i)].process->SignalGroup(SIGCONT); }

::testing::AssertionResult ZkEnsemble::StartAll() {
  for (int i = 0; i < size(); ++i) {
    auto started = Start(i);
    if (!started) return started;
  }
  return WaitServing(options_.start_deadline);
}

void ZkEnsemble::StopAll() {
  for (Server& server : servers_) {
    server.wanted = false;
    server.process->Signal(SIGTERM);
  }
  for (int i = 0; i < size(); ++i) Stop(i);
}

::testing::AssertionResult ZkEnsemble::WaitServing(milliseconds timeout) {
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  const auto max_rounds = timeout / kServingPoll + 2;
  std::string last_view;
  for (auto round = decltype(max_rounds){0}; round < max_rounds; ++round) {
    int running_count = 0;
    int serving = 0;
    std::ostringstream view;
    for (int i = 0; i < size(); ++i) {
      Server& server = servers_[static_cast<size_t>(i)];
      if (!server.process->running()) {
        if (server.wanted) {
          const auto status = server.process->exit_status();
          return ::testing::AssertionFailure()
                 << "ZooKeeper server " << server.myid
                 << " died: " << (status.has_value() ? status->ToString() : std::string("?"))
                 << "\n"
                 << LogTails();
        }
        view << " server" << server.myid << "=down";
        continue;
      }
      ++running_count;
      const std::string mode = Mode(i);
      view << " server" << server.myid << "=" << (mode.empty() ? "not-serving" : mode);
      if (!mode.empty()) ++serving;
    }
    last_view = view.str();
    if (2 * running_count <= size()) {
      return ::testing::AssertionFailure()
             << "WaitServing: only " << running_count << " of " << size()
             << " servers run, no quorum possible:" << last_view;
    }
    if (serving == running_count) return ::testing::AssertionSuccess();
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(kServingPoll);
  }
  return ::testing::AssertionFailure() << "ZooKeeper ensemble did not serve within "
                                       << timeout.count() << " ms; last view:" << last_view << "\n"
                                       << LogTails();
}

std::string ZkEnsemble::connect_string() const {
  std::string out;
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (i > 0) out += ",";
    out += "127.0.0.1:" + std::to_string(servers_[i].client_port);
  }
  return out;
}

std::string ZkEnsemble::server_address(int i) const {
  return "127.0.0.1:" + std::to_string(servers_[Index(i)].client_port);
}

std::string ZkEnsemble::Mode(int i) const {
  const auto answer = FourLetterWord(servers_[Index(i)].client_port, "srvr", kFourLetterTimeout);
  if (!answer.has_value()) return "";
  return ParseMode(*answer);
}

std::optional<int> ZkEnsemble::LeaderIndex() const {
  for (int i = 0; i < size(); ++i) {
    const std::string mode = Mode(i);
    if (mode == "leader" || mode == "standalone") return i;
  }
  return std::nullopt;
}

std::optional<std::string> ZkEnsemble::FourLetterWord(uint16_t port, const std::string& command,
                                                      milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  // Loopback connects complete or fail at once; a blocking connect is bounded.
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      send(fd, command.data(), command.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(command.size())) {
    close(fd);
    return std::nullopt;
  }
  std::string answer;
  char buffer[4096];
  for (int reads = 0; reads < 1000; ++reads) {
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, MillisLeft(deadline)) <= 0) break;  // timeout or error
    const ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got == 0) {
      close(fd);
      return answer;  // the server closes after answering
    }
    if (got < 0) break;
    answer.append(buffer, static_cast<size_t>(got));
    if (Clock::now() >= deadline) break;
  }
  close(fd);
  return std::nullopt;
}

std::string ZkEnsemble::LogTails(int lines) const {
  std::ostringstream out;
  for (const Server& server : servers_) {
    out << "----- ZooKeeper server " << server.myid << " (client port " << server.client_port
        << "), last " << lines << " lines of " << server.log_path << " -----\n"
        << TailOfFile(server.log_path, lines);
  }
  return out.str();
}

}  // namespace zkelect::test
