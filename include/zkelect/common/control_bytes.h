#pragma once

#include <string>
#include <string_view>

namespace zkelect {

// `text` with every ASCII control byte but tab (0x00-0x1f, 0x7f) written as
// "\xNN": text from elsewhere (a command's output, a node's data) can then
// neither move a terminal's cursor or colour the log, nor carry the log's
// field separator (log_event.h) into a log line. Other bytes are kept.
inline std::string EscapeControlBytes(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace zkelect
