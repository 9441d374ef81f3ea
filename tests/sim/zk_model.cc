#include "sim/zk_model.h"

#include <algorithm>
#include <utility>

namespace zkelect::sim {

ZkModel::ZkModel(Millis tick, Listener& listener) : tick_(tick), listener_(listener) {}

ZkModel::Millis ZkModel::Negotiate(Millis requested) const {
  return std::clamp(requested, 2 * tick_, 20 * tick_);
}

// ZooKeeper's ExpiryQueue: deadlines round up to the next tick boundary.
ZkModel::TimePoint ZkModel::Deadline(TimePoint now, Millis timeout) const {
  const auto tick = std::chrono::duration_cast<Clock::Duration>(tick_).count();
  const auto t = (now + timeout).time_since_epoch().count();
  return TimePoint(Clock::Duration((t / tick + 1) * tick));
}

int64_t ZkModel::OpenSession(Millis requested, TimePoint now, bool has_auth) {
  const int64_t id = next_session_++;
  tree_.NextZxid();  // createSession is a transaction
  Session session;
  session.timeout = Negotiate(requested);
  session.deadline = Deadline(now, session.timeout);
  session.has_auth = has_auth;
  sessions_.emplace(id, std::move(session));
  return id;
}

ZkModel::Millis ZkModel::Timeout(int64_t session) const {
  auto it = sessions_.find(session);
  return it == sessions_.end() ? Millis(0) : it->second.timeout;
}

void ZkModel::Touch(int64_t session, TimePoint now) {
  auto it = sessions_.find(session);
  if (it != sessions_.end()) {
    it->second.deadline = std::max(it->second.deadline, Deadline(now, it->second.timeout));
  }
}

void ZkModel::SetPinned(int64_t session, bool pinned, TimePoint now) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  it->second.pinned = pinned;
  it->second.deadline = Deadline(now, it->second.timeout);
}

void ZkModel::CloseSession(int64_t session) {
  if (!sessions_.contains(session)) return;
  tree_.NextZxid();  // closeSession is a transaction
  EndSession(session, NodeGone::kSessionClosed);
}

void ZkModel::ExpireDue(TimePoint now) {
  std::vector<int64_t> due;
  for (const auto& [id, session] : sessions_) {
    if (!session.pinned && session.deadline <= now) due.push_back(id);
  }
  for (const int64_t id : due) {
    tree_.NextZxid();
    EndSession(id, NodeGone::kSessionExpired);
    listener_.OnSessionExpired(id);
  }
}

std::optional<ZkModel::TimePoint> ZkModel::NextExpiry() const {
  std::optional<TimePoint> next;
  for (const auto& [id, session] : sessions_) {
    if (!session.pinned && (!next || session.deadline < *next)) next = session.deadline;
  }
  return next;
}

void ZkModel::Recover(TimePoint now) {
  for (auto& [id, session] : sessions_) session.deadline = Deadline(now, session.timeout);
}

void ZkModel::EndSession(int64_t session, NodeGone how) {
  auto it = sessions_.find(session);
  const std::map<int64_t, std::string> ephemerals = std::move(it->second.ephemerals);
  sessions_.erase(it);
  for (auto& table : {&data_watches_, &child_watches_}) {
    for (auto& [path, sessions] : *table) sessions.erase(session);
  }
  for (const auto& [czxid, path] : ephemerals) Remove(path, session, how);
}

int64_t ZkModel::OwnerOf(const std::string& path) const {
  const Znode* node = tree_.Find(path);
  return node == nullptr ? 0 : node->ephemeral_owner;
}

void ZkModel::Fire(Watchers& table, const std::string& path, NodeEventType type,
                   std::set<int64_t>& done) {
  auto it = table.find(path);
  if (it == table.end()) return;
  const std::set<int64_t> sessions = std::move(it->second);
  table.erase(it);
  for (const int64_t session : sessions) {
    if (done.insert(session).second) listener_.OnWatch(session, type, path);
  }
}

void ZkModel::Remove(const std::string& path, int64_t by, NodeGone how) {
  const Znode* found = tree_.Find(path);
  if (found == nullptr) return;
  const Znode node = *found;
  if (tree_.Delete(path) != ZkCode::kOk) return;
  if (node.ephemeral_owner != 0 && how == NodeGone::kDeleted) {
    auto owner = sessions_.find(node.ephemeral_owner);
    if (owner != sessions_.end()) owner->second.ephemerals.erase(node.czxid);
  }
  listener_.OnNodeRemoved(path, node, by, how);
  std::set<int64_t> told;
  Fire(data_watches_, path, NodeEventType::kDeleted, told);
  Fire(child_watches_, path, NodeEventType::kDeleted, told);
  std::set<int64_t> told_parent;
  Fire(child_watches_, ZnodeTree::Parent(path), NodeEventType::kChildrenChanged, told_parent);
}

ZkCode ZkModel::Create(int64_t session, const std::string& path, const std::string& data,
                       bool ephemeral, bool sequential, bool auth_only, std::string* created) {
  auto owner = sessions_.find(session);
  if (owner == sessions_.end()) return ZkCode::kSessionExpired;
  std::string full;
  const ZkCode code = tree_.Create(path, data, ephemeral ? session : 0, sequential, auth_only,
                                   &full, wall_ms_ ? wall_ms_() : 0);
  if (code != ZkCode::kOk) return code;
  if (ephemeral) owner->second.ephemerals.emplace(tree_.Find(full)->czxid, full);
  std::set<int64_t> told;
  Fire(data_watches_, full, NodeEventType::kCreated, told);
  std::set<int64_t> told_parent;
  Fire(child_watches_, ZnodeTree::Parent(full), NodeEventType::kChildrenChanged, told_parent);
  listener_.OnNodeWritten(full);
  if (created != nullptr) *created = std::move(full);
  return ZkCode::kOk;
}

ZkCode ZkModel::Delete(int64_t session, const std::string& path) {
  if (!sessions_.contains(session)) return ZkCode::kSessionExpired;
  const Znode* node = tree_.Find(path);
  if (node == nullptr) return ZkCode::kNoNode;
  if (!node->children.empty()) return ZkCode::kNotEmpty;
  Remove(path, session, NodeGone::kDeleted);
  return ZkCode::kOk;
}

ZkCode ZkModel::SetData(int64_t session, const std::string& path, const std::string& data) {
  if (!sessions_.contains(session)) return ZkCode::kSessionExpired;
  if (const ZkCode code = tree_.SetData(path, data); code != ZkCode::kOk) return code;
  std::set<int64_t> told;
  Fire(data_watches_, path, NodeEventType::kDataChanged, told);
  listener_.OnNodeWritten(path);
  return ZkCode::kOk;
}

NodeStat ZkModel::StatOf(const Znode& node) {
  return NodeStat{node.czxid, node.ephemeral_owner, node.version, node.ctime_ms};
}

ZkCode ZkModel::GetChildren(int64_t session, const std::string& path, bool watch,
                            std::vector<std::string>* children, const ZnodeTree* stale) {
  if (!sessions_.contains(session)) return ZkCode::kSessionExpired;
  const ZnodeTree& from = stale != nullptr ? *stale : tree_;
  std::optional<std::vector<std::string>> names = from.Children(path);
  if (!names) return ZkCode::kNoNode;
  if (watch) {
    const Znode* now = tree_.Find(path);
    const Znode* seen = from.Find(path);
    if (now == nullptr) {
      listener_.OnWatch(session, NodeEventType::kDeleted, path);
    } else if (now->czxid != seen->czxid || now->cversion != seen->cversion) {
      listener_.OnWatch(session, NodeEventType::kChildrenChanged, path);
    } else {
      child_watches_[path].insert(session);
    }
  }
  *children = std::move(*names);
  return ZkCode::kOk;
}

ZkCode ZkModel::GetData(int64_t session, const std::string& path, bool watch, std::string* data,
                        NodeStat* stat, const ZnodeTree* stale) {
  auto reader = sessions_.find(session);
  if (reader == sessions_.end()) return ZkCode::kSessionExpired;
  const ZnodeTree& from = stale != nullptr ? *stale : tree_;
  const Znode* node = from.Find(path);
  if (node == nullptr) return ZkCode::kNoNode;
  if (node->auth_only && !reader->second.has_auth) return ZkCode::kNoAuth;
  if (watch) {
    const Znode* now = tree_.Find(path);
    if (now == nullptr) {
      listener_.OnWatch(session, NodeEventType::kDeleted, path);
    } else if (now->czxid != node->czxid || now->version != node->version) {
      listener_.OnWatch(session, NodeEventType::kDataChanged, path);
    } else {
      data_watches_[path].insert(session);
    }
  }
  *data = node->data;
  *stat = StatOf(*node);
  return ZkCode::kOk;
}

ZkCode ZkModel::Exists(int64_t session, const std::string& path, bool watch, NodeStat* stat,
                       const ZnodeTree* stale) {
  if (!sessions_.contains(session)) return ZkCode::kSessionExpired;
  const ZnodeTree& from = stale != nullptr ? *stale : tree_;
  const Znode* node = from.Find(path);
  if (watch) {
    const Znode* now = tree_.Find(path);
    if (node != nullptr && now == nullptr) {
      listener_.OnWatch(session, NodeEventType::kDeleted, path);
    } else if (node == nullptr && now != nullptr) {
      listener_.OnWatch(session, NodeEventType::kCreated, path);
    } else if (node != nullptr && (now->czxid != node->czxid || now->version != node->version)) {
      listener_.OnWatch(session, NodeEventType::kDataChanged, path);
    } else {
      data_watches_[path].insert(session);
    }
  }
  if (node == nullptr) return ZkCode::kNoNode;
  *stat = StatOf(*node);
  return ZkCode::kOk;
}

}  // namespace zkelect::sim
