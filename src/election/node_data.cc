#include "zkelect/election/node_data.h"

#include <nlohmann/json.hpp>

namespace zkelect {
namespace {

// Deeper JSON is not node data of ours. The bound matters because another
// client can write anything up to ZooKeeper's 1 MB limit into its node, and
// rendering a nested meta value (json::dump) recurses once per level: half a
// million '[' overflowed the election loop's stack (found by
// fuzz/node_data_fuzzer.cc).
constexpr int kMaxJsonDepth = 32;

// Parses `data` as JSON without ever building a value nested deeper than
// kMaxJsonDepth (the parser itself keeps its stack on the heap); discarded,
// the same as invalid JSON, when it is deeper.
nlohmann::json ParseShallowJson(std::string_view data) {
  bool too_deep = false;
  const nlohmann::json::parser_callback_t drop_deep_values =
      [&too_deep](int depth, nlohmann::json::parse_event_t /*event*/, nlohmann::json& /*parsed*/) {
        if (depth > kMaxJsonDepth) too_deep = true;
        return !too_deep;
      };
  nlohmann::json doc = nlohmann::json::parse(data.begin(), data.end(), drop_deep_values,
                                             /*allow_exceptions=*/false);
  return too_deep ? nlohmann::json(nlohmann::json::value_t::discarded) : doc;
}

}  // namespace

std::string EncodeNodeData(const NodeIdentity& identity) {
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [key, value] : identity.meta) meta[key] = value;
  nlohmann::json doc = {{"id", identity.id},
                        {"address", identity.address},
                        {"meta", meta},
                        {"priority", identity.priority}};
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

NodeIdentity DecodeNodeData(std::string_view data) {
  NodeIdentity identity;
  nlohmann::json doc = ParseShallowJson(data);
  const bool ours = doc.is_object() && doc.contains("id") && doc["id"].is_string();
  if (!ours) {
    identity.id = std::string(data);
    return identity;
  }
  identity.id = doc["id"].get<std::string>();
  if (auto it = doc.find("address"); it != doc.end() && it->is_string()) {
    identity.address = it->get<std::string>();
  }
  if (auto it = doc.find("meta"); it != doc.end() && it->is_object()) {
    for (const auto& [key, value] : it->items()) {
      identity.meta[key] =
          value.is_string() ? value.get<std::string>()
                            : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  if (auto it = doc.find("priority"); it != doc.end() && it->is_number_integer()) {
    const auto priority = it->get<int64_t>();
    if (priority >= 0 && priority <= kMaxPriority) identity.priority = priority;
  }
  return identity;
}

Rank RankOf(std::string_view data) {
  const nlohmann::json doc = ParseShallowJson(data);
  if (!doc.is_object() || !doc.contains("id") || !doc["id"].is_string()) return {};
  const auto it = doc.find("priority");
  if (it == doc.end() || !it->is_number_integer()) return {};
  const auto priority = it->get<int64_t>();
  if (priority < 0 || priority > kMaxPriority) return {};
  return Rank{priority, true};
}

}  // namespace zkelect
