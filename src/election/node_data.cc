#include "zkelect/election/node_data.h"

#include <nlohmann/json.hpp>

namespace zkelect {

std::string EncodeNodeData(const NodeIdentity& identity) {
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [key, value] : identity.meta) meta[key] = value;
  nlohmann::json doc = {{"id", identity.id}, {"address", identity.address}, {"meta", meta}};
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

NodeIdentity DecodeNodeData(std::string_view data) {
  NodeIdentity identity;
  nlohmann::json doc = nlohmann::json::parse(data.begin(), data.end(), nullptr,
                                             /*allow_exceptions=*/false);
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
  return identity;
}

}  // namespace zkelect
