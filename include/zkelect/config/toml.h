#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "zkelect/common/status.h"

namespace zkelect {

// A strict subset of TOML 1.0, enough for zkelect.toml and written here so
// that zkelect needs no TOML library.
//
// Accepted: a leading byte order mark, comments, blank lines, `[table]` and `[a.b]` headers, bare
// (A-Za-z0-9_-), quoted and dotted keys, basic strings with the escapes
// \" \\ \b \f \n \r \t \uXXXX \UXXXXXXXX, literal strings '...', decimal
// integers (sign, `_` separators), booleans, arrays of those (over several
// lines, trailing comma and comments allowed; no nested arrays) and one-line
// inline tables `{ k = "v" }`.
// Refused with an error: floats, dates and times, multi-line strings, arrays
// of tables, hexadecimal/octal/binary integers, invalid UTF-8, and anything
// else that is not TOML.

using TomlScalar = std::variant<std::string, std::int64_t, bool>;
using TomlArray = std::vector<TomlScalar>;
using TomlValue = std::variant<std::string, std::int64_t, bool, TomlArray>;

// One key = value of a document.
struct TomlEntry {
  TomlValue value;
  // 1-based line on which the key was written.
  int line = 0;
  // The key's parts, unquoted, tables first: {"meta", "app.version"}.
  std::vector<std::string> path;
};

// The whole document, flattened: full dotted key -> entry. Keys are spelled
// the way TOML writes them, so that they are unambiguous: bare parts as they
// are, other parts quoted (`zk.servers`, `meta."app.version"`). Tables have
// no entries of their own: an empty table leaves no trace.
using TomlDocument = std::map<std::string, TomlEntry>;

// Parses `text`. Errors are InvalidArgument with the message
// "<source_name>:<line>: <what is wrong>", e.g. a duplicate key, a table that
// is also given a value (or the reverse), or one of the refused forms above.
// An error about a value names its key, not its text, which may be a secret:
// "zkelect.toml:3: invalid value of zk.auth (strings must be quoted)".
// Safe on any input: no crash, no unbounded recursion, linear-ish time.
Result<TomlDocument> ParseToml(std::string_view text, std::string_view source_name);

// Renders a value the way TOML writes it, always on one line:
// "a\"b\n" (escaped), 42, true, ["x", 1]. Used in error messages. Bytes that
// are not UTF-8 (possible in values from flags and the environment) are
// shown as \xNN.
std::string FormatTomlValue(const TomlValue& value);

// Renders a key path the way TOML writes it: zk.servers, meta."app.version".
std::string FormatTomlKey(const std::vector<std::string>& path);

// True if `text` is well-formed UTF-8 (as TOML requires of a document): no
// overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view text);

}  // namespace zkelect
