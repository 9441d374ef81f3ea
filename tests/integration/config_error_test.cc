// A bad configuration value stops the real binary at start: exit code 2 and
// one line that names the key, the value and what was expected (design §6).
// No ZooKeeper is needed: nothing may be half-applied before the check.

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "support/zkelect_process.h"

namespace zkelect::test {
namespace {

using std::chrono::seconds;

// The first line of `text` that contains every one of `needles`, or "".
std::string LineWithAll(const std::string& text, const std::vector<std::string>& needles) {
  std::istringstream lines(text);
  std::string line;
  for (int count = 0; count < 10000 && std::getline(lines, line); ++count) {
    bool all = true;
    for (const std::string& needle : needles) all = all && line.find(needle) != std::string::npos;
    if (all) return line;
  }
  return "";
}

struct BadValue {
  std::string flag;
  std::string key;
  std::string value;
};

// Short names in test listings (ctest shows GetParam()).
void PrintTo(const BadValue& bad, std::ostream* out) { *out << bad.flag; }

class ConfigErrorTest : public ::testing::TestWithParam<BadValue> {};

TEST_P(ConfigErrorTest, ExitsWithCode2AndOneLineNamingKeyValueAndExpectation) {
  const BadValue& bad = GetParam();
  ZkelectOptions options;
  options.id = "bad-config";
  options.standard_flags = false;
  options.separate_stderr = true;
  options.extra_flags = {"--id=bad-config", "--zk.servers=127.0.0.1:1", "--http.listen=127.0.0.1:0",
                         bad.flag};
  ZkelectProcess daemon(options);
  ASSERT_TRUE(daemon.Spawn());
  const auto exit = daemon.WaitExit(seconds(10));
  ASSERT_TRUE(exit.has_value()) << "still running 10 s after start with " << bad.flag << "\n"
                                << daemon.LogTail();
  EXPECT_EQ(*exit, (ExitStatus{2, 0})) << exit->ToString() << "\n" << daemon.LogTail();
  const std::string line = LineWithAll(daemon.stderr_text(), {bad.key, bad.value, "expected"});
  EXPECT_FALSE(line.empty()) << "no stderr line names " << bad.key << ", " << bad.value
                             << " and \"expected\":\n"
                             << daemon.LogTail();
  EXPECT_EQ(daemon.log_text().find("HTTP API listening"), std::string::npos)
      << "a daemon with a bad configuration started serving";
}

TEST(ConfigErrorFromEnvironmentTest, ExitsWithCode2AndNamesTheKey) {
  ZkelectOptions options;
  options.id = "bad-env";
  options.standard_flags = false;
  options.separate_stderr = true;
  options.extra_flags = {"--id=bad-env", "--zk.servers=127.0.0.1:1", "--http.listen=127.0.0.1:0"};
  options.env["ZKELECT_ZK_SESSION_TIMEOUT"] = "10x";
  ZkelectProcess daemon(options);
  ASSERT_TRUE(daemon.Spawn());
  const auto exit = daemon.WaitExit(seconds(10));
  ASSERT_TRUE(exit.has_value()) << daemon.LogTail();
  EXPECT_EQ(*exit, (ExitStatus{2, 0})) << exit->ToString() << "\n" << daemon.LogTail();
  EXPECT_FALSE(LineWithAll(daemon.stderr_text(), {"zk.session_timeout", "10x", "expected"}).empty())
      << daemon.LogTail();
}

INSTANTIATE_TEST_SUITE_P(
    BadValues, ConfigErrorTest,
    ::testing::Values(BadValue{"--zk.session_timeout=10x", "zk.session_timeout", "10x"},
                      BadValue{"--election.campaign=maybe", "election.campaign", "maybe"}),
    [](const ::testing::TestParamInfo<BadValue>& param_info) {
      std::string name;
      for (char c : param_info.param.key) name += (c == '.' ? '_' : c);
      return name;
    });

}  // namespace
}  // namespace zkelect::test
