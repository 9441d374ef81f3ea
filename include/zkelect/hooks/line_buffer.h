#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "zkelect/common/control_bytes.h"

namespace zkelect {

// Cuts a byte stream (a command's output) into lines: Append() hands every
// complete line to the callback, without its '\n' and with its control bytes
// escaped (EscapeControlBytes: output cannot forge log fields or drive a
// terminal); a line longer than kMaxLine is handed on in kMaxLine pieces, so
// memory stays bounded whatever the writer does. Not thread-safe: one owner
// at a time.
class LineBuffer {
 public:
  using LineCallback = std::function<void(std::string_view line)>;
  static constexpr std::size_t kMaxLine = 4096;

  // Adds `bytes`; calls `on_line` (may be empty) for each line completed.
  void Append(std::string_view bytes, const LineCallback& on_line) {
    pending_.append(bytes);
    std::size_t start = 0;
    for (;;) {
      const std::size_t nl = pending_.find('\n', start);
      if (nl == std::string::npos) break;
      Emit(std::string_view(pending_).substr(start, nl - start), on_line);
      start = nl + 1;
    }
    pending_.erase(0, start);
    while (pending_.size() >= kMaxLine) {  // a line without end: cut it
      Emit(std::string_view(pending_).substr(0, kMaxLine), on_line);
      pending_.erase(0, kMaxLine);
    }
  }

  // Hands on the last, unterminated line, if any (at end of output).
  void Flush(const LineCallback& on_line) {
    if (!pending_.empty()) Emit(pending_, on_line);
    pending_.clear();
  }

 private:
  static void Emit(std::string_view line, const LineCallback& on_line) {
    if (on_line) on_line(EscapeControlBytes(line));
  }

  std::string pending_;
};

}  // namespace zkelect
