#include "zkelect/daemon/logging.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "zkelect/common/log_event.h"

namespace zkelect {
namespace {

// Runs `log` with the daemon's logging configured as `config` and stderr
// sent to a file; returns the lines written.
template <typename Log>
std::vector<std::string> CaptureLog(const LogConfig& config, Log log) {
  test::TempDir dir("logging-test");
  const std::string path = dir.path() + "/stderr";
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  EXPECT_NE(std::freopen(path.c_str(), "w", stderr), nullptr);
  ConfigureLogging(config);
  log();
  spdlog::default_logger()->flush();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  ConfigureLogging(LogConfig{});  // back to the default for later tests
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void LogSamples() {
  LogEvent(spdlog::level::info, "role follower -> leader (elected, epoch 42, node n1)",
           {{"event", std::string("role_change")},
            {"reason", std::string("elected")},
            {"epoch", int64_t{42}}});
  spdlog::warn("hook on_stop: \"quoted\" \\ back\x1fnot fields \xff bad utf-8");
  spdlog::info("a plain line");
}

TEST(LoggingTest, JsonFormatWritesOneObjectALineWithTimeLevelMessageAndFields) {
  const std::vector<std::string> lines =
      CaptureLog(LogConfig{"info", LogConfig::Format::kJson}, LogSamples);
  ASSERT_EQ(lines.size(), 3u);
  const std::regex utc_millis(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  std::vector<nlohmann::json> objects;
  for (const std::string& line : lines) {
    ASSERT_TRUE(nlohmann::json::accept(line)) << line;
    const nlohmann::json object = nlohmann::json::parse(line);
    ASSERT_TRUE(object.is_object()) << line;
    EXPECT_EQ(object.size(), 4u) << line;
    EXPECT_TRUE(std::regex_match(object.at("time").get<std::string>(), utc_millis)) << line;
    EXPECT_TRUE(object.at("level").is_string()) << line;
    EXPECT_TRUE(object.at("message").is_string()) << line;
    EXPECT_TRUE(object.at("fields").is_object()) << line;
    objects.push_back(object);
  }
  EXPECT_EQ(objects[0]["level"], "info");
  EXPECT_EQ(objects[0]["message"], "role follower -> leader (elected, epoch 42, node n1)");
  EXPECT_EQ(objects[0]["fields"],
            (nlohmann::json{{"event", "role_change"}, {"reason", "elected"}, {"epoch", 42}}));
  // A separator byte in text from elsewhere does not make fields.
  EXPECT_EQ(objects[1]["level"], "warning");
  EXPECT_EQ(objects[1]["fields"], nlohmann::json::object());
  EXPECT_NE(objects[1]["message"].get<std::string>().find("\"quoted\" \\ back"), std::string::npos);
  EXPECT_EQ(objects[2]["message"], "a plain line");
}

TEST(LoggingTest, TextFormatShowsTheMessageAlone) {
  const std::vector<std::string> lines =
      CaptureLog(LogConfig{"info", LogConfig::Format::kText}, LogSamples);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(std::regex_match(
      lines[0], std::regex(R"(\S+Z info  role follower -> leader \(elected, epoch 42, node n1\))")))
      << lines[0];
  EXPECT_EQ(lines[0].find('\x1f'), std::string::npos);
}

// Issue 20 finding 10: the text format wrote control bytes and terminal
// escapes (from a hook's output, a node's data) raw to the terminal.
TEST(LoggingTest, TextFormatEscapesControlBytesAndTerminalEscapes) {
  const std::vector<std::string> lines = CaptureLog(
      LogConfig{"info", LogConfig::Format::kText},
      [] { spdlog::info("hook on_start: \x1b[2J\x1b]0;title\x07 cr\r bs\b del\x7f tab\tok"); });
  ASSERT_EQ(lines.size(), 1u);
  for (const char c : lines[0]) {
    EXPECT_FALSE((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == '\x7f')
        << "raw control byte " << static_cast<int>(c) << " in: " << lines[0];
  }
  EXPECT_NE(lines[0].find(R"(hook on_start: \x1b[2J\x1b]0;title\x07 cr\x0d bs\x08 del\x7f tab)"),
            std::string::npos)
      << lines[0];
}

TEST(LoggingTest, LevelFiltersLines) {
  const std::vector<std::string> lines =
      CaptureLog(LogConfig{"warn", LogConfig::Format::kJson}, LogSamples);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"level\":\"warning\""), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace zkelect
