#include "support/fake_zk_client.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <utility>

namespace zkelect::testing {
namespace {

std::string ParentOf(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

FakeZkClient::FakeZkClient() { nodes_["/"] = Node{}; }

bool FakeZkClient::Open() {
  ++opens_;
  if (open_fails_) return false;
  Close();
  open_ = true;
  connected_ = true;
  expired_ = false;
  server_session_ = next_session_++;
  const int64_t session = server_session_;
  Queue([this, session] {
    connected_session_ = session;
    if (sink_ != nullptr) sink_->OnSessionState(SessionState::kConnected);
  });
  return true;
}

// As zookeeper_close(): the close request reaches the server only on a
// connected handle whose server can reach the ensemble's leader (closing a
// session is a quorum write). Otherwise the session, and its ephemeral nodes,
// live on at the server until it expires them (ExpireOrphans()).
void FakeZkClient::Close() {
  if (!open_) return;
  if (server_session_ != 0 && !expired_) {
    if (connected_ && !silent_ && !quorum_lost_) {
      RemoveNodesOf(server_session_);
    } else {
      orphans_.push_back(server_session_);
    }
    watches_.clear();
    child_watches_.clear();  // a closed handle's watches die with it
  }
  open_ = false;
  connected_ = false;
  server_session_ = 0;
  connected_session_ = 0;
  queue_.clear();
  held_.clear();
  leader_held_.clear();
}

void FakeZkClient::RemoveNodesOf(int64_t session) {
  std::vector<std::string> owned;
  for (const auto& [path, node] : nodes_) {
    if (node.ephemeral_owner == session) owned.push_back(path);
  }
  for (const std::string& path : owned) nodes_.erase(path);
}

void FakeZkClient::ExpireOrphans() {
  for (int64_t session : std::exchange(orphans_, {})) RemoveNodesOf(session);
}

void FakeZkClient::Queue(std::function<void()> step) {
  (silent_ ? held_ : queue_).push_back(std::move(step));
}

void FakeZkClient::QueueThroughLeader(std::function<void()> step) {
  if (quorum_lost_) {
    leader_held_.push_back(std::move(step));
  } else {
    Queue(std::move(step));
  }
}

void FakeZkClient::QueueSessionState(SessionState state) {
  Queue([this, state] {
    if (sink_ != nullptr) sink_->OnSessionState(state);
  });
}

std::optional<ZkCode> FakeZkClient::Unavailable() const {
  if (!open_) return ZkCode::kClosing;
  if (expired_) return ZkCode::kSessionExpired;
  if (!connected_) return ZkCode::kConnectionLoss;
  return std::nullopt;
}

NodeStat FakeZkClient::StatOf(const Node& node) const {
  return NodeStat{node.czxid, node.ephemeral_owner, node.version, node.ctime_ms};
}

const FakeZkClient::Node* FakeZkClient::FindNode(const std::string& path) const {
  auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : &it->second;
}

int FakeZkClient::requests(const std::string& kind) const {
  auto it = requests_.find(kind);
  return it == requests_.end() ? 0 : it->second;
}

std::vector<std::string> FakeZkClient::ChildrenOf(const std::string& path) const {
  std::vector<std::string> children;
  const std::string prefix = path == "/" ? "/" : path + "/";
  for (const auto& [candidate, node] : nodes_) {
    if (candidate.size() > prefix.size() && candidate.starts_with(prefix) &&
        candidate.find('/', prefix.size()) == std::string::npos) {
      children.push_back(candidate.substr(prefix.size()));
    }
  }
  return children;
}

bool FakeZkClient::DeliverOne() {
  if (queue_.empty()) return false;
  auto step = std::move(queue_.front());
  queue_.pop_front();
  step();
  return true;
}

int FakeZkClient::Deliver() {
  int ran = 0;
  while (!queue_.empty()) {
    auto step = std::move(queue_.front());
    queue_.pop_front();
    step();
    if (++ran > 10'000) {
      ADD_FAILURE() << "FakeZkClient: more than 10,000 steps without settling (a livelock?)";
      break;
    }
  }
  return ran;
}

// --- Requests --------------------------------------------------------------

void FakeZkClient::Create(const std::string& path, const std::string& data, CreateMode mode,
                          CreateCallback done) {
  ++requests_["create"];
  const CreateFault fault = std::exchange(create_fault_, CreateFault::kNone);
  QueueThroughLeader([this, path, data, mode, done = std::move(done), fault] {
    if (auto code = Unavailable()) return done(*code, "");
    if (fault == CreateFault::kLostBeforeApply) {
      Disconnect();
      return done(ZkCode::kConnectionLoss, "");
    }
    auto parent = nodes_.find(ParentOf(path));
    if (parent == nodes_.end()) return done(ZkCode::kNoNode, "");
    std::string full = path;
    const bool ephemeral = mode == CreateMode::kEphemeralSequential;
    if (ephemeral) {
      char suffix[16];
      std::snprintf(suffix, sizeof suffix, "%010lld",
                    static_cast<long long>(parent->second.next_sequence++));
      full += suffix;
    }
    if (nodes_.count(full) != 0) return done(ZkCode::kNodeExists, "");
    nodes_[full] = Node{data, ++zxid_, ephemeral ? server_session_ : 0, 0, 0, WallMs()};
    FireWatch(full, NodeEventType::kCreated);
    FireChildWatch(full);
    if (fault == CreateFault::kLostAfterApply) {
      Disconnect();
      return done(ZkCode::kConnectionLoss, "");
    }
    done(ZkCode::kOk, full);
  });
}

void FakeZkClient::GetChildren(const std::string& path, bool watch, ChildrenCallback done) {
  ++requests_["children"];
  Queue([this, path, watch, done = std::move(done)] {
    if (auto code = Unavailable()) return done(*code, {});
    if (nodes_.count(path) == 0) return done(ZkCode::kNoNode, {});
    if (watch) child_watches_.insert(path);
    done(ZkCode::kOk, ChildrenOf(path));
  });
}

void FakeZkClient::GetData(const std::string& path, bool watch, DataCallback done) {
  ++requests_["get"];
  Queue([this, path, watch, done = std::move(done)] {
    if (auto code = Unavailable()) return done(*code, "", NodeStat{});
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return done(ZkCode::kNoNode, "", NodeStat{});
    // A read the ACL refuses sets no watch (ZooKeeper checks first).
    if (it->second.auth_only) return done(ZkCode::kNoAuth, "", NodeStat{});
    if (watch) watches_.insert(path);
    done(ZkCode::kOk, it->second.data, StatOf(it->second));
  });
}

void FakeZkClient::Exists(const std::string& path, bool watch, StatCallback done) {
  ++requests_["exists"];
  Queue([this, path, watch, done = std::move(done)] {
    if (auto code = Unavailable()) return done(*code, NodeStat{});
    if (watch) watches_.insert(path);  // exists watches also fire on creation
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return done(ZkCode::kNoNode, NodeStat{});
    done(ZkCode::kOk, StatOf(it->second));
  });
}

void FakeZkClient::Sync(const std::string& /*path*/, DoneCallback done) {
  ++requests_["sync"];
  QueueThroughLeader([this, done = std::move(done)] {
    if (auto code = Unavailable()) return done(*code);
    done(ZkCode::kOk);
  });
}

void FakeZkClient::Delete(const std::string& path, DoneCallback done) {
  ++requests_["delete"];
  QueueThroughLeader([this, path, done = std::move(done)] {
    if (auto code = Unavailable()) return done(*code);
    if (nodes_.count(path) == 0) return done(ZkCode::kNoNode);
    if (!ChildrenOf(path).empty()) return done(ZkCode::kNotEmpty);
    RemoveNode(path);
    // As the server does: the watches the delete fired reach this session
    // before the delete's own reply.
    Queue([done] { done(ZkCode::kOk); });
  });
}

void FakeZkClient::SetData(const std::string& path, const std::string& data, DoneCallback done) {
  ++requests_["set"];
  QueueThroughLeader([this, path, data, done = std::move(done)] {
    if (auto code = Unavailable()) return done(*code);
    if (nodes_.count(path) == 0) return done(ZkCode::kNoNode);
    ExternalSetData(path, data);
    // As the server does: the watch the set fired comes before its reply.
    Queue([done] { done(ZkCode::kOk); });
  });
}

// --- Server-side changes ---------------------------------------------------

void FakeZkClient::RemoveNode(const std::string& path) {
  nodes_.erase(path);
  FireWatch(path, NodeEventType::kDeleted);
  FireChildWatch(path);
}

void FakeZkClient::FireChildWatch(const std::string& child_path) {
  const std::string parent = ParentOf(child_path);
  if (child_watches_.erase(parent) == 0) return;
  Queue([this, parent] {
    if (open_ && sink_ != nullptr) sink_->OnNodeEvent(NodeEventType::kChildrenChanged, parent);
  });
}

void FakeZkClient::FireWatch(const std::string& path, NodeEventType type) {
  if (watches_.erase(path) == 0) return;
  Queue([this, path, type] {
    if (open_ && sink_ != nullptr) sink_->OnNodeEvent(type, path);
  });
}

std::string FakeZkClient::ExternalCreate(const std::string& path, const std::string& data,
                                         int64_t owner, bool sequential) {
  std::string full = path;
  if (sequential) {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%010lld",
                  static_cast<long long>(nodes_[ParentOf(path)].next_sequence++));
    full += suffix;
  }
  nodes_[full] = Node{data, ++zxid_, owner, 0, 0, WallMs()};
  FireWatch(full, NodeEventType::kCreated);
  FireChildWatch(full);
  return full;
}

void FakeZkClient::ExternalDelete(const std::string& path) { RemoveNode(path); }

void FakeZkClient::ExternalSetData(const std::string& path, const std::string& data) {
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return;
  it->second.data = data;
  ++it->second.version;
  FireWatch(path, NodeEventType::kDataChanged);
}

// --- The network -----------------------------------------------------------

void FakeZkClient::Disconnect() {
  if (!connected_) return;
  connected_ = false;
  RegainQuorum();  // what waited for the leader fails with the connection
  QueueSessionState(SessionState::kConnecting);
}

void FakeZkClient::Reconnect() {
  if (connected_ || expired_ || !open_) return;
  connected_ = true;
  QueueSessionState(SessionState::kConnected);
}

void FakeZkClient::Expire() {
  if (server_session_ == 0) return;
  watches_.clear();
  child_watches_.clear();
  RemoveNodesOf(server_session_);
  server_session_ = 0;
  expired_ = true;
  connected_ = false;
  QueueSessionState(SessionState::kExpired);
}

void FakeZkClient::FailAuth() {
  expired_ = true;
  connected_ = false;
  QueueSessionState(SessionState::kAuthFailed);
}

void FakeZkClient::GoSilent() { silent_ = true; }

void FakeZkClient::RegainQuorum() {
  quorum_lost_ = false;
  while (!leader_held_.empty()) {
    Queue(std::move(leader_held_.front()));
    leader_held_.pop_front();
  }
}

void FakeZkClient::Speak() {
  silent_ = false;
  while (!held_.empty()) {
    queue_.push_back(std::move(held_.front()));
    held_.pop_front();
  }
}

}  // namespace zkelect::testing
