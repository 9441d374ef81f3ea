#pragma once

// The fixture shared by the integration tests: a real 3-server ZooKeeper
// ensemble, real zkelect daemons, a test client on the election path, and the
// checks most tests need (one leader that everybody agrees on, node counts).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/http_probe.h"
#include "support/zk_ensemble.h"
#include "support/zk_test_client.h"
#include "support/zkelect_process.h"

namespace zkelect::test {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Session timeout of the daemons: short, so that expiry tests stay short,
// and long enough for a loaded 2-core machine.
inline constexpr milliseconds kSessionTimeout{3000};
inline constexpr const char* kSessionTimeoutFlag = "3s";

inline int64_t MillisSince(Clock::time_point start, Clock::time_point end = Clock::now()) {
  return std::chrono::duration_cast<milliseconds>(end - start).count();
}

// The trailing 10-digit sequence number of a candidate node name, or -1.
inline int64_t SequenceOf(const std::string& node) {
  if (node.size() < 10) return -1;
  int64_t seq = 0;
  for (size_t i = node.size() - 10; i < node.size(); ++i) {
    if (node[i] < '0' || node[i] > '9') return -1;
    seq = seq * 10 + (node[i] - '0');
  }
  return seq;
}

// A JSON number or decimal string as int64 (epochs), or nullopt.
inline std::optional<int64_t> JsonInt64(const nlohmann::json& value) {
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_string()) {
    try {
      return std::stoll(value.get<std::string>());
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// Watches that at most one daemon reports itself leader at any time, by
// polling /is-leader of every daemon in a background thread. A double is
// recorded only when it is confirmed: A and B both answer 200 and then both
// answer 200 again, so a handoff that happens between two requests of one
// round is not mistaken for two leaders.
class LeaderMonitor {
 public:
  explicit LeaderMonitor(std::vector<uint16_t> ports) : ports_(std::move(ports)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~LeaderMonitor() { StopNow(); }
  LeaderMonitor(const LeaderMonitor&) = delete;
  LeaderMonitor& operator=(const LeaderMonitor&) = delete;

  void StopNow() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Empty when no two leaders were ever seen at once.
  std::string Doubles() {
    std::lock_guard<std::mutex> lock(mu_);
    return doubles_;
  }
  int rounds() const { return rounds_; }

 private:
  void Run() {
    const auto deadline = Clock::now() + std::chrono::minutes(4);
    for (int round = 0; round < 100000 && !stop_ && Clock::now() < deadline; ++round) {
      std::vector<size_t> leaders;
      for (size_t i = 0; i < ports_.size(); ++i) {
        if (HttpGet(ports_[i], "/is-leader", milliseconds(500)).status == 200) leaders.push_back(i);
      }
      if (leaders.size() > 1) {
        std::vector<size_t> again;
        for (size_t i : leaders) {
          if (HttpGet(ports_[i], "/is-leader", milliseconds(500)).status == 200) again.push_back(i);
        }
        if (again.size() > 1) {
          std::lock_guard<std::mutex> lock(mu_);
          std::ostringstream out;
          out << "round " << round << ": daemons on ports";
          for (size_t i : again) out << " " << ports_[i];
          out << " all answered /is-leader 200 twice in a row\n";
          doubles_ += out.str();
        }
      }
      rounds_ = round + 1;
      std::this_thread::sleep_for(milliseconds(5));
    }
  }

  const std::vector<uint16_t> ports_;
  std::atomic<bool> stop_{false};
  std::atomic<int> rounds_{0};
  std::mutex mu_;
  std::string doubles_;  // guarded by mu_
  std::thread thread_;
};

class ElectionFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(zk_.StartAll());
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::string("/zkelect/it/") + info->name();
    std::string error;
    client_ = ZkTestClient::Connect(zk_.connect_string(), seconds(10), milliseconds(4000), &error);
    ASSERT_NE(client_, nullptr) << error;
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << AllLogs() << "\n";
    }
  }

  // Creates a daemon (not started) with the fixture's ensemble and path.
  ZkelectProcess& AddDaemon(const std::string& id, std::vector<std::string> extra_flags = {}) {
    ZkelectOptions options;
    options.id = id;
    options.servers = zk_.connect_string();
    options.election_path = path_;
    options.session_timeout = kSessionTimeoutFlag;
    options.extra_flags = std::move(extra_flags);
    daemons_.push_back(std::make_unique<ZkelectProcess>(options));
    return *daemons_.back();
  }

  // Adds and starts `count` campaigning daemons node-1..node-N (one after the
  // other, so that their queue order is their index order) and waits until
  // each is ready.
  ::testing::AssertionResult StartDaemons(int count) {
    for (int i = 0; i < count; ++i) {
      ZkelectProcess& daemon = AddDaemon("node-" + std::to_string(daemons_.size() + 1));
      auto started = daemon.Start();
      if (!started) return started;
      auto ready = WaitReady(daemon, seconds(10));
      if (!ready) return ready;
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult WaitReady(ZkelectProcess& daemon, milliseconds timeout) {
    HttpReply last;
    if (WaitUntil(
            [&] {
              last = HttpGet(daemon.port(), "/readyz");
              return last.status == 200;
            },
            timeout)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << daemon.id() << " not ready within " << timeout.count()
                                         << " ms: " << last.Describe() << "\n"
                                         << daemon.LogTail();
  }

  ZkelectProcess& daemon(size_t i) { return *daemons_.at(i); }

  std::vector<uint16_t> Ports() {
    std::vector<uint16_t> ports;
    for (auto& d : daemons_) ports.push_back(d->port());
    return ports;
  }

  // Indexes of the running daemons that answer /is-leader with 200.
  std::vector<size_t> Leaders() {
    std::vector<size_t> leaders;
    for (size_t i = 0; i < daemons_.size(); ++i) {
      if (daemons_[i]->running() && HttpGet(daemons_[i]->port(), "/is-leader").status == 200) {
        leaders.push_back(i);
      }
    }
    return leaders;
  }

  // One consistent view: exactly one running campaigning daemon answers
  // /is-leader 200, every running daemon's /leader names that daemon's id
  // with the same node and epoch, is_self only on the leader, and the epoch
  // is the czxid of that node in ZooKeeper. Sets *leader to its index.
  bool ConsistentLeader(size_t* leader, std::string* why) {
    const std::vector<size_t> leaders = Leaders();
    if (leaders.size() != 1) {
      *why = std::to_string(leaders.size()) + " daemons answer /is-leader 200";
      return false;
    }
    const size_t l = leaders.front();
    std::optional<nlohmann::json> agreed;
    for (size_t i = 0; i < daemons_.size(); ++i) {
      if (!daemons_[i]->running()) continue;
      const HttpReply reply = HttpGet(daemons_[i]->port(), "/leader");
      if (reply.status != 200 || !reply.body.is_object() || !reply.body["leader"].is_object()) {
        *why = daemons_[i]->id() + ": " + reply.Describe();
        return false;
      }
      const nlohmann::json& view = reply.body["leader"];
      if (view.value("id", "") != daemons_[l]->id()) {
        *why = daemons_[i]->id() + " names leader " + view.value("id", "?") + ", /is-leader says " +
               daemons_[l]->id();
        return false;
      }
      if (reply.body.value("is_self", false) != (i == l)) {
        *why = daemons_[i]->id() + ": wrong is_self: " + reply.Describe();
        return false;
      }
      const nlohmann::json key = {{"node", view["node"]}, {"epoch", view["epoch"]}};
      if (agreed.has_value() && *agreed != key) {
        *why = daemons_[i]->id() + " disagrees: " + key.dump() + " vs " + agreed->dump();
        return false;
      }
      agreed = key;
    }
    if (!agreed.has_value()) {
      *why = "no running daemon";
      return false;
    }
    Stat stat{};
    const std::string node =
        (*agreed)["node"].is_string() ? (*agreed)["node"].get<std::string>() : std::string("?");
    const int rc = client_->Exists(path_ + "/" + node, &stat);
    if (rc != ZOK || JsonInt64((*agreed)["epoch"]) != stat.czxid) {
      *why = "leader node " + node + ": exists rc " + ZkTestClient::ErrorName(rc) + ", czxid " +
             std::to_string(stat.czxid) + ", reported epoch " + (*agreed)["epoch"].dump();
      return false;
    }
    *leader = l;
    return true;
  }

  // Waits for ConsistentLeader. On failure the message has the last reason.
  ::testing::AssertionResult WaitForLeader(milliseconds timeout, size_t* leader) {
    std::string why;
    if (WaitUntil([&] { return ConsistentLeader(leader, &why); }, timeout, milliseconds(20))) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "no single agreed leader within " << timeout.count() << " ms: " << why;
  }

  // The children of the election path (names), empty on error.
  std::vector<std::string> Children() {
    std::vector<std::string> children;
    if (client_->Children(path_, &children) != ZOK) children.clear();
    return children;
  }

  // Children sorted by sequence number.
  std::vector<std::string> ChildrenInOrder() {
    std::vector<std::string> children = Children();
    std::sort(children.begin(), children.end(), [](const std::string& a, const std::string& b) {
      return SequenceOf(a) < SequenceOf(b);
    });
    return children;
  }

  ::testing::AssertionResult WaitForChildCount(size_t count, milliseconds timeout) {
    std::vector<std::string> last;
    if (WaitUntil(
            [&] {
              last = Children();
              return last.size() == count;
            },
            timeout)) {
      return ::testing::AssertionSuccess();
    }
    std::ostringstream out;
    out << "election path " << path_ << " has " << last.size() << " children, want " << count
        << ":";
    for (const std::string& c : last) out << " " << c;
    return ::testing::AssertionFailure() << out.str();
  }

  nlohmann::json Status(size_t i) { return HttpGet(daemons_.at(i)->port(), "/status").body; }

  std::string OwnNode(size_t i) {
    const nlohmann::json status = Status(i);
    if (!status.is_object() || !status.contains("election")) return "";
    const nlohmann::json& node = status["election"]["own_node"];
    return node.is_string() ? node.get<std::string>() : "";
  }

  std::string AllLogs() {
    std::string out;
    for (auto& d : daemons_) out += d->LogTail(60);
    return out;
  }

  ZkEnsemble zk_;
  std::string path_;
  std::unique_ptr<ZkTestClient> client_;
  std::vector<std::unique_ptr<ZkelectProcess>> daemons_;
};

}  // namespace zkelect::test
