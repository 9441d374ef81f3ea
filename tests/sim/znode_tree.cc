#include "sim/znode_tree.h"

#include <spdlog/fmt/fmt.h>

#include <utility>

namespace zkelect::sim {

ZnodeTree::ZnodeTree() { nodes_.emplace("/", Znode{}); }

std::string ZnodeTree::Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

const Znode* ZnodeTree::Find(const std::string& path) const {
  auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::optional<std::vector<std::string>> ZnodeTree::Children(const std::string& path) const {
  const Znode* node = Find(path);
  if (node == nullptr) return std::nullopt;
  std::vector<std::string> names;
  names.reserve(node->children.size());
  for (const auto& [czxid, name] : node->children) names.push_back(name);
  return names;
}

ZkCode ZnodeTree::Create(const std::string& path, std::string data, int64_t ephemeral_owner,
                         bool sequential, bool auth_only, std::string* created, int64_t ctime_ms) {
  auto parent = nodes_.find(Parent(path));
  if (parent == nodes_.end()) return ZkCode::kNoNode;
  if (parent->second.ephemeral_owner != 0) return ZkCode::kOther;  // NOCHILDRENFOREPHEMERALS
  std::string full = path;
  if (sequential) full += fmt::format("{:010d}", parent->second.cversion);
  if (nodes_.contains(full)) return ZkCode::kNodeExists;
  Znode node;
  node.data = std::move(data);
  node.czxid = NextZxid();
  node.ephemeral_owner = ephemeral_owner;
  node.auth_only = auth_only;
  node.ctime_ms = ctime_ms;
  parent->second.cversion++;
  parent->second.children.emplace(node.czxid, full.substr(full.rfind('/') + 1));
  nodes_.emplace(full, std::move(node));
  if (created != nullptr) *created = std::move(full);
  return ZkCode::kOk;
}

ZkCode ZnodeTree::Delete(const std::string& path) {
  auto it = nodes_.find(path);
  if (it == nodes_.end() || path == "/") return ZkCode::kNoNode;
  if (!it->second.children.empty()) return ZkCode::kNotEmpty;
  Znode& parent = nodes_.at(Parent(path));
  parent.children.erase(it->second.czxid);
  parent.cversion++;
  NextZxid();
  nodes_.erase(it);
  return ZkCode::kOk;
}

ZkCode ZnodeTree::SetData(const std::string& path, std::string data) {
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return ZkCode::kNoNode;
  it->second.data = std::move(data);
  it->second.version++;
  NextZxid();
  return ZkCode::kOk;
}

}  // namespace zkelect::sim
