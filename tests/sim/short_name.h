#pragma once

#include <string>
#include <string_view>

namespace zkelect::sim {

// A znode path as the simulator's trace and reports show it: a candidate
// node (any name ending in a 10-digit sequence) as "#<sequence>", the
// prefix of one still to be created ("_c_<uuid>-latch-") as "#new", anything
// else as is: the sequence is what orders a line, and the uuid (drawn from
// the seed's own stream, Simulation::uuids_) would only make lines long.
inline std::string ShortName(std::string_view path) {
  const size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (name.ends_with("-latch-")) return "#new";
  if (name.size() <= 10) return std::string(path);
  const std::string_view digits = name.substr(name.size() - 10);
  if (digits.find_first_not_of("0123456789") != std::string_view::npos) return std::string(path);
  return "#" + std::string(digits);
}

}  // namespace zkelect::sim
