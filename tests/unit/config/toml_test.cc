#include "zkelect/config/toml.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace zkelect {
namespace {

constexpr char kSource[] = "test.toml";

TomlDocument MustParse(std::string_view text) {
  Result<TomlDocument> document = ParseToml(text, kSource);
  EXPECT_TRUE(document.ok()) << document.status().message();
  return document.ok() ? *document : TomlDocument{};
}

// The value of `key`, or a failure when the document has no such key.
TomlValue ValueOf(const TomlDocument& document, const std::string& key) {
  auto it = document.find(key);
  EXPECT_NE(it, document.end()) << "no key " << key;
  return it == document.end() ? TomlValue{} : it->second.value;
}

TomlValue Str(std::string s) { return TomlValue(std::move(s)); }
TomlValue Int(std::int64_t i) { return TomlValue(i); }
TomlValue Bool(bool b) { return TomlValue(std::in_place_type<bool>, b); }

TEST(TomlTest, EmptyAndCommentOnlyDocumentsHaveNoEntries) {
  EXPECT_TRUE(MustParse("").empty());
  EXPECT_TRUE(MustParse("\n\n   \n\t\n").empty());
  EXPECT_TRUE(MustParse("# a comment\n  # another one\n#[table]\n#key = 1").empty());
  EXPECT_TRUE(MustParse("[empty]\n[also.empty]\n").empty());
  EXPECT_TRUE(MustParse("\r\n# windows\r\n").empty());
  EXPECT_EQ(ValueOf(MustParse("\xef\xbb\xbfv = 1"), "v"), Int(1));  // byte order mark
}

TEST(TomlTest, KeysBecomeFullDottedNames) {
  const TomlDocument d = MustParse(
      "id = \"a\"\n"
      "[zk]\n"
      "servers = \"zk1:2181\"\n"
      "[a.b]\n"
      "c = 1\n"
      "x.y.z = 2\n"
      "[ spaced . table ]\n"
      "key . part = 3\n"
      "\"quoted key\" = 4\n"
      "'literal.key' = 5\n"
      "1-a_B = 6\n");
  EXPECT_EQ(ValueOf(d, "id"), Str("a"));
  EXPECT_EQ(ValueOf(d, "zk.servers"), Str("zk1:2181"));
  EXPECT_EQ(ValueOf(d, "a.b.c"), Int(1));
  EXPECT_EQ(ValueOf(d, "a.b.x.y.z"), Int(2));
  EXPECT_EQ(ValueOf(d, "spaced.table.key.part"), Int(3));
  EXPECT_EQ(ValueOf(d, "spaced.table.\"quoted key\""), Int(4));
  EXPECT_EQ(ValueOf(d, "spaced.table.\"literal.key\""), Int(5));
  EXPECT_EQ(ValueOf(d, "spaced.table.1-a_B"), Int(6));
  EXPECT_EQ(d.size(), 8u);
}

TEST(TomlTest, EntriesKnowTheirLineAndPath) {
  const TomlDocument d = MustParse("# c\n\n[meta]\nzone = \"eu\"\n\"app.version\" = \"2\"\n");
  const TomlEntry& zone = d.at("meta.zone");
  EXPECT_EQ(zone.line, 4);
  EXPECT_EQ(zone.path, (std::vector<std::string>{"meta", "zone"}));
  const TomlEntry& version = d.at("meta.\"app.version\"");
  EXPECT_EQ(version.line, 5);
  EXPECT_EQ(version.path, (std::vector<std::string>{"meta", "app.version"}));
}

TEST(TomlTest, LineNumbersCountCrLfAndMultiLineArrays) {
  const TomlDocument d = MustParse("a = [\r\n  1,\r\n  2,\r\n]\r\nb = 1\r\n");
  EXPECT_EQ(d.at("a").line, 1);
  EXPECT_EQ(d.at("b").line, 5);
}

TEST(TomlTest, ParsesStrings) {
  const struct {
    const char* toml;
    std::string value;
  } kCases[] = {
      {R"(v = "")", ""},
      {R"(v = "plain text")", "plain text"},
      {R"(v = "q\"b\\s")", "q\"b\\s"},
      {R"(v = "\n\t\r\b\f")", "\n\t\r\b\f"},
      {R"(v = "\u00e9\u00E9")", "\xc3\xa9\xc3\xa9"},
      {R"(v = "\U0001F600")", "\xf0\x9f\x98\x80"},
      {R"(v = "\u0000")", std::string(1, '\0')},
      {R"(v = "tab	inside")", "tab\tinside"},
      {R"(v = 'C:\path\no escapes')", R"(C:\path\no escapes)"},
      {R"(v = '')", ""},
      {R"(v = 'say "hi"')", "say \"hi\""},
      {"v = \"h\xc3\xa9llo\"", "h\xc3\xa9llo"},
      {R"(v = "# not a comment" # a comment)", "# not a comment"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.toml);
    EXPECT_EQ(ValueOf(MustParse(c.toml), "v"), Str(c.value));
  }
}

TEST(TomlTest, ParsesIntegersAndBooleans) {
  const struct {
    const char* toml;
    TomlValue value;
  } kCases[] = {
      {"v = 0", Int(0)},
      {"v = +0", Int(0)},
      {"v = -0", Int(0)},
      {"v = 42", Int(42)},
      {"v = +42", Int(42)},
      {"v = -17", Int(-17)},
      {"v = 1_000_000", Int(1'000'000)},
      {"v = 9223372036854775807", Int(std::numeric_limits<std::int64_t>::max())},
      {"v = -9223372036854775808", Int(std::numeric_limits<std::int64_t>::min())},
      {"v = true", Bool(true)},
      {"v = false", Bool(false)},
      {"v = true # comment", Bool(true)},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.toml);
    EXPECT_EQ(ValueOf(MustParse(c.toml), "v"), c.value);
  }
}

TEST(TomlTest, ParsesArrays) {
  EXPECT_EQ(ValueOf(MustParse("v = []"), "v"), TomlValue(TomlArray{}));
  EXPECT_EQ(ValueOf(MustParse("v = [ 1, 2 ]"), "v"),
            TomlValue(TomlArray{std::int64_t{1}, std::int64_t{2}}));
  EXPECT_EQ(ValueOf(MustParse("v = [\"a\", 'b', 3, true]"), "v"),
            TomlValue(TomlArray{std::string("a"), std::string("b"), std::int64_t{3}, true}));
  const TomlDocument multi = MustParse(
      "v = [  # opening comment\n"
      "  \"a.example.com\",  # first\n"
      "\n"
      "  # a comment line\n"
      "  \"b.example.com\",\n"
      "]\n"
      "after = 1\n");
  EXPECT_EQ(ValueOf(multi, "v"),
            TomlValue(TomlArray{std::string("a.example.com"), std::string("b.example.com")}));
  EXPECT_EQ(multi.at("after").line, 7);
}

TEST(TomlTest, InlineTablesAreFlattened) {
  const TomlDocument d = MustParse(
      "meta = { zone = \"eu\", rack = 'r7' }\n"
      "t = { a.b = 1, a.c = 2, n = { deep = true } }\n"
      "e = {}\n");
  EXPECT_EQ(ValueOf(d, "meta.zone"), Str("eu"));
  EXPECT_EQ(ValueOf(d, "meta.rack"), Str("r7"));
  EXPECT_EQ(ValueOf(d, "t.a.b"), Int(1));
  EXPECT_EQ(ValueOf(d, "t.a.c"), Int(2));
  EXPECT_EQ(ValueOf(d, "t.n.deep"), Bool(true));
  EXPECT_EQ(d.count("e"), 0u);
  EXPECT_EQ(d.size(), 5u);
}

TEST(TomlTest, TablesMayBeOpenedInTheWaysTomlAllows) {
  // A parent named by a sub-table header may get its own header later.
  EXPECT_EQ(ValueOf(MustParse("[a.b]\nc = 1\n[a]\nd = 2\n"), "a.d"), Int(2));
  // A table made with dotted keys may get sub-tables.
  EXPECT_EQ(
      ValueOf(MustParse("[fruit]\napple.color = \"red\"\n[fruit.apple.texture]\nsmooth = true\n"),
              "fruit.apple.texture.smooth"),
      Bool(true));
  // Dotted keys may add to a table they made in the same section.
  EXPECT_EQ(MustParse("a.b = 1\na.c = 2\n").size(), 2u);
}

TEST(TomlTest, RejectsWhatItDoesNotSupportOrWhatIsNotToml) {
  const struct {
    std::string toml;
    int line;
    const char* error;  // part of the message after "test.toml:<line>: "
  } kCases[] = {
      // Unsupported TOML.
      {"v = 1.5", 1, "floats are not supported"},
      {"v = 1e3", 1, "floats are not supported"},
      {"v = -2.5E-3", 1, "floats are not supported"},
      {"v = inf", 1, "floats are not supported"},
      {"v = -nan", 1, "floats are not supported"},
      {"v = 1979-05-27", 1, "dates and times are not supported"},
      {"v = 1979-05-27T07:32:00Z", 1, "dates and times are not supported"},
      {"v = 07:32:00", 1, "dates and times are not supported"},
      {"v = \"\"\"text\"\"\"", 1, "multi-line strings are not supported"},
      {"v = '''text'''", 1, "multi-line strings are not supported"},
      {"\n[[servers]]", 2, "arrays of tables ([[...]]) are not supported"},
      {"v = 0x10", 1, "only decimal integers are supported"},
      {"v = 0o17", 1, "only decimal integers are supported"},
      {"v = 0b11", 1, "only decimal integers are supported"},
      {"v = [[1]]", 1, "nested arrays are not supported"},
      {"v = [{ a = 1 }]", 1, "inline tables inside arrays (arrays of tables) are not supported"},
      // Integers.
      {"v = 01", 1, "leading zeros are not allowed"},
      {"v = 1__0", 1, "'_' must be between digits"},
      {"v = 1_", 1, "'_' must be between digits"},
      {"v = _1", 1, "invalid value of v (strings must be quoted)"},
      {"v = 9223372036854775808", 1, "out of range"},
      {"v = -9223372036854775809", 1, "out of range"},
      {"v = 99999999999999999999999999", 1, "out of range"},
      {"v = +", 1, "invalid value of v (strings must be quoted)"},
      {"v = 1-2", 1, "invalid value of v (strings must be quoted)"},
      // Unquoted words.
      {"v = tru", 1, "invalid value of v (strings must be quoted)"},
      {"v = truex", 1, "invalid value of v (strings must be quoted)"},
      {"v = localhost:2181", 1, "invalid value of v (strings must be quoted)"},
      {"v = 127.0.0.1:2181", 1, "invalid value of v (strings must be quoted)"},
      {"v = True", 1, "strings must be quoted"},
      // Duplicates and tables against values.
      {"a = 1\na = 2", 2, "duplicate key a"},
      {"\"a\" = 1\na = 2", 2, "duplicate key a"},
      {"a.b = 1\na = 2", 2, "a is already a table"},
      {"a = 1\na.b = 2", 2, "a is already a value, not a table"},
      {"[a]\n[a]", 2, "table [a] is defined twice"},
      {"a = 1\n[a]", 2, "a is already a value, not a table"},
      {"a = 1\n[a.b]", 2, "a is already a value, not a table"},
      {"a.b = 1\n[a]", 2, "table [a] was already defined with dotted keys"},
      {"[x]\na.b = 1\n[x.a]", 3, "table [x.a] was already defined with dotted keys"},
      {"a = {}\n[a]", 2, "inline table a cannot be extended"},
      {"a = { b = 1 }\na.c = 2", 2, "inline table a cannot be extended"},
      {"a = { b = 1 }\n[a.c]", 2, "inline table a cannot be extended"},
      {"[a.b.c]\nz = 9\n[a]\nb.c.t = 1", 4, "table [a.b] cannot be extended with dotted keys"},
      {"a = { b = 1, b = 2 }", 1, "duplicate key a.b"},
      {"[a]\nb = 1\n[a.b]", 3, "a.b is already a value, not a table"},
      // Strings.
      {"v = \"open", 1, "unterminated string"},
      {"v = 'open", 1, "unterminated string"},
      {"v = \"line\nbreak\"", 1, "unterminated string"},
      {"v = \"\\x\"", 1, "invalid escape \\x in a string"},
      {"v = \"\\ \"", 1, "invalid escape \\ followed by a space in a string"},
      {"v = \"\\u12\"", 1, "invalid unicode escape: expected 4 hex digits"},
      {"v = \"\\U0001F6\"", 1, "invalid unicode escape: expected 8 hex digits"},
      {"v = \"\\uD800\"", 1, "invalid unicode escape: not a Unicode scalar value"},
      {"v = \"\\U00110000\"", 1, "invalid unicode escape: not a Unicode scalar value"},
      {"v = \"a\x01\"", 1, "control character U+0001 in a string; write it as an escape"},
      {"v = \"a\x7f\"", 1, "control character U+007F in a string"},
      {"v = 'a\x1b'", 1, "control character U+001B in a string"},
      {"v = \"\xff\"", 1, "invalid UTF-8"},
      {"\n\nv = \"\xc0\xaf\"", 3, "invalid UTF-8"},
      {"v = \"\xed\xa0\x80\"", 1, "invalid UTF-8"},
      {"v = \"\xf4\x90\x80\x80\"", 1, "invalid UTF-8"},
      {"v = \"\xe2\x82\"", 1, "invalid UTF-8"},
      // Comments and line structure.
      {"# bell \x07", 1, "control character U+0007 in a comment"},
      {"v = 1\rw = 2", 1, "carriage return without a line feed"},
      {"v = 1 w = 2", 1,
       "unexpected 'w' after the value; expected a comment or the end of the line"},
      {"v = \"a\" \"b\"", 1, "unexpected '\"' after the value"},
      {"[a] x", 1, "unexpected 'x' after the table header"},
      {"[a", 1, "expected ']' to close the table header"},
      {"[]", 1, "expected a key, found ']'"},
      {"[a.]", 1, "expected a key, found ']'"},
      {"v", 1, "expected '=' after the key v"},
      {"v 1", 1, "expected '=' after the key v"},
      {"a b = 1", 1, "expected '=' after the key a"},
      {"= 1", 1, "expected a key, found '='"},
      {"v =", 1, "expected a value after '='"},
      {"v = \n1", 1, "expected a value after '='"},
      {"v = @", 1, "expected a value (a string, integer, boolean or array), found '@'"},
      {"\"\"\"k\"\"\" = 1", 1, "multi-line strings cannot be keys"},
      {"a..b = 1", 1, "expected a key, found '.'"},
      {std::string("v = 1\0", 6), 1, "unexpected control character U+0000 after the value"},
      {std::string("\0", 1), 1, "expected a key, found control character U+0000"},
      // Arrays.
      {"v = [1, 2", 1, "unterminated array (opened on line 1)"},
      {"v = [\n1,\n2\n", 4, "unterminated array (opened on line 1)"},
      {"v = [1 2]", 1, "expected ',' or ']' in the array, found '2'"},
      {"v = [,]", 1, "expected a value (a string, integer, boolean or array), found ','"},
      {"v = [1,,2]", 1, "found ','"},
      // Inline tables.
      {"v = { a = 1, }", 1, "trailing comma in an inline table"},
      {"v = { a = 1\n}", 1, "inline tables must be on one line"},
      {"v = {\na = 1 }", 1, "inline tables must be on one line"},
      {"v = { a = 1 b = 2 }", 1, "expected ',' or '}' in the inline table, found 'b'"},
      {"v = { a = 1 # c\n}", 1, "expected ',' or '}' in the inline table, found '#'"},
      {"v = { a = 1", 1, "inline tables must be on one line"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.toml);
    Result<TomlDocument> document = ParseToml(c.toml, kSource);
    ASSERT_FALSE(document.ok());
    EXPECT_EQ(document.status().code(), Status::Code::kInvalidArgument);
    const std::string prefix = std::string(kSource) + ":" + std::to_string(c.line) + ": ";
    EXPECT_EQ(document.status().message().substr(0, prefix.size()), prefix)
        << document.status().message();
    EXPECT_NE(document.status().message().find(c.error), std::string::npos)
        << document.status().message();
    EXPECT_EQ(document.status().message().find('\n'), std::string::npos);
  }
}

TEST(TomlTest, BoundsNestingInsteadOfRecursingWithoutLimit) {
  std::string deep_inline = "v = ";
  for (int i = 0; i < 100'000; ++i) deep_inline += "{ a = ";
  Result<TomlDocument> inline_result = ParseToml(deep_inline, kSource);
  ASSERT_FALSE(inline_result.ok());
  EXPECT_NE(inline_result.status().message().find("nested too deeply"), std::string::npos);

  std::string deep_array = "v = " + std::string(100'000, '[');
  EXPECT_FALSE(ParseToml(deep_array, kSource).ok());

  std::string long_key = "a";
  for (int i = 0; i < 100'000; ++i) long_key += ".a";
  Result<TomlDocument> key_result = ParseToml(long_key + " = 1", kSource);
  ASSERT_FALSE(key_result.ok());
  EXPECT_NE(key_result.status().message().find("too many parts"), std::string::npos);

  std::string sixteen_deep = "v = ";
  for (int i = 0; i < 16; ++i) sixteen_deep += "{ a = ";
  sixteen_deep += "1";
  for (int i = 0; i < 16; ++i) sixteen_deep += " }";
  EXPECT_TRUE(ParseToml(sixteen_deep, kSource).ok());
}

// A small, deterministic stand-in for the fuzzer: every prefix of a document
// that uses every feature, and random byte edits of it, must parse or fail
// cleanly (ASan/UBSan builds check "cleanly").
TEST(TomlTest, SurvivesTruncatedAndMutatedInput) {
  const std::string seed =
      "# zkelect\nid = \"node-1\"\naddress = 'x'\n[meta]\nzone = \"eu\\u00e9\"\n"
      "[zk]\nservers = \"a:1,b:2/c\"\nports = [1, +2, -3_000, # c\n true,\n]\n"
      "t = { a.b = 1, c = { d = false } }\n[x.\"y z\".'w']\nk = 9223372036854775807\n";
  ASSERT_TRUE(ParseToml(seed, kSource).ok());
  for (std::size_t n = 0; n <= seed.size(); ++n) {
    (void)ParseToml(std::string_view(seed).substr(0, n), kSource);
  }
  const std::string alphabet = "\"'[]{}=,.#\\\n\r\t 0_-+aeutxU\x01\x80\xc3\xff";
  std::mt19937 random(12345);
  for (int round = 0; round < 20'000; ++round) {
    std::string mutated = seed;
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = random() % mutated.size();
      const char c = alphabet[random() % alphabet.size()];
      switch (random() % 3) {
        case 0:
          mutated[at] = c;
          break;
        case 1:
          mutated.insert(at, 1, c);
          break;
        default:
          mutated.erase(at, 1);
      }
    }
    Result<TomlDocument> result = ParseToml(mutated, kSource);
    if (!result.ok()) {
      EXPECT_EQ(result.status().message().rfind("test.toml:", 0), 0u) << result.status().message();
    }
  }
}

TEST(TomlTest, FormatsValuesOnOneLine) {
  EXPECT_EQ(FormatTomlValue(Str("plain")), "\"plain\"");
  EXPECT_EQ(FormatTomlValue(Str("q\"b\\\n\t\x01")), R"("q\"b\\\n\t\u0001")");
  EXPECT_EQ(FormatTomlValue(Str("caf\xc3\xa9 \xff\xc3 \xc2\x85")),
            "\"caf\xc3\xa9 \\xFF\\xC3 \\u0085\"");
  EXPECT_EQ(FormatTomlValue(Int(-5)), "-5");
  EXPECT_EQ(FormatTomlValue(Bool(false)), "false");
  EXPECT_EQ(FormatTomlValue(TomlValue(TomlArray{std::string("a"), std::int64_t{1}, true})),
            R"(["a", 1, true])");
  EXPECT_EQ(FormatTomlValue(TomlValue(TomlArray{})), "[]");
}

TEST(TomlTest, FormatsKeysUnambiguously) {
  EXPECT_EQ(FormatTomlKey({"zk", "servers"}), "zk.servers");
  EXPECT_EQ(FormatTomlKey({"meta", "app.version"}), "meta.\"app.version\"");
  EXPECT_EQ(FormatTomlKey({"a b", ""}), "\"a b\".\"\"");
}

TEST(TomlTest, ChecksUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("ascii \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\x80"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xbf\xbf"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
}

}  // namespace
}  // namespace zkelect
