#include "zkelect/config/toml.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace zkelect {
namespace {

// Bounds that keep the parser linear-ish and its recursion shallow on any
// input: inline tables are the only recursion, and every key (table parts
// included) has a bounded number of parts.
constexpr int kMaxInlineDepth = 16;
constexpr std::size_t kMaxKeyParts = 64;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsBareKeyChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || IsDigit(c) || c == '_' || c == '-';
}

// Characters of an unquoted value: booleans, integers, and the floats, dates
// and other words that are read whole so that they can be refused by name.
bool IsTokenChar(char c) { return IsBareKeyChar(c) || c == '+' || c == '.' || c == ':'; }

bool IsNewline(char c) { return c == '\n' || c == '\r'; }

// Control characters that TOML allows neither in strings nor in comments.
bool IsForbiddenControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

int HexDigitValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string HexByte(unsigned value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out += kHex[(value >> 4) & 0xf];
  out += kHex[value & 0xf];
  return out;
}

// How an unexpected character is named in an error message (always printable).
std::string DescribeChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) return std::string("'") + c + "'";
  if (c == ' ') return "a space";
  if (c == '\t') return "a tab";
  if (u < 0x80) return "control character U+00" + HexByte(u);
  return "a non-ASCII character";
}

// The length of the well-formed UTF-8 sequence at s[i] (1 for ASCII), or 0
// when there is none: no overlongs, no surrogates, nothing above U+10FFFF.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  std::size_t length = 0;
  unsigned char lo = 0x80;  // bounds of the second byte
  unsigned char hi = 0xbf;
  if (b < 0x80) {
    return 1;
  } else if (b >= 0xc2 && b <= 0xdf) {
    length = 2;
  } else if (b >= 0xe0 && b <= 0xef) {
    length = 3;
    if (b == 0xe0) lo = 0xa0;
    if (b == 0xed) hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    length = 4;
    if (b == 0xf0) lo = 0x90;
    if (b == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (s.size() - i < length) return 0;
  const auto second = static_cast<unsigned char>(s[i + 1]);
  if (second < lo || second > hi) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    const auto next = static_cast<unsigned char>(s[i + k]);
    if (next < 0x80 || next > 0xbf) return 0;
  }
  return length;
}

// The offset of the first byte that is not well-formed UTF-8, or npos.
std::size_t FindInvalidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t length = Utf8SequenceLength(s, i);
    if (length == 0) return i;
    i += length;
  }
  return std::string_view::npos;
}

void AppendUtf8(std::uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// A TOML basic string, always on one line. Control characters (C1 included)
// are escaped; bytes that are not UTF-8, which TOML cannot hold but flags and
// the environment can, are shown as \xNN.
std::string QuoteString(std::string_view s) {
  std::string out = "\"";
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    const std::size_t length = Utf8SequenceLength(s, i);
    if (length == 0) {
      out += "\\x" + HexByte(static_cast<unsigned char>(c));
    } else if (length == 2 && static_cast<unsigned char>(c) == 0xc2 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
      out += "\\u00" + HexByte(static_cast<unsigned char>(s[i + 1]));  // U+0080..U+009F
    } else if (length > 1) {
      out.append(s.substr(i, length));
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\b') {
      out += "\\b";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\f') {
      out += "\\f";
    } else if (c == '\r') {
      out += "\\r";
    } else if (IsForbiddenControl(c)) {
      out += "\\u00" + HexByte(static_cast<unsigned char>(c));
    } else {
      out += c;
    }
    i += length == 0 ? 1 : length;
  }
  out += '"';
  return out;
}

// The character after a backslash, as shown in an error message.
std::string EscapeLetter(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f ? std::string(1, c) : " followed by " + DescribeChar(c);
}

std::string FormatScalar(const TomlScalar& scalar) {
  if (const auto* s = std::get_if<std::string>(&scalar)) return QuoteString(*s);
  if (const auto* i = std::get_if<std::int64_t>(&scalar)) return std::to_string(*i);
  return std::get<bool>(scalar) ? "true" : "false";
}

// What a dotted key path names so far. Tables come in several kinds because
// TOML lets each be extended only in certain ways.
enum class NodeKind {
  kValue,          // key = value
  kHeaderTable,    // [a.b]
  kImplicitTable,  // a, made by [a.b]; may still get its own [a] header
  kDottedTable,    // a, made by `a.b = 1`; extensible by dotted keys of its section only
  kInlineTable,    // a = { ... }; sealed
};

struct Node {
  NodeKind kind;
  int section;  // the header section or inline table that made it
};

class Parser {
 public:
  Parser(std::string_view text, std::string_view source_name)
      : text_(text), source_name_(source_name) {}

  Result<TomlDocument> Parse() {
    if (const std::size_t bad = FindInvalidUtf8(text_); bad != std::string_view::npos) {
      for (std::size_t i = 0; i < bad; ++i) {
        if (text_[i] == '\n') ++line_;
      }
      return Error("invalid UTF-8");
    }
    if (text_.starts_with("\xef\xbb\xbf")) pos_ = 3;  // a byte order mark some editors write
    std::vector<std::string> table;                   // the table of the current [header]
    int section = 0;
    while (!AtEnd()) {
      SkipBlanks();
      if (AtEnd()) break;
      const char c = Peek();
      if (IsNewline(c)) {
        if (Status s = ConsumeNewline(); !s.ok()) return s;
        continue;
      }
      if (c == '#') {
        if (Status s = SkipComment(); !s.ok()) return s;
        continue;
      }
      if (c == '[') {
        if (Status s = ParseHeader(&table); !s.ok()) return s;
        section = ++sections_;
        if (Status s = ExpectLineEnd("the table header"); !s.ok()) return s;
      } else {
        if (Status s = ParseKeyValue(table, section, 0); !s.ok()) return s;
        if (Status s = ExpectLineEnd("the value"); !s.ok()) return s;
      }
    }
    return std::move(entries_);
  }

 private:
  Status Error(std::string_view what) const {
    return Status::InvalidArgument(std::string(source_name_) + ":" + std::to_string(line_) + ": " +
                                   std::string(what));
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  // The character `ahead` places on, or '\0' past the end (callers that care
  // about a real NUL check AtEnd() first).
  char Peek(std::size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }

  void SkipBlanks() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t')) ++pos_;
  }

  // At '\n' or '\r'.
  Status ConsumeNewline() {
    if (Peek() == '\r') {
      if (Peek(1) != '\n') return Error("carriage return without a line feed");
      ++pos_;
    }
    ++pos_;
    ++line_;
    return Status::Ok();
  }

  // At '#': skips to the end of the line, which is left for the caller.
  Status SkipComment() {
    while (!AtEnd() && !IsNewline(Peek())) {
      if (IsForbiddenControl(Peek())) {
        return Error(DescribeChar(Peek()) + " in a comment");
      }
      ++pos_;
    }
    return Status::Ok();
  }

  // After a header or key = value: blanks, an optional comment, then the end
  // of the line (consumed) or of the text.
  Status ExpectLineEnd(std::string_view after) {
    SkipBlanks();
    if (!AtEnd() && Peek() == '#') {
      if (Status s = SkipComment(); !s.ok()) return s;
    }
    if (AtEnd()) return Status::Ok();
    if (IsNewline(Peek())) return ConsumeNewline();
    return Error("unexpected " + DescribeChar(Peek()) + " after " + std::string(after) +
                 "; expected a comment or the end of the line");
  }

  // Blanks, line ends and comments: what may separate array elements.
  Status SkipArrayFiller() {
    while (true) {
      SkipBlanks();
      if (AtEnd()) return Status::Ok();
      if (IsNewline(Peek())) {
        if (Status s = ConsumeNewline(); !s.ok()) return s;
      } else if (Peek() == '#') {
        if (Status s = SkipComment(); !s.ok()) return s;
      } else {
        return Status::Ok();
      }
    }
  }

  // At '['.
  Status ParseHeader(std::vector<std::string>* table) {
    ++pos_;
    if (Peek() == '[') return Error("arrays of tables ([[...]]) are not supported");
    std::vector<std::string> parts;
    if (Status s = ParseKey(&parts); !s.ok()) return s;
    if (AtEnd() || Peek() != ']') return Error("expected ']' to close the table header");
    ++pos_;
    if (Status s = DefineHeaderTable(parts); !s.ok()) return s;
    *table = std::move(parts);
    return Status::Ok();
  }

  // A key, simple or dotted, with the blanks around it.
  Status ParseKey(std::vector<std::string>* parts) {
    parts->clear();
    while (true) {
      SkipBlanks();
      if (parts->size() >= kMaxKeyParts) return Error("key has too many parts");
      if (AtEnd()) return Error("expected a key");
      std::string part;
      const char c = Peek();
      if (c == '"' || c == '\'') {
        if (Peek(1) == c && Peek(2) == c) return Error("multi-line strings cannot be keys");
        Status s = c == '"' ? ParseBasicString(&part) : ParseLiteralString(&part);
        if (!s.ok()) return s;
      } else if (IsBareKeyChar(c)) {
        while (!AtEnd() && IsBareKeyChar(Peek())) part += text_[pos_++];
      } else {
        return Error("expected a key, found " + DescribeChar(c));
      }
      parts->push_back(std::move(part));
      SkipBlanks();
      if (AtEnd() || Peek() != '.') return Status::Ok();
      ++pos_;
    }
  }

  // `key = value` where the key is relative to `table`. `section` identifies
  // the header section or inline table being read; `depth` counts inline
  // tables around this key.
  Status ParseKeyValue(const std::vector<std::string>& table, int section, int depth) {
    const int key_line = line_;
    std::vector<std::string> parts;
    if (Status s = ParseKey(&parts); !s.ok()) return s;
    if (AtEnd() || Peek() != '=') {
      return Error("expected '=' after the key " + FormatTomlKey(parts));
    }
    ++pos_;
    SkipBlanks();
    if (table.size() + parts.size() > kMaxKeyParts) return Error("key nested too deeply");
    std::vector<std::string> path = table;
    path.insert(path.end(), parts.begin(), parts.end());
    if (!AtEnd() && Peek() == '{') {
      if (Status s = DefineKey(table.size(), path, section, NodeKind::kInlineTable); !s.ok()) {
        return s;
      }
      return ParseInlineTable(path, depth + 1);
    }
    if (Status s = DefineKey(table.size(), path, section, NodeKind::kValue); !s.ok()) return s;
    std::string key = FormatTomlKey(path);
    value_key_ = key;
    TomlValue value;
    if (Status s = ParseValue(&value); !s.ok()) return s;
    entries_.emplace(std::move(key), TomlEntry{std::move(value), key_line, std::move(path)});
    return Status::Ok();
  }

  // At '{'. Inline tables are on one line, without a trailing comma.
  Status ParseInlineTable(const std::vector<std::string>& path, int depth) {
    if (depth > kMaxInlineDepth) return Error("inline tables nested too deeply");
    ++pos_;
    const int section = ++sections_;
    SkipBlanks();
    if (!AtEnd() && Peek() == '}') {
      ++pos_;
      return Status::Ok();
    }
    while (true) {
      SkipBlanks();
      if (AtEnd() || IsNewline(Peek())) return Error("inline tables must be on one line");
      if (Status s = ParseKeyValue(path, section, depth); !s.ok()) return s;
      SkipBlanks();
      if (AtEnd() || IsNewline(Peek())) return Error("inline tables must be on one line");
      if (Peek() == '}') {
        ++pos_;
        return Status::Ok();
      }
      if (Peek() != ',') {
        return Error("expected ',' or '}' in the inline table, found " + DescribeChar(Peek()));
      }
      ++pos_;
      SkipBlanks();
      if (!AtEnd() && Peek() == '}') return Error("trailing comma in an inline table");
    }
  }

  // Registers [path]. Its parents become implicit tables unless they are
  // already tables; the table itself may be named by one header only.
  Status DefineHeaderTable(const std::vector<std::string>& path) {
    std::vector<std::string> prefix;
    for (std::size_t i = 0; i < path.size(); ++i) {
      prefix.push_back(path[i]);
      const std::string key = FormatTomlKey(prefix);
      const bool last = i + 1 == path.size();
      auto it = nodes_.find(key);
      if (it == nodes_.end()) {
        nodes_.emplace(key, Node{last ? NodeKind::kHeaderTable : NodeKind::kImplicitTable, 0});
        continue;
      }
      switch (it->second.kind) {
        case NodeKind::kValue:
          return Error(key + " is already a value, not a table");
        case NodeKind::kInlineTable:
          return Error("inline table " + key + " cannot be extended");
        case NodeKind::kHeaderTable:
          if (last) return Error("table [" + key + "] is defined twice");
          break;
        case NodeKind::kDottedTable:
          if (last) return Error("table [" + key + "] was already defined with dotted keys");
          break;
        case NodeKind::kImplicitTable:
          if (last) it->second.kind = NodeKind::kHeaderTable;
          break;
      }
    }
    return Status::Ok();
  }

  // Registers the key `path`, whose first `table_size` parts are the enclosing
  // table (already registered). The parts in between become dotted tables of
  // `section`; the last one must be new.
  Status DefineKey(std::size_t table_size, const std::vector<std::string>& path, int section,
                   NodeKind kind) {
    std::vector<std::string> prefix(path.begin(),
                                    path.begin() + static_cast<std::ptrdiff_t>(table_size));
    for (std::size_t i = table_size; i + 1 < path.size(); ++i) {
      prefix.push_back(path[i]);
      const std::string key = FormatTomlKey(prefix);
      auto it = nodes_.find(key);
      if (it == nodes_.end()) {
        nodes_.emplace(key, Node{NodeKind::kDottedTable, section});
        continue;
      }
      switch (it->second.kind) {
        case NodeKind::kValue:
          return Error(key + " is already a value, not a table");
        case NodeKind::kInlineTable:
          return Error("inline table " + key + " cannot be extended");
        case NodeKind::kHeaderTable:
        case NodeKind::kImplicitTable:
          return Error("table [" + key + "] cannot be extended with dotted keys from here");
        case NodeKind::kDottedTable:
          if (it->second.section != section) {
            return Error("table " + key + " cannot be extended from here");
          }
          break;
      }
    }
    const std::string key = FormatTomlKey(path);
    auto it = nodes_.find(key);
    if (it != nodes_.end()) {
      if (it->second.kind == NodeKind::kValue) return Error("duplicate key " + key);
      return Error(key + " is already a table");
    }
    nodes_.emplace(key, Node{kind, section});
    return Status::Ok();
  }

  // A value after '=' (inline tables are handled by the caller).
  Status ParseValue(TomlValue* out) {
    if (AtEnd() || IsNewline(Peek())) return Error("expected a value after '='");
    if (Peek() == '[') {
      TomlArray array;
      if (Status s = ParseArray(&array); !s.ok()) return s;
      *out = std::move(array);
      return Status::Ok();
    }
    TomlScalar scalar;
    if (Status s = ParseScalar(&scalar); !s.ok()) return s;
    *out = std::visit([](auto&& v) -> TomlValue { return std::forward<decltype(v)>(v); },
                      std::move(scalar));
    return Status::Ok();
  }

  // At '['. Elements are scalars: no nested arrays, no inline tables.
  Status ParseArray(TomlArray* out) {
    const int open_line = line_;
    ++pos_;
    while (true) {
      if (Status s = SkipArrayFiller(); !s.ok()) return s;
      if (AtEnd()) break;
      if (Peek() == ']') {
        ++pos_;
        return Status::Ok();
      }
      TomlScalar element;
      if (Status s = ParseScalar(&element); !s.ok()) return s;
      out->push_back(std::move(element));
      if (Status s = SkipArrayFiller(); !s.ok()) return s;
      if (AtEnd()) break;
      if (Peek() == ']') {
        ++pos_;
        return Status::Ok();
      }
      if (Peek() != ',') {
        return Error("expected ',' or ']' in the array, found " + DescribeChar(Peek()));
      }
      ++pos_;
    }
    return Error("unterminated array (opened on line " + std::to_string(open_line) + ")");
  }

  Status ParseScalar(TomlScalar* out) {
    if (AtEnd()) return Error("expected a value");
    const char c = Peek();
    if (c == '"' || c == '\'') {
      if (Peek(1) == c && Peek(2) == c) return Error("multi-line strings are not supported");
      std::string s;
      Status status = c == '"' ? ParseBasicString(&s) : ParseLiteralString(&s);
      if (!status.ok()) return status;
      out->emplace<std::string>(std::move(s));
      return Status::Ok();
    }
    if (c == '[') return Error("nested arrays are not supported");
    if (c == '{') return Error("inline tables inside arrays (arrays of tables) are not supported");
    if (IsTokenChar(c)) return ParseToken(out);
    return Error("expected a value (a string, integer, boolean or array), found " +
                 DescribeChar(c));
  }

  // An unquoted value: true, false or a decimal integer. Floats, dates and
  // other integer forms are read whole and refused by name.
  Status ParseToken(TomlScalar* out) {
    const std::size_t start = pos_;
    while (!AtEnd() && IsTokenChar(Peek())) ++pos_;
    const std::string_view token = text_.substr(start, pos_ - start);
    if (token == "true" || token == "false") {
      out->emplace<bool>(token == "true");
      return Status::Ok();
    }
    const std::string_view unsigned_part =
        (token[0] == '+' || token[0] == '-') ? token.substr(1) : token;
    if (unsigned_part == "inf" || unsigned_part == "nan") {
      return Error("floats are not supported");
    }
    if (unsigned_part.empty() || !IsDigit(unsigned_part[0])) {
      return Error("invalid value of " + value_key_ + " (strings must be quoted)");
    }
    const bool date_like = token.size() >= 5 && IsDigit(token[0]) && IsDigit(token[1]) &&
                           IsDigit(token[2]) && IsDigit(token[3]) && token[4] == '-';
    const bool time_like =
        token.size() >= 3 && IsDigit(token[0]) && IsDigit(token[1]) && token[2] == ':';
    if (date_like || time_like) return Error("dates and times are not supported");
    if (unsigned_part.size() > 1 && unsigned_part[0] == '0' &&
        (unsigned_part[1] == 'x' || unsigned_part[1] == 'o' || unsigned_part[1] == 'b')) {
      return Error("only decimal integers are supported");
    }
    if (unsigned_part.find_first_not_of("0123456789_") != std::string_view::npos) {
      const bool float_like =
          unsigned_part.find_first_of(".eE") != std::string_view::npos &&
          unsigned_part.find_first_not_of("0123456789_.eE+-") == std::string_view::npos;
      if (float_like) return Error("floats are not supported");
      return Error("invalid value of " + value_key_ + " (strings must be quoted)");
    }
    return ParseDecimal(token, out);
  }

  // `token` is [+-]?[0-9_]+ starting with a digit after the sign.
  Status ParseDecimal(std::string_view token, TomlScalar* out) {
    const bool negative = token[0] == '-';
    const std::string_view digits = (token[0] == '+' || token[0] == '-') ? token.substr(1) : token;
    if (digits.size() > 1 && digits[0] == '0') {
      return Error("invalid integer of " + value_key_ + ": leading zeros are not allowed");
    }
    const std::uint64_t limit =
        negative ? std::uint64_t{1} << 63
                 : static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    std::uint64_t magnitude = 0;
    for (std::size_t i = 0; i < digits.size(); ++i) {
      if (digits[i] == '_') {
        if (i + 1 == digits.size() || digits[i + 1] == '_') {
          return Error("invalid integer of " + value_key_ + ": '_' must be between digits");
        }
        continue;
      }
      const auto d = static_cast<std::uint64_t>(digits[i] - '0');
      if (magnitude > (limit - d) / 10) {
        return Error("integer of " + value_key_ + " is out of range (64-bit)");
      }
      magnitude = magnitude * 10 + d;
    }
    std::int64_t value = 0;
    if (!negative) {
      value = static_cast<std::int64_t>(magnitude);
    } else if (magnitude == limit) {
      value = std::numeric_limits<std::int64_t>::min();
    } else {
      value = -static_cast<std::int64_t>(magnitude);
    }
    out->emplace<std::int64_t>(value);
    return Status::Ok();
  }

  // At '"': a one-line string with escapes.
  Status ParseBasicString(std::string* out) {
    ++pos_;
    while (true) {
      if (AtEnd() || IsNewline(Peek())) return Error("unterminated string");
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return Status::Ok();
      }
      if (IsForbiddenControl(c)) {
        return Error(DescribeChar(c) + " in a string; write it as an escape");
      }
      ++pos_;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (AtEnd()) return Error("unterminated string");
      const char e = text_[pos_++];
      switch (e) {
        case 'b':
          out->push_back('\b');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case '"':
        case '\\':
          out->push_back(e);
          break;
        case 'u':
        case 'U':
          if (Status s = ParseUnicodeEscape(e == 'u' ? 4 : 8, out); !s.ok()) return s;
          break;
        default:
          return Error("invalid escape \\" + EscapeLetter(e) + " in a string");
      }
    }
  }

  // After "\u" or "\U": `digits` hex digits naming a Unicode scalar value.
  Status ParseUnicodeEscape(std::size_t digits, std::string* out) {
    std::uint32_t cp = 0;
    for (std::size_t i = 0; i < digits; ++i) {
      const int v = AtEnd() ? -1 : HexDigitValue(Peek());
      if (v < 0) {
        return Error("invalid unicode escape: expected " + std::to_string(digits) + " hex digits");
      }
      cp = (cp << 4) | static_cast<std::uint32_t>(v);
      ++pos_;
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return Error("invalid unicode escape: not a Unicode scalar value");
    }
    AppendUtf8(cp, out);
    return Status::Ok();
  }

  // At '\'': a one-line string taken as written.
  Status ParseLiteralString(std::string* out) {
    ++pos_;
    while (true) {
      if (AtEnd() || IsNewline(Peek())) return Error("unterminated string");
      const char c = text_[pos_++];
      if (c == '\'') return Status::Ok();
      if (IsForbiddenControl(c)) return Error(DescribeChar(c) + " in a string");
      out->push_back(c);
    }
  }

  const std::string_view text_;
  const std::string_view source_name_;
  std::size_t pos_ = 0;
  int line_ = 1;
  int sections_ = 0;  // sections handed out so far; 0 is the top of the file
  // The key whose value is being read. Errors about a value name this key,
  // never the value's text: it may be a secret (zk.auth).
  std::string value_key_;
  std::map<std::string, Node> nodes_;
  TomlDocument entries_;
};

}  // namespace

Result<TomlDocument> ParseToml(std::string_view text, std::string_view source_name) {
  return Parser(text, source_name).Parse();
}

std::string FormatTomlValue(const TomlValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return QuoteString(*s);
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  const auto& array = std::get<TomlArray>(value);
  std::string out = "[";
  for (std::size_t i = 0; i < array.size(); ++i) {
    if (i > 0) out += ", ";
    out += FormatScalar(array[i]);
  }
  return out + "]";
}

bool IsValidUtf8(std::string_view text) { return FindInvalidUtf8(text) == std::string_view::npos; }

std::string FormatTomlKey(const std::vector<std::string>& path) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (i > 0) out += '.';
    const std::string& part = path[i];
    bool bare = !part.empty();
    for (char c : part) bare = bare && IsBareKeyChar(c);
    out += bare ? part : QuoteString(part);
  }
  return out;
}

}  // namespace zkelect
