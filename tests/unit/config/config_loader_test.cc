#include "zkelect/config/config_loader.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "zkelect/config/toml.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;

// A file under the temp directory, removed when it goes out of scope.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    std::string pattern = (std::filesystem::temp_directory_path() / "zkelect-test-XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) {
      ADD_FAILURE() << "mkstemp failed";
      return;
    }
    path_ = pattern;
    std::size_t written = 0;
    while (written < content.size()) {
      const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
      if (n <= 0) break;
      written += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string HostName() {
  std::array<char, 256> buffer{};
  EXPECT_EQ(::gethostname(buffer.data(), buffer.size() - 1), 0);
  return buffer.data();
}

// The configuration with nothing given: the documented defaults.
Config Defaults() {
  Config config;
  config.id = HostName();
  return config;
}

// LoadConfig with no configuration file unless the flags name one, so that a
// file at the default path on the test machine cannot change the results.
Result<Config> Load(RawFlags flags, const Environment& env = {}) {
  if (!flags.config_path) flags.config_path = "";
  return LoadConfig(flags, env);
}

Result<Config> LoadFile(const std::string& toml, const Environment& env = {}) {
  TempFile file(toml);
  RawFlags flags;
  flags.config_path = file.path();
  return LoadConfig(flags, env);
}

RawFlags Flags(std::map<std::string, std::string> values) {
  RawFlags flags;
  flags.values = std::move(values);
  return flags;
}

std::string EnvName(const std::string& key) {
  std::string name = "ZKELECT_";
  for (char c : key) name += c == '.' ? '_' : static_cast<char>(std::toupper(c));
  return name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// The error message, or a failure when loading succeeded.
std::string ErrorOf(const Result<Config>& result) {
  EXPECT_FALSE(result.ok());
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(result.status().message().find('\n'), std::string::npos) << "not one line";
  return result.status().message();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Every key but `meta`, as the contract (design §6 and config/zkelect.toml) lists them.
const std::vector<std::string> kAllKeys = {
    "id",
    "address",
    "state_dir",
    "zk.servers",
    "zk.session_timeout",
    "zk.auth",
    "zk.auth_file",
    "election.path",
    "election.campaign",
    "election.recheck_interval",
    "election.priority",
    "election.preempt",
    "election.preempt_delay",
    "http.listen",
    "http.socket_mode",
    "http.allowed_hosts",
    "http.token_file",
    "http.max_waiters",
    "http.default_wait",
    "http.max_wait",
    "log.level",
    "log.format",
    "hooks.on_start",
    "hooks.on_stop",
    "hooks.on_change",
    "hooks.timeout",
    "hooks.kill_grace",
    "hooks.start_failure",
    "health.command",
    "health.http",
    "health.interval",
    "health.timeout",
    "health.rise",
    "health.fall",
    "child.on_exit",
    "child.stop_grace",
};

TEST(ConfigLoaderTest, NothingGivenMeansTheDefaults) {
  Result<Config> config = Load({});
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(*config, Defaults());
  EXPECT_EQ(config->id, HostName());
  EXPECT_EQ(config->zk.servers, "127.0.0.1:2181");
  EXPECT_EQ(config->zk.session_timeout, milliseconds(10'000));
  EXPECT_EQ(config->election.path, "/zkelect/default");
  EXPECT_TRUE(config->election.campaign);
  EXPECT_EQ(config->http.listen, std::vector<std::string>{"127.0.0.1:4040"});
  EXPECT_EQ(config->log.level, "info");
  EXPECT_EQ(config->log.format, LogConfig::Format::kText);
}

TEST(ConfigLoaderTest, ShippedConfigFileEqualsTheDefaults) {
  RawFlags flags;
  flags.config_path = ZKELECT_SOURCE_DIR "/config/zkelect.toml";
  Result<Config> config = LoadConfig(flags, {});
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(*config, Defaults());
}

// The shipped file writes each setting as `#key = default` under `#[table]`;
// with those '#' removed it must still load, set every key, and change nothing.
TEST(ConfigLoaderTest, ShippedConfigFileDocumentsEveryKeyAtItsDefault) {
  const std::string shipped = ReadFile(ZKELECT_SOURCE_DIR "/config/zkelect.toml");
  ASSERT_FALSE(shipped.empty());
  std::istringstream lines(shipped);
  std::string line;
  std::string table;
  std::string uncommented;
  std::set<std::string> documented;
  while (std::getline(lines, line)) {
    // Settings are "#[table]" and "#key = value"; prose is "# text".
    const bool is_table = line.starts_with("#[") && line.ends_with("]");
    const std::size_t equals = line.find(" = ");
    const bool is_key = line.size() > 1 && std::islower(static_cast<unsigned char>(line[1])) &&
                        equals != std::string::npos;
    if (is_table) {
      table = line.substr(2, line.size() - 3);
    } else if (is_key) {
      const std::string key = line.substr(1, equals - 1);
      documented.insert(table.empty() ? key : table + "." + key);
    }
    uncommented += (is_table || is_key ? line.substr(1) : line) + "\n";
  }
  // `id` defaults to the host name, which a file cannot spell; it is
  // documented in prose. `meta` is documented as an (empty) table.
  std::set<std::string> expected(kAllKeys.begin(), kAllKeys.end());
  expected.erase("id");
  EXPECT_EQ(documented, expected);
  EXPECT_TRUE(Contains(shipped, "\n# id = "));
  EXPECT_TRUE(Contains(shipped, "\n#[meta]\n"));

  Result<Config> config = LoadFile(uncommented);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(*config, Defaults());
}

TEST(ConfigLoaderTest, ReadsEveryKeyFromTheFile) {
  TempFile token("  s3cret-token\n");
  TempFile auth("digest:alice:pw:with:colons\n");
  Result<Config> config = LoadFile(
      "id = \"node-1\"\n"
      "address = \"10.0.0.5:8080\"\n"
      "[meta]\n"
      "zone = \"eu-1\"\n"
      "\"app.version\" = \"2.1\"\n"
      "[zk]\n"
      "servers = \"zk1:2181,10.0.0.2:2182,[::1]:2183/apps/x\"\n"
      "session_timeout = \"6s\"\n"
      "auth_file = \"" +
      auth.path() +
      "\"\n"
      "[election]\n"
      "path = \"/elections/db\"\n"
      "campaign = false\n"
      "recheck_interval = \"1m30s\"\n"
      "priority = 10\n"
      "[http]\n"
      "listen = \"[::1]:0\"\n"
      "allowed_hosts = [\"App.Example.com\", \"svc_1.internal\"]\n"
      "token_file = \"" +
      token.path() +
      "\"\n"
      "max_waiters = 10_000\n"
      "default_wait = \"30s\"\n"
      "max_wait = \"1h\"\n"
      "[log]\n"
      "level = \"debug\"\n"
      "format = \"json\"\n");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->id, "node-1");
  EXPECT_EQ(config->address, "10.0.0.5:8080");
  EXPECT_EQ(config->meta,
            (std::map<std::string, std::string>{{"zone", "eu-1"}, {"app.version", "2.1"}}));
  EXPECT_EQ(config->zk.servers, "zk1:2181,10.0.0.2:2182,[::1]:2183/apps/x");
  EXPECT_EQ(config->zk.session_timeout, milliseconds(6'000));
  EXPECT_EQ(config->zk.auth_file, auth.path());
  EXPECT_EQ(config->zk.digest_auth, "alice:pw:with:colons");
  EXPECT_EQ(config->election.path, "/elections/db");
  EXPECT_FALSE(config->election.campaign);
  EXPECT_EQ(config->election.recheck_interval, milliseconds(90'000));
  EXPECT_EQ(config->election.priority, 10);
  EXPECT_EQ(config->http.listen, std::vector<std::string>{"[::1]:0"});
  EXPECT_EQ(config->http.allowed_hosts,
            (std::vector<std::string>{"app.example.com", "svc_1.internal"}));
  EXPECT_EQ(config->http.token_file, token.path());
  EXPECT_EQ(config->http.token, "s3cret-token");
  EXPECT_EQ(config->http.max_waiters, 10'000);
  EXPECT_EQ(config->http.default_wait, milliseconds(30'000));
  EXPECT_EQ(config->http.max_wait, milliseconds(3'600'000));
  EXPECT_EQ(config->log.level, "debug");
  EXPECT_EQ(config->log.format, LogConfig::Format::kJson);
}

TEST(ConfigLoaderTest, ReadsEveryKeyFromFlagsAndFromTheEnvironment) {
  const std::map<std::string, std::string> values = {
      {"id", "node-2"},
      {"address", "http://10.0.0.6/"},
      {"state_dir", "/var/lib/zkelect"},
      {"zk.servers", "zk1:2181"},
      {"zk.session_timeout", "1m"},
      {"zk.auth", "digest:bob:pw"},
      {"zk.auth_file", ""},
      {"election.path", "/e"},
      {"election.campaign", "false"},
      {"election.recheck_interval", "1s"},
      {"election.priority", "1000000"},
      {"election.preempt", "true"},
      {"election.preempt_delay", "0s"},
      {"http.listen", "localhost:8080"},
      {"http.socket_mode", "0600"},
      {"http.allowed_hosts", " a.example.com , B.example.com "},
      {"http.token_file", ""},
      {"http.max_waiters", "1"},
      {"http.default_wait", "1s"},
      {"http.max_wait", "1s"},
      {"log.level", "error"},
      {"log.format", "json"},
      {"hooks.on_start", R"(["/bin/start", "a b"])"},
      {"hooks.on_stop", "/bin/stop now"},
      {"hooks.on_change", "[]"},
      {"hooks.timeout", "2s"},
      {"hooks.kill_grace", "1s"},
      {"hooks.start_failure", "ignore"},
      {"health.command", ""},
      {"health.http", "http://127.0.0.1:8080/health"},
      {"health.interval", "1s"},
      {"health.timeout", "500ms"},
      {"health.rise", "1"},
      {"health.fall", "5"},
      {"child.on_exit", "restart"},
      {"child.stop_grace", "3s"},
  };
  ASSERT_EQ(values.size(), kAllKeys.size());
  Environment env;
  for (const auto& [key, value] : values) env[EnvName(key)] = value;

  for (const bool from_flags : {true, false}) {
    SCOPED_TRACE(from_flags ? "flags" : "environment");
    Result<Config> config = from_flags ? Load(Flags(values)) : Load({}, env);
    ASSERT_TRUE(config.ok()) << config.status().message();
    EXPECT_EQ(config->id, "node-2");
    EXPECT_EQ(config->address, "http://10.0.0.6/");
    EXPECT_EQ(config->state_dir, "/var/lib/zkelect");
    EXPECT_EQ(config->zk.servers, "zk1:2181");
    EXPECT_EQ(config->zk.session_timeout, milliseconds(60'000));
    EXPECT_EQ(config->zk.digest_auth, "bob:pw");
    EXPECT_EQ(config->election.path, "/e");
    EXPECT_FALSE(config->election.campaign);
    EXPECT_EQ(config->election.recheck_interval, milliseconds(1'000));
    EXPECT_EQ(config->election.priority, 1'000'000);
    EXPECT_TRUE(config->election.preempt);
    EXPECT_EQ(config->election.preempt_delay, milliseconds(0));
    EXPECT_EQ(config->hooks.on_start, (std::vector<std::string>{"/bin/start", "a b"}));
    EXPECT_EQ(config->hooks.on_stop, (std::vector<std::string>{"/bin/stop", "now"}));
    EXPECT_TRUE(config->hooks.on_change.empty());
    EXPECT_EQ(config->hooks.timeout, milliseconds(2'000));
    EXPECT_EQ(config->hooks.kill_grace, milliseconds(1'000));
    EXPECT_EQ(config->hooks.start_failure, HooksConfig::StartFailure::kIgnore);
    EXPECT_EQ(config->health.http, "http://127.0.0.1:8080/health");
    EXPECT_EQ(config->health.interval, milliseconds(1'000));
    EXPECT_EQ(config->health.timeout, milliseconds(500));
    EXPECT_EQ(config->health.rise, 1);
    EXPECT_EQ(config->health.fall, 5);
    EXPECT_EQ(config->child.on_exit, ChildConfig::OnExit::kRestart);
    EXPECT_EQ(config->child.stop_grace, milliseconds(3'000));
    EXPECT_EQ(config->http.listen, std::vector<std::string>{"localhost:8080"});
    EXPECT_EQ(config->http.socket_mode, 0600u);
    EXPECT_EQ(config->http.allowed_hosts,
              (std::vector<std::string>{"a.example.com", "b.example.com"}));
    EXPECT_EQ(config->http.max_waiters, 1);
    EXPECT_EQ(config->http.default_wait, milliseconds(1'000));
    EXPECT_EQ(config->http.max_wait, milliseconds(1'000));
    EXPECT_EQ(config->log.level, "error");
    EXPECT_EQ(config->log.format, LogConfig::Format::kJson);
  }
}

TEST(ConfigLoaderTest, EnvironmentNamesFollowTheKeys) {
  Result<Config> config = Load({}, {{"ZKELECT_ZK_SESSION_TIMEOUT", "7s"},
                                    {"ZKELECT_ELECTION_RECHECK_INTERVAL", "2m"},
                                    {"ZKELECT_HTTP_ALLOWED_HOSTS", ""},
                                    {"ZKELECT_ID", "from-env"}});
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->zk.session_timeout, milliseconds(7'000));
  EXPECT_EQ(config->election.recheck_interval, milliseconds(120'000));
  EXPECT_TRUE(config->http.allowed_hosts.empty());
  EXPECT_EQ(config->id, "from-env");
}

TEST(ConfigLoaderTest, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  const struct {
    std::string key;
    std::string file_line;  // under the key's table
    std::string env_value;
    std::string flag_value;
  } kCases[] = {
      {"zk.servers", "[zk]\nservers = \"file:1\"", "env:2", "flag:3"},
      {"election.campaign", "[election]\ncampaign = false", "true", "false"},
      {"http.max_waiters", "[http]\nmax_waiters = 5", "6", "7"},
      {"log.level", "[log]\nlevel = \"warn\"", "debug", "trace"},
      {"http.allowed_hosts", "[http]\nallowed_hosts = [\"file.example\"]", "env.example",
       "flag.example"},
  };
  // What each key holds, rendered to compare across kinds.
  auto field = [](const Config& c, const std::string& key) -> std::string {
    if (key == "zk.servers") return c.zk.servers;
    if (key == "election.campaign") return c.election.campaign ? "true" : "false";
    if (key == "http.max_waiters") return std::to_string(c.http.max_waiters);
    if (key == "log.level") return c.log.level;
    std::string joined;
    for (const std::string& host : c.http.allowed_hosts) joined += host;
    return joined;
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.key);
    TempFile file(c.file_line + "\n");
    RawFlags no_flags;
    no_flags.config_path = file.path();
    RawFlags flags = no_flags;
    flags.values[c.key] = c.flag_value;
    const Environment env = {{EnvName(c.key), c.env_value}};

    Result<Config> all = LoadConfig(flags, env);
    ASSERT_TRUE(all.ok()) << all.status().message();
    EXPECT_EQ(field(*all, c.key), c.flag_value);

    Result<Config> env_and_file = LoadConfig(no_flags, env);
    ASSERT_TRUE(env_and_file.ok()) << env_and_file.status().message();
    EXPECT_EQ(field(*env_and_file, c.key), c.env_value);

    Result<Config> file_only = LoadConfig(no_flags, {});
    ASSERT_TRUE(file_only.ok()) << file_only.status().message();
    EXPECT_NE(field(*file_only, c.key), field(Defaults(), c.key));
    EXPECT_NE(field(*file_only, c.key), c.env_value);

    Result<Config> none = Load({});
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(field(*none, c.key), field(Defaults(), c.key));
  }
}

TEST(ConfigLoaderTest, MetaMergesKeyByKeyAcrossSources) {
  TempFile file("[meta]\nzone = \"file\"\nrack = \"file\"\nrole = \"file\"\n");
  RawFlags flags;
  flags.config_path = file.path();
  flags.meta = {"role=flag", "url=http://x/?a=b,c"};
  Result<Config> config = LoadConfig(flags, {{"ZKELECT_META", "rack=env, extra = e "}});
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->meta, (std::map<std::string, std::string>{{"zone", "file"},
                                                              {"rack", "env"},
                                                              {"role", "flag"},
                                                              {"extra", "e"},
                                                              {"url", "http://x/?a=b,c"}}));
  Result<Config> inline_table = LoadFile("meta = { a = \"1\" }\n", {{"ZKELECT_META", ""}});
  ASSERT_TRUE(inline_table.ok()) << inline_table.status().message();
  EXPECT_EQ(inline_table->meta, (std::map<std::string, std::string>{{"a", "1"}}));
}

TEST(ConfigLoaderTest, UnknownFileKeyIsAnErrorWithASuggestion) {
  const struct {
    std::string toml;
    std::string error;
  } kCases[] = {
      {"[zk]\nserver = \"a:1\"",
       "zk.server (from FILE line 2): unknown key (did you mean zk.servers?)"},
      {"[election]\nsession_timeout = \"6s\"",
       "election.session_timeout (from FILE line 2): unknown key (did you mean "
       "zk.session_timeout?)"},
      {"servers = \"a:1\"", "servers (from FILE line 1): unknown key (did you mean zk.servers?)"},
      {"[log]\nlvl = \"info\"",
       "log.lvl (from FILE line 2): unknown key (did you mean log.level?)"},
      {"[hooks]\nsomething_else = 1", "hooks.something_else (from FILE line 2): unknown key"},
      {"zk = \"a:1\"", "zk (from FILE line 1): unknown key"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.toml);
    TempFile file(c.toml + "\n");
    RawFlags flags;
    flags.config_path = file.path();
    std::string expected = c.error;
    expected.replace(expected.find("FILE"), 4, file.path());
    EXPECT_EQ(ErrorOf(LoadConfig(flags, {})), expected);
  }
}

TEST(ConfigLoaderTest, UnknownKeyDoesNotEchoItsValue) {
  const std::string error = ErrorOf(LoadFile("[zk]\nauht = \"digest:u:hunter2\"\n"));
  EXPECT_TRUE(Contains(error, "zk.auht")) << error;
  EXPECT_TRUE(Contains(error, "did you mean zk.auth?")) << error;
  EXPECT_FALSE(Contains(error, "hunter2")) << error;
}

TEST(ConfigLoaderTest, UnknownFlagKeyIsAnError) {
  EXPECT_EQ(ErrorOf(Load(Flags({{"zk.server", "a:1"}}))),
            "zk.server (from --zk.server): unknown key (did you mean zk.servers?)");
}

TEST(ConfigLoaderTest, OtherZkelectEnvironmentVariablesAreIgnored) {
  // What a hook that calls `zkelect status` has in its environment.
  const Environment env = {
      {"ZKELECT_EVENT", "start"},
      {"ZKELECT_REASON", "elected"},
      {"ZKELECT_ELECTION", "/zkelect/default"},
      {"ZKELECT_LEADER_ID", "other node"},
      {"ZKELECT_LEADER_ADDRESS", "\x01 not validated"},
      {"ZKELECT_EPOCH", "not a number"},
      {"ZKELECT_PREVIOUS_LEADER_ID", ""},
      {"ZKELECT_ZK", "x"},
      {"ZKELECT_ZK_SERVERS_TYPO", "x"},
      {"zkelect_zk_servers", "lower case is not ours"},
      {"PATH", "/usr/bin"},
  };
  Result<Config> config = Load({}, env);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(*config, Defaults());
}

TEST(ConfigLoaderTest, ExplicitConfigFileMustExist) {
  const std::string missing =
      (std::filesystem::temp_directory_path() / "zkelect-test-no-such-file.toml").string();
  RawFlags flags;
  flags.config_path = missing;
  EXPECT_EQ(ErrorOf(LoadConfig(flags, {})),
            "config = \"" + missing +
                "\" (from --config): expected a readable TOML file (No such file or directory)");
  EXPECT_EQ(ErrorOf(LoadConfig({}, {{"ZKELECT_CONFIG", missing}})),
            "config = \"" + missing +
                "\" (from ZKELECT_CONFIG): expected a readable TOML file (No such file or "
                "directory)");
  flags.config_path = std::filesystem::temp_directory_path().string();
  EXPECT_TRUE(Contains(ErrorOf(LoadConfig(flags, {})), "(not a regular file)"));
}

TEST(ConfigLoaderTest, ConfigFlagBeatsConfigEnvironmentAndEmptyMeansNoFile) {
  TempFile flag_file("[log]\nlevel = \"warn\"\n");
  TempFile env_file("[log]\nlevel = \"debug\"\n");
  RawFlags flags;
  flags.config_path = flag_file.path();
  const Environment env = {{"ZKELECT_CONFIG", env_file.path()}};
  Result<Config> config = LoadConfig(flags, env);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->log.level, "warn");

  Result<Config> from_env = LoadConfig({}, env);
  ASSERT_TRUE(from_env.ok()) << from_env.status().message();
  EXPECT_EQ(from_env->log.level, "debug");

  flags.config_path = "";
  Result<Config> no_file = LoadConfig(flags, env);
  ASSERT_TRUE(no_file.ok()) << no_file.status().message();
  EXPECT_EQ(no_file->log.level, "info");
}

TEST(ConfigLoaderTest, DefaultConfigPathMayBeMissing) {
  if (std::filesystem::exists(kDefaultConfigPath)) {
    GTEST_SKIP() << kDefaultConfigPath << " exists on this machine";
  }
  Result<Config> config = LoadConfig({}, {});
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(*config, Defaults());
}

TEST(ConfigLoaderTest, TomlSyntaxErrorNamesFileAndLine) {
  TempFile file("[zk]\nservers = \"a:1\"\nservers = \"b:2\"\n");
  RawFlags flags;
  flags.config_path = file.path();
  EXPECT_EQ(ErrorOf(LoadConfig(flags, {})), file.path() + ":3: duplicate key zk.servers");
}

TEST(ConfigLoaderTest, FirstBadValueInTheFileIsReportedWithItsLine) {
  TempFile file("[zk]\nsession_timeout = \"10x\"\n[election]\npath = \"zk/x\"\n");
  RawFlags flags;
  flags.config_path = file.path();
  EXPECT_EQ(ErrorOf(LoadConfig(flags, {})),
            "zk.session_timeout = \"10x\" (from " + file.path() +
                " line 2): expected a duration like 250ms, 6s or 1m30s");
}

TEST(ConfigLoaderTest, ErrorMessagesHaveTheContractedShape) {
  EXPECT_EQ(ErrorOf(Load(Flags({{"zk.session_timeout", "10x"}}))),
            "zk.session_timeout = \"10x\" (from --zk.session_timeout): expected a duration like "
            "250ms, 6s or 1m30s");
  EXPECT_EQ(ErrorOf(Load({}, {{"ZKELECT_ELECTION_PATH", "zk/x"}})),
            "election.path = \"zk/x\" (from ZKELECT_ELECTION_PATH): expected an absolute "
            "ZooKeeper path like /zkelect/default");
  TempFile file("\n\n[election]\npath = \"zk/x\"\n");
  RawFlags flags;
  flags.config_path = file.path();
  EXPECT_EQ(ErrorOf(LoadConfig(flags, {})),
            "election.path = \"zk/x\" (from " + file.path() +
                " line 4): expected an absolute ZooKeeper path like /zkelect/default");
}

TEST(ConfigLoaderTest, ValuesOfLowerSourcesAreValidatedToo) {
  // A bad value stays an error even when a higher source overrides it.
  TempFile file("[zk]\nservers = \"no port\"\n");
  RawFlags flags = Flags({{"zk.servers", "zk1:2181"}});
  flags.config_path = file.path();
  EXPECT_TRUE(Contains(ErrorOf(LoadConfig(flags, {})), "zk.servers = \"no port\""));
}

// Every bad value of every key, from a flag and from the environment.
TEST(ConfigLoaderTest, RejectsBadValuesOfEveryKey) {
  const struct {
    std::string key;
    std::string value;
    std::string expected;
  } kCases[] = {
      {"id", "", "expected a non-empty name of at most 255 bytes without control characters"},
      {"id", std::string(256, 'a'), "expected a non-empty name of at most 255 bytes"},
      {"id", "a\nb", "expected a non-empty name"},
      {"id", "a\x01", "expected a non-empty name"},
      {"id", "a\x7f", "expected a non-empty name"},
      {"id", "a\xc2\x85", "expected a non-empty name"},  // U+0085, a C1 control
      {"id", "\xff", "expected a non-empty name"},
      {"address", "a\tb", "expected text without control characters"},
      {"address", "\xc3", "expected text without control characters"},
      {"state_dir", "var/lib/zkelect", "expected an absolute directory path, or empty for none"},
      {"state_dir", "/var/\nlib", "expected an absolute directory path"},
      {"zk.servers", "", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk1", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk1:", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk1:0", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk1:65536", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk1:-1", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk1:+2181", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk1:21x", "expected a ZooKeeper connect string"},
      {"zk.servers", ":2181", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk1:2181,", "expected a ZooKeeper connect string"},
      {"zk.servers", ",zk1:2181", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk1:2181,,zk2:2181", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk1:2181:2182", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk 1:2181", "expected a ZooKeeper connect string"},
      {"zk.servers", "-zk1:2181", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk1.:2181", "expected a ZooKeeper connect string"},
      {"zk.servers", "10.0.0.300:2181", "expected a ZooKeeper connect string"},
      {"zk.servers", "::1:2181", "expected a ZooKeeper connect string"},
      {"zk.servers", "[::1:2181", "expected a ZooKeeper connect string"},
      {"zk.servers", "[zz]:2181", "expected a ZooKeeper connect string"},
      {"zk.servers", "[::1]2181", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk1:2181/", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk1:2181/a/", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk1:2181/a//b", "expected a ZooKeeper connect string"},
      {"zk.servers", "zk1:2181/a/../b", "expected a ZooKeeper connect string"},
      {"zk.servers", "/chroot", "expected a ZooKeeper connect string"},
      {"zk.session_timeout", "10x", "expected a duration like 250ms, 6s or 1m30s"},
      {"zk.session_timeout", "10", "expected a duration like 250ms, 6s or 1m30s"},
      {"zk.session_timeout", "", "expected a duration like 250ms, 6s or 1m30s"},
      {"zk.session_timeout", "-1s", "expected a duration like 250ms, 6s or 1m30s"},
      {"zk.session_timeout", "1.5s", "expected a duration like 250ms, 6s or 1m30s"},
      {"zk.session_timeout", "1s1m", "expected a duration like 250ms, 6s or 1m30s"},
      {"zk.session_timeout", "2401h", "expected a duration of at most 100 days"},
      {"zk.session_timeout", "999ms", "expected a duration from 1s to 10m"},
      {"zk.session_timeout", "0s", "expected a duration from 1s to 10m"},
      {"zk.session_timeout", "10m1ms", "expected a duration from 1s to 10m"},
      {"zk.auth", "user:s3cr3t", "expected digest:user:password"},
      {"zk.auth", "s3cr3t", "expected digest:user:password"},
      {"zk.auth", "digest:", "expected digest:user:password"},
      {"zk.auth", "digest:user", "expected digest:user:password"},
      {"zk.auth", "digest:user:", "expected digest:user:password"},
      {"zk.auth", "digest::s3cr3t", "expected digest:user:password"},
      {"zk.auth", "sasl:user:s3cr3t", "expected digest:user:password"},
      {"zk.auth", "digest:user:s3c\nr3t", "expected digest:user:password"},
      {"zk.auth_file", "/etc/a\nb", "expected the path of a file holding digest:user:password"},
      {"election.path", "zk/x", "expected an absolute ZooKeeper path like /zkelect/default"},
      {"election.path", "", "expected an absolute ZooKeeper path"},
      {"election.path", "/", "expected an absolute ZooKeeper path"},
      {"election.path", "/a/", "expected an absolute ZooKeeper path"},
      {"election.path", "//a", "expected an absolute ZooKeeper path"},
      {"election.path", "/a//b", "expected an absolute ZooKeeper path"},
      {"election.path", "/.", "expected an absolute ZooKeeper path"},
      {"election.path", "/a/./b", "expected an absolute ZooKeeper path"},
      {"election.path", "/a/..", "expected an absolute ZooKeeper path"},
      {"election.path", "/zookeeper", "expected a path outside /zookeeper"},
      {"election.path", "/zookeeper/quota", "expected a path outside /zookeeper"},
      {"election.path", "/a\x01", "expected an absolute ZooKeeper path"},
      {"election.path", "/a\tb", "expected an absolute ZooKeeper path"},
      {"election.path", "/\xee\x80\x80", "expected an absolute ZooKeeper path"},  // U+E000
      {"election.path", "/\xef\xbf\xbf", "expected an absolute ZooKeeper path"},  // U+FFFF
      {"election.path", "/\xff", "expected an absolute ZooKeeper path"},
      {"election.campaign", "yes", "expected true or false"},
      {"election.campaign", "1", "expected true or false"},
      {"election.campaign", "True", "expected true or false"},
      {"election.campaign", "", "expected true or false"},
      {"election.recheck_interval", "999ms", "expected a duration of at least 1s"},
      {"election.recheck_interval", "0s", "expected a duration of at least 1s"},
      {"election.recheck_interval", "often", "expected a duration like 250ms, 6s or 1m30s"},
      {"election.priority", "-1", "expected an integer from 0 to 1000000"},
      {"election.priority", "1000001", "expected an integer from 0 to 1000000"},
      {"election.priority", "high", "expected an integer from 0 to 1000000"},
      {"election.priority", "", "expected an integer from 0 to 1000000"},
      {"election.preempt", "yes", "expected true or false"},
      {"election.preempt", "", "expected true or false"},
      {"election.preempt_delay", "61m", "expected a duration from 0s to 1h"},
      {"election.preempt_delay", "-1s", "expected a duration like 250ms, 6s or 1m30s"},
      {"election.preempt_delay", "soon", "expected a duration like 250ms, 6s or 1m30s"},
      {"http.listen", "",
       "expected host:port with host an IPv4 address, [IPv6 address] or "
       "localhost and port 0-65535, like 127.0.0.1:4040"},
      {"http.listen", "4040", "expected host:port"},
      {"http.listen", ":4040", "expected host:port"},
      {"http.listen", "127.0.0.1", "expected host:port"},
      {"http.listen", "127.0.0.1:", "expected host:port"},
      {"http.listen", "127.0.0.1:65536", "expected host:port"},
      {"http.listen", "127.0.0.1:-1", "expected host:port"},
      {"http.listen", "127.0.0.1:4040x", "expected host:port"},
      {"http.listen", "example.com:4040", "expected host:port"},
      {"http.listen", "127.1:4040", "expected host:port"},
      {"http.listen", "::1:4040", "expected host:port"},
      {"http.listen", "[::1]", "expected host:port"},
      {"http.listen", "[zz]:4040", "expected host:port"},
      {"http.listen", "unix:relative.sock", "or unix:/absolute/path of at most 107 bytes"},
      {"http.listen", "unix:/" + std::string(107, 'x'), "or unix:/absolute/path of at most 107"},
      {"http.listen", "127.0.0.1:4040,unix:", "or unix:/absolute/path"},
      {"http.socket_mode", "0666x", "expected an octal mode of permission bits"},
      {"http.socket_mode", "4660", "expected an octal mode of permission bits"},
      {"http.socket_mode", "0680", "expected an octal mode of permission bits"},
      {"http.socket_mode", "66", "expected an octal mode of permission bits"},
      {"http.socket_mode", "", "expected an octal mode of permission bits"},
      {"http.allowed_hosts", "bad host", "expected DNS names like app.example.com"},
      {"http.allowed_hosts", "a.example.com,,b.example.com", "expected DNS names"},
      {"http.allowed_hosts", "a.example.com,", "expected DNS names"},
      {"http.allowed_hosts", "-a.example.com", "expected DNS names"},
      {"http.allowed_hosts", "a..example.com", "expected DNS names"},
      {"http.allowed_hosts", "1.2.3.4", "expected DNS names"},
      {"http.allowed_hosts", "a.example.com:80", "expected DNS names"},
      {"http.allowed_hosts", "*.example.com", "expected DNS names"},
      {"http.allowed_hosts", std::string(64, 'a') + ".com", "expected DNS names"},
      {"http.token_file", "/etc/\x01", "expected the path of a file holding the bearer token"},
      {"http.max_waiters", "0", "expected an integer from 1 to 10000"},
      {"http.max_waiters", "10001", "expected an integer from 1 to 10000"},
      {"http.max_waiters", "-1", "expected an integer from 1 to 10000"},
      {"http.max_waiters", "", "expected an integer from 1 to 10000"},
      {"http.max_waiters", "many", "expected an integer from 1 to 10000"},
      {"http.max_waiters", "1.5", "expected an integer from 1 to 10000"},
      {"http.max_waiters", " 5", "expected an integer from 1 to 10000"},
      {"http.max_waiters", "+5", "expected an integer from 1 to 10000"},
      {"http.max_waiters", "99999999999999999999", "expected an integer from 1 to 10000"},
      {"http.default_wait", "1x", "expected a duration like 250ms, 6s or 1m30s"},
      {"http.default_wait", "11m", "expected at most http.max_wait (10m)"},
      {"http.max_wait", "forever", "expected a duration like 250ms, 6s or 1m30s"},
      {"http.max_wait", "59s", "expected at least http.default_wait (1m)"},
      {"log.level", "verbose", "expected one of trace, debug, info, warn, error"},
      {"log.level", "INFO", "expected one of trace, debug, info, warn, error"},
      {"log.level", "warning", "expected one of trace, debug, info, warn, error"},
      {"log.level", "", "expected one of trace, debug, info, warn, error"},
      {"log.format", "xml", "expected text or json"},
      {"log.format", "JSON", "expected text or json"},
      {"log.format", "", "expected text or json"},
      {"hooks.on_start", "[\"/bin/x\", 5]", "expected a command as an array of strings"},
      {"hooks.on_start", "[\"\", \"x\"]", "expected a command as an array of strings"},
      {"hooks.on_start", "[not json", "expected a command as an array of strings"},
      {"hooks.on_stop", "[\"/bin/x\", null]", "expected a command as an array of strings"},
      {"hooks.on_change", "[1]", "expected a command as an array of strings"},
      {"hooks.timeout", "50ms", "expected a duration from 100ms to 1h"},
      {"hooks.timeout", "2h", "expected a duration from 100ms to 1h"},
      {"hooks.timeout", "soon", "expected a duration like 250ms"},
      {"hooks.kill_grace", "11m", "expected a duration from 100ms to 10m"},
      {"hooks.start_failure", "retry", "expected resign or ignore"},
      {"hooks.start_failure", "", "expected resign or ignore"},
      {"health.command", "[true]", "expected a command as an array of strings"},
      {"health.http", "https://127.0.0.1:8080/h", "expected an http:// URL on loopback"},
      {"health.http", "http://10.1.2.3:8080/h", "expected an http:// URL on loopback"},
      {"health.http", "http://example.com/h", "expected an http:// URL on loopback"},
      {"health.http", "http://127.0.0.1/h", "expected an http:// URL on loopback"},
      {"health.interval", "10ms", "expected a duration of at least 100ms"},
      {"health.timeout", "0s", "expected a duration of at least 100ms"},
      {"health.rise", "0", "expected an integer from 1 to 100"},
      {"health.rise", "two", "expected an integer from 1 to 100"},
      {"health.fall", "101", "expected an integer from 1 to 100"},
      {"child.on_exit", "ignore", "expected resign or restart"},
      {"child.stop_grace", "0s", "expected a duration from 100ms to 10m"},
  };
  std::set<std::string> covered;
  for (const auto& c : kCases) {
    covered.insert(c.key);
    const std::string shown = FormatTomlValue(c.value);
    for (const bool from_flag : {true, false}) {
      SCOPED_TRACE(c.key + " = " + shown + (from_flag ? " (flag)" : " (environment)"));
      const std::string origin = from_flag ? "--" + c.key : EnvName(c.key);
      const std::string error = from_flag ? ErrorOf(Load(Flags({{c.key, c.value}})))
                                          : ErrorOf(Load({}, {{origin, c.value}}));
      if (c.key == "zk.auth") {
        // A secret: named, but never shown beyond its scheme.
        EXPECT_EQ(error.rfind(c.key + " = \"", 0), 0u) << error;
        EXPECT_FALSE(Contains(error, "s3c")) << error;
      } else {
        EXPECT_EQ(error.rfind(c.key + " = " + shown + " (from " + origin + "): ", 0), 0u) << error;
      }
      EXPECT_TRUE(Contains(error, c.expected)) << error;
    }
  }
  EXPECT_EQ(covered, std::set<std::string>(kAllKeys.begin(), kAllKeys.end()));
}

// Values of the wrong TOML type, and bad values written in the file.
TEST(ConfigLoaderTest, RejectsBadValuesInTheFile) {
  const struct {
    std::string toml;
    std::string shown;  // "key = value" as the message starts
    std::string expected;
  } kCases[] = {
      {"id = 5", "id = 5", "expected a string, like \"web-1\""},
      {"id = \"\"", "id = \"\"", "expected a non-empty name"},
      {"address = true", "address = true", "expected a string, like \"10.0.0.5:8080\""},
      {"[zk]\nservers = 5", "zk.servers = 5", "expected a string, like \"127.0.0.1:2181\""},
      {"[zk]\nservers = [\"a:1\"]", "zk.servers = [\"a:1\"]", "expected a string"},
      {"[zk]\nsession_timeout = 10", "zk.session_timeout = 10",
       "expected a duration string, like \"10s\""},
      {"[zk]\nsession_timeout = \"0s\"", "zk.session_timeout = \"0s\"",
       "expected a duration from 1s to 10m"},
      {"[zk]\nauth = 1", "zk.auth = ***", "expected a string"},
      {"[zk]\nauth_file = false", "zk.auth_file = false", "expected a string"},
      {"[election]\npath = \"zk/x\"", "election.path = \"zk/x\"",
       "expected an absolute ZooKeeper path like /zkelect/default"},
      {"[election]\ncampaign = \"true\"", "election.campaign = \"true\"", "expected true or false"},
      {"[election]\ncampaign = 1", "election.campaign = 1", "expected true or false"},
      {"[election]\nrecheck_interval = \"0s\"", "election.recheck_interval = \"0s\"",
       "expected a duration of at least 1s"},
      {"[http]\nlisten = 4040", "http.listen = 4040", "expected a string"},
      {"[http]\nallowed_hosts = \"a.example.com\"", "http.allowed_hosts = \"a.example.com\"",
       "expected an array of strings, like [\"app.example.com\"]"},
      {"[http]\nallowed_hosts = [\"a.example.com\", 5]",
       "http.allowed_hosts = [\"a.example.com\", 5]", "expected an array of strings"},
      {"[http]\nallowed_hosts = [\"bad host\"]", "http.allowed_hosts = [\"bad host\"]",
       "expected DNS names like app.example.com"},
      {"[http]\ntoken_file = []", "http.token_file = []", "expected a string"},
      {"[http]\nmax_waiters = \"64\"", "http.max_waiters = \"64\"", "expected an integer, like 64"},
      {"[http]\nmax_waiters = 0", "http.max_waiters = 0", "expected an integer from 1 to 10000"},
      {"[http]\nmax_waiters = 9223372036854775807", "http.max_waiters = 9223372036854775807",
       "expected an integer from 1 to 10000"},
      {"[http]\ndefault_wait = 60", "http.default_wait = 60", "expected a duration string"},
      {"[http]\nmax_wait = \"1\"", "http.max_wait = \"1\"", "expected a duration like"},
      {"[log]\nlevel = true", "log.level = true", "expected a string, like \"info\""},
      {"[log]\nformat = \"yaml\"", "log.format = \"yaml\"", "expected text or json"},
      {"meta = \"zone=eu\"", "meta = \"zone=eu\"",
       "expected a table of strings, like [meta] zone = \"eu-1\""},
      {"[meta]\nzone = 5", "meta.zone = 5", "expected a table of strings"},
      {"[meta]\n\"\" = \"x\"", "meta.\"\" = \"x\"", "expected a table of strings"},
      {"[meta]\nzone = \"a\\nb\"", "meta.zone = \"a\\nb\"", "expected a table of strings"},
      {"[meta.zone]\nname = \"eu\"", "meta.zone.name = \"eu\"", "expected a table of strings"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.toml);
    TempFile file(c.toml + "\n");
    RawFlags flags;
    flags.config_path = file.path();
    const std::string error = ErrorOf(LoadConfig(flags, {}));
    const int line = c.toml.find('\n') == std::string::npos ? 1 : 2;
    EXPECT_EQ(
        error.rfind(c.shown + " (from " + file.path() + " line " + std::to_string(line) + "): ", 0),
        0u)
        << error;
    EXPECT_TRUE(Contains(error, c.expected)) << error;
  }
}

TEST(ConfigLoaderTest, RejectsBadMetaFromFlagsAndEnvironment) {
  for (const std::string item : {"zone", "=eu", " = eu", "zone\x01=eu", "zone=e\nu"}) {
    SCOPED_TRACE(item);
    RawFlags flags;
    flags.meta = {"ok=1", item};
    EXPECT_EQ(ErrorOf(Load(flags)), "meta = " + FormatTomlValue(item) +
                                        " (from --meta): expected key=value like zone=eu-1");
  }
  for (const std::string list : {"zone", "a=1,,b=2", "a=1,", "a=1,b"}) {
    SCOPED_TRACE(list);
    EXPECT_EQ(ErrorOf(Load({}, {{"ZKELECT_META", list}})),
              "meta = " + FormatTomlValue(list) +
                  " (from ZKELECT_META): expected comma-separated key=value pairs like "
                  "zone=eu-1,rack=r7");
  }
}

TEST(ConfigLoaderTest, AcceptsGoodValuesAtTheEdges) {
  const std::map<std::string, std::string> kCases[] = {
      {{"zk.servers", "zk-1.example.com:1,10.0.0.1:65535,[2001:db8::1]:2181,zk_2:2181/a/b.c"}},
      {{"zk.servers", "localhost:2181"}},
      {{"zk.session_timeout", "1s"}},
      {{"zk.session_timeout", "10m"}},
      {{"zk.auth", "digest:u:p"}},
      {{"zk.auth", ""}},
      {{"id", std::string(255, 'x')}},
      {{"id",
        "n\xc3\xb8"
        "de \xe2\x82\xac"}},
      {{"election.path", "/a"}},
      {{"election.path", "/zookeeperish/x"}},
      {{"election.path", "/a/.../b"}},
      {{"http.listen", "0.0.0.0:0"}},
      {{"http.listen", "[::]:65535"}},
      {{"http.listen", "localhost:1"}},
      {{"http.listen", "unix:/" + std::string(106, 'x')}},
      {{"http.listen", "127.0.0.1:0,unix:/run/zkelect/api.sock"}},
      {{"http.socket_mode", "600"}},
      {{"http.socket_mode", "0777"}},
      {{"http.allowed_hosts", "localhost"}},
      {{"http.allowed_hosts", "a"}},
      {{"http.max_waiters", "10000"}},
      {{"http.default_wait", "10m"}},
      {{"http.default_wait", "1h"}, {"http.max_wait", "1h"}},
      {{"election.recheck_interval", "2400h"}},
      {{"log.level", "trace"}},
      {{"log.level", "warn"}},
  };
  for (const auto& values : kCases) {
    SCOPED_TRACE(values.begin()->first + " = " + values.begin()->second);
    Result<Config> config = Load(Flags(values));
    EXPECT_TRUE(config.ok()) << config.status().message();
  }
}

TEST(ConfigLoaderTest, ListenIsOneAddressOrAListOfThem) {
  Result<Config> one = LoadFile("[http]\nlisten = \"unix:/run/zkelect/api.sock\"\n");
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(one->http.listen, std::vector<std::string>{"unix:/run/zkelect/api.sock"});
  Result<Config> two = LoadFile(
      "[http]\nlisten = [\"127.0.0.1:4040\", \"unix:/run/zkelect/api.sock\"]\n"
      "socket_mode = \"0600\"\n");
  ASSERT_TRUE(two.ok()) << two.status().message();
  EXPECT_EQ(two->http.listen,
            (std::vector<std::string>{"127.0.0.1:4040", "unix:/run/zkelect/api.sock"}));
  EXPECT_EQ(two->http.socket_mode, 0600u);
  EXPECT_EQ(Load(Flags({}))->http.socket_mode, 0660u);
  Result<Config> none = LoadFile("[http]\nlisten = []\n");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("http.listen = []"), std::string::npos)
      << none.status().message();
}

TEST(ConfigLoaderTest, AuthAndAuthFileTogetherIsAnError) {
  TempFile auth("digest:u:p\n");
  TempFile file("[zk]\nauth = \"digest:u:p\"\n");
  RawFlags flags = Flags({{"zk.auth_file", auth.path()}});
  flags.config_path = file.path();
  EXPECT_EQ(ErrorOf(LoadConfig(flags, {})),
            "zk.auth_file = \"" + auth.path() +
                "\" (from --zk.auth_file): expected zk.auth or zk.auth_file, not both (zk.auth "
                "is set from " +
                file.path() + " line 2)");
  // Clearing one of them in a higher source is fine.
  Result<Config> cleared = LoadConfig(flags, {{"ZKELECT_ZK_AUTH", ""}});
  ASSERT_TRUE(cleared.ok()) << cleared.status().message();
  EXPECT_EQ(cleared->zk.digest_auth, "u:p");
}

TEST(ConfigLoaderTest, AuthFileIsReadAndChecked) {
  TempFile good("\n  digest:svc:long pass phrase \t\n");
  Result<Config> config = Load(Flags({{"zk.auth_file", good.path()}}));
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->zk.digest_auth, "svc:long pass phrase");
  EXPECT_EQ(config->zk.auth_file, good.path());

  TempFile bad("svc:topsecret\n");
  const std::string error = ErrorOf(Load(Flags({{"zk.auth_file", bad.path()}})));
  EXPECT_EQ(error, "zk.auth_file = \"" + bad.path() +
                       "\" (from --zk.auth_file): expected a file holding digest:user:password");
  EXPECT_FALSE(Contains(error, "topsecret"));

  TempFile empty("");
  EXPECT_TRUE(Contains(ErrorOf(Load(Flags({{"zk.auth_file", empty.path()}}))),
                       "expected a file holding digest:user:password"));

  const std::string missing =
      (std::filesystem::temp_directory_path() / "zkelect-test-no-auth-file").string();
  EXPECT_EQ(ErrorOf(Load({}, {{"ZKELECT_ZK_AUTH_FILE", missing}})),
            "zk.auth_file = \"" + missing +
                "\" (from ZKELECT_ZK_AUTH_FILE): expected a readable file holding "
                "digest:user:password (No such file or directory)");
}

TEST(ConfigLoaderTest, AuthValueIsNeverEchoed) {
  const std::string error = ErrorOf(Load(Flags({{"zk.auth", "sasl:admin:hunter2"}})));
  EXPECT_EQ(error, "zk.auth = \"sasl:***\" (from --zk.auth): expected digest:user:password");
  EXPECT_EQ(ErrorOf(Load(Flags({{"zk.auth", "hunter2"}}))),
            "zk.auth = \"***\" (from --zk.auth): expected digest:user:password");
}

TEST(ConfigLoaderTest, TokenFileIsReadAndChecked) {
  TempFile good("\n\t abc.DEF-123_~+/= \r\n");
  Result<Config> config = Load(Flags({{"http.token_file", good.path()}}));
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->http.token_file, good.path());
  EXPECT_EQ(config->http.token, "abc.DEF-123_~+/=");

  Result<Config> none = Load({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->http.token.empty());

  TempFile empty(" \n\n");
  EXPECT_EQ(ErrorOf(Load(Flags({{"http.token_file", empty.path()}}))),
            "http.token_file = \"" + empty.path() +
                "\" (from --http.token_file): expected a file holding the bearer token (the file "
                "is empty)");

  TempFile two_words("two words\n");
  const std::string error = ErrorOf(Load(Flags({{"http.token_file", two_words.path()}})));
  EXPECT_TRUE(Contains(error, "expected a file holding one bearer token of visible ASCII"))
      << error;
  EXPECT_FALSE(Contains(error, "two words"));

  const std::string directory = std::filesystem::temp_directory_path().string();
  EXPECT_TRUE(Contains(ErrorOf(Load(Flags({{"http.token_file", directory}}))),
                       "expected a readable file holding the bearer token (not a regular file)"));

  const std::string missing =
      (std::filesystem::temp_directory_path() / "zkelect-test-no-token-file").string();
  EXPECT_EQ(ErrorOf(Load(Flags({{"http.token_file", missing}}))),
            "http.token_file = \"" + missing +
                "\" (from --http.token_file): expected a readable file holding the bearer token "
                "(No such file or directory)");
}

TEST(ConfigLoaderTest, HookCommandsFromFlagsAreJsonArraysOrWords) {
  Result<Config> config = Load(Flags({{"hooks.on_start", R"(["/usr/bin/promote", "a b", "--x"])"},
                                      {"hooks.on_stop", "/usr/bin/demote  --now"}}));
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->hooks.on_start, (std::vector<std::string>{"/usr/bin/promote", "a b", "--x"}));
  EXPECT_EQ(config->hooks.on_stop, (std::vector<std::string>{"/usr/bin/demote", "--now"}));
}

TEST(ConfigLoaderTest, HealthCommandAndHttpTogetherIsAnError) {
  const std::string error = ErrorOf(Load(
      Flags({{"health.command", "/bin/true"}, {"health.http", "http://127.0.0.1:8080/health"}})));
  EXPECT_TRUE(Contains(error, "health.http")) << error;
  EXPECT_TRUE(Contains(error, "expected health.command or health.http, not both")) << error;
}

TEST(ConfigLoaderTest, DefaultWaitAboveMaxWaitBlamesTheKeyThatWasSet) {
  EXPECT_EQ(ErrorOf(Load(Flags({{"http.default_wait", "2m"}, {"http.max_wait", "1m"}}))),
            "http.default_wait = \"2m\" (from --http.default_wait): expected at most "
            "http.max_wait (1m)");
  EXPECT_EQ(ErrorOf(Load({}, {{"ZKELECT_HTTP_MAX_WAIT", "30s"}})),
            "http.max_wait = \"30s\" (from ZKELECT_HTTP_MAX_WAIT): expected at least "
            "http.default_wait (1m)");
}

TEST(ConfigLoaderTest, AddConfigFlagsAcceptsDottedOptionsInBothForms) {
  CLI::App app("test");
  RawFlags flags;
  AddConfigFlags(app, &flags);
  std::vector<std::string> args = {
      "test",
      "--zk.servers",
      "zk1:2181",
      "--election.campaign=false",
      "--http.allowed_hosts=a.example.com,b.example.com",
      "--address=",
      "--meta",
      "zone=eu-1",
      "--meta=url=http://x/?a=b",
      "--log.level",
      "debug",
      "--log.level",
      "warn",
      "--config",
      "/tmp/x.toml",
      "--id",
  };
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  ASSERT_NO_THROW(app.parse(static_cast<int>(argv.size()), argv.data()));
  EXPECT_EQ(flags.config_path, "/tmp/x.toml");
  EXPECT_EQ(flags.values, (std::map<std::string, std::string>{
                              {"zk.servers", "zk1:2181"},
                              {"election.campaign", "false"},
                              {"http.allowed_hosts", "a.example.com,b.example.com"},
                              {"address", ""},
                              {"log.level", "warn"},
                              {"id", ""},
                          }));
  EXPECT_EQ(flags.meta, (std::vector<std::string>{"zone=eu-1", "url=http://x/?a=b"}));
}

TEST(ConfigLoaderTest, AddConfigFlagsRegistersEveryKey) {
  CLI::App app("test");
  RawFlags flags;
  AddConfigFlags(app, &flags);
  for (const std::string& key : kAllKeys) {
    EXPECT_NO_THROW(app.get_option("--" + key)) << key;
  }
  EXPECT_NO_THROW(app.get_option("--config"));
  EXPECT_NO_THROW(app.get_option("--meta"));
  const std::string help = app.help();
  EXPECT_TRUE(Contains(help, "--zk.session_timeout")) << help;
  EXPECT_TRUE(Contains(help, "ZKELECT_ZK_SESSION_TIMEOUT")) << help;
}

TEST(ConfigLoaderTest, ParsedFlagsFeedLoadConfig) {
  CLI::App app("test");
  RawFlags flags;
  AddConfigFlags(app, &flags);
  ASSERT_NO_THROW(app.parse("--zk.session_timeout=10x --config=", false));
  EXPECT_EQ(ErrorOf(LoadConfig(flags, {})),
            "zk.session_timeout = \"10x\" (from --zk.session_timeout): expected a duration like "
            "250ms, 6s or 1m30s");
}

TEST(ConfigLoaderTest, CurrentEnvironmentReadsTheProcessEnvironment) {
  ASSERT_EQ(::setenv("ZKELECT_TEST_VARIABLE", "a=b", 1), 0);
  const Environment env = CurrentEnvironment();
  ::unsetenv("ZKELECT_TEST_VARIABLE");
  ASSERT_EQ(env.count("ZKELECT_TEST_VARIABLE"), 1u);
  EXPECT_EQ(env.at("ZKELECT_TEST_VARIABLE"), "a=b");
}

// --- Regression tests of the operations review (issue 21) -------------------

// Finding 2: ZKELECT_ELECTON_PATH=/myapp/scheduler joined /zkelect/default,
// with nothing in the log.
TEST(ConfigLoaderTest, MisspeltZkelectVariableIsNotSilentlyIgnored) {
  const std::string error = ErrorOf(Load({}, {{"ZKELECT_ELECTON_PATH", "/myapp/scheduler"}}));
  EXPECT_EQ(error,
            "ZKELECT_ELECTON_PATH (from the environment): unknown variable (did you mean "
            "ZKELECT_ELECTION_PATH, key election.path?)");
  EXPECT_FALSE(Contains(error, "/myapp/scheduler")) << error;
  // A key's last part alone, and a table name misspelt.
  EXPECT_TRUE(Contains(ErrorOf(Load({}, {{"ZKELECT_SESSION_TIMEOUT", "6s"}})),
                       "did you mean ZKELECT_ZK_SESSION_TIMEOUT, key zk.session_timeout?"));
  EXPECT_TRUE(Contains(ErrorOf(Load({}, {{"ZKELECT_ZK_SERVER", "zk:2181"}})),
                       "did you mean ZKELECT_ZK_SERVERS, key zk.servers?"));
  // The value of a misspelt secret is not echoed either.
  const std::string auth = ErrorOf(Load({}, {{"ZKELECT_ZK_AUHT", "digest:u:S3cretPW"}}));
  EXPECT_TRUE(Contains(auth, "ZKELECT_ZK_AUHT")) << auth;
  EXPECT_FALSE(Contains(auth, "S3cretPW")) << auth;
}

// Finding 2, the other half: names far from every key are another tool's
// (bench/run-all exports ZKELECT_BIN) or a hook variable of another zkelect
// version; they are warned about, naming the closest key, and do not stop
// the daemon. The variables zkelect sets for hooks pass without a word.
TEST(ConfigLoaderTest, UnknownZkelectVariableFarFromEveryKeyIsAWarning) {
  std::vector<std::string> warnings;
  RawFlags no_file;
  no_file.config_path = "";
  Result<Config> config = LoadConfig(no_file,
                                     {{"ZKELECT_BIN", "/usr/bin/zkelect"},
                                      {"ZKELECT_EVENT", "start"},
                                      {"ZKELECT_REASON", "elected"},
                                      {"ZKELECT_ELECTION", "/zkelect/default"},
                                      {"ZKELECT_LEADER_ID", "other node"},
                                      {"ZKELECT_LEADER_ADDRESS", "10.0.0.1:80"},
                                      {"ZKELECT_EPOCH", "3"},
                                      {"ZKELECT_PREVIOUS_LEADER_ID", ""},
                                      {"ZKELECT_PRIORITY", "1"},
                                      {"ZKELECT_LEADER_PRIORITY", "1"}},
                                     &warnings);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(*config, Defaults());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "ZKELECT_BIN (from the environment): not a zkelect variable, ignored (the closest is "
            "ZKELECT_ID, key id)");
}

// Issue 16 point 4: ZKELECT_HTTP_TOKEN=... (a token in the environment)
// was ignored with "the closest is ZKELECT_HTTP_LISTEN, key http.listen",
// which sends the operator to the wrong key while POST endpoints stay open.
TEST(ConfigLoaderTest, TokenVariableWarningPointsToTheTokenFileNotToListen) {
  std::vector<std::string> warnings;
  RawFlags no_file;
  no_file.config_path = "";
  Result<Config> config = LoadConfig(no_file, {{"ZKELECT_HTTP_TOKEN", "s3cret-in-env"}}, &warnings);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_TRUE(config->http.token.empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "ZKELECT_HTTP_TOKEN (from the environment): not a zkelect variable, ignored (zkelect "
            "reads this value from a file only: ZKELECT_HTTP_TOKEN_FILE, key http.token_file, "
            "names that file)");
  EXPECT_FALSE(Contains(warnings[0], "s3cret-in-env"));
}

// Finding 3: an unquoted `auth = digest:admin:S3cretPW` printed the password
// in the parse error; `auth = ["digest:admin:S3cretPW"]` printed the array.
TEST(ConfigLoaderTest, BadZkAuthInAnyFormDoesNotEchoTheSecret) {
  const std::vector<std::string> files = {
      "[zk]\nauth = digest:admin:S3cretPW\n",
      "[zk]\nauth = [\"digest:admin:S3cretPW\"]\n",
      "[zk]\nauth = [\"digest:admin:S3cretPW\", 1]\n",
      "[zk]\nauth = 12345S3cretPW\n",
      "[zk]\nauth = 0123456789\n",
      "[zk]\nauth = 99999999999999999999999\n",
      "[zk]\nauth = 1__2\n",
      "[zk]\nauth = \"digest:admin\"\n",
      "[zk]\nauth = \"S3cretPW\"\n",
  };
  for (const std::string& file : files) {
    const std::string error = ErrorOf(LoadFile(file));
    EXPECT_TRUE(Contains(error, "zk.auth")) << file << " -> " << error;
    for (const char* secret : {"S3cretPW", "admin", "0123456789", "99999999", "1__2"}) {
      EXPECT_FALSE(Contains(error, secret)) << file << " -> " << error;
    }
  }
  for (const std::string& value : {std::string("S3cretPW"), std::string("digest:S3cretPW"),
                                   std::string("digest:admin:S3cretPW\x01")}) {
    const std::string from_flag = ErrorOf(Load(Flags({{"zk.auth", value}})));
    const std::string from_env = ErrorOf(Load({}, {{"ZKELECT_ZK_AUTH", value}}));
    for (const std::string& error : {from_flag, from_env}) {
      EXPECT_TRUE(Contains(error, "zk.auth")) << error;
      EXPECT_FALSE(Contains(error, "S3cretPW")) << error;
    }
  }
}

// Finding 10: http.max_wait = "0s" made every long-poll return at once, and
// `zkelect wait` spin.
TEST(ConfigLoaderTest, ZeroLongPollWaitsAreRefused) {
  EXPECT_EQ(ErrorOf(Load(Flags({{"http.max_wait", "0s"}, {"http.default_wait", "0s"}}))),
            "http.default_wait = \"0s\" (from --http.default_wait): expected a duration of at "
            "least 1s");
  EXPECT_EQ(ErrorOf(Load({}, {{"ZKELECT_HTTP_MAX_WAIT", "999ms"}})),
            "http.max_wait = \"999ms\" (from ZKELECT_HTTP_MAX_WAIT): expected a duration of at "
            "least 1s");
  Result<Config> edge = Load(Flags({{"http.max_wait", "1s"}, {"http.default_wait", "1s"}}));
  ASSERT_TRUE(edge.ok()) << edge.status().message();
  EXPECT_EQ(edge->http.max_wait, milliseconds(1'000));
}
// Finding 7: a config file at mode 0666 loaded silently, so any local user
// could set hooks.on_start and run code as the zkelect user.
TEST(ConfigLoaderTest, ConfigFileWritableByOthersIsRefused) {
  TempFile file("id = \"a\"\n");
  ASSERT_EQ(::chmod(file.path().c_str(), 0666), 0);
  RawFlags flags;
  flags.config_path = file.path();
  EXPECT_EQ(ErrorOf(LoadConfig(flags, {})),
            "config = \"" + file.path() +
                "\" (from --config): expected a file that only its owner and group may write "
                "(mode 0666; chmod o-w)");
  ASSERT_EQ(::chmod(file.path().c_str(), 0664), 0);
  EXPECT_TRUE(LoadConfig(flags, {}).ok());
}

TEST(ConfigLoaderTest, SecretFileWritableByOthersIsRefused) {
  TempFile auth("digest:u:p\n");
  TempFile token("abc\n");
  ASSERT_EQ(::chmod(auth.path().c_str(), 0602), 0);
  ASSERT_EQ(::chmod(token.path().c_str(), 0646), 0);
  EXPECT_EQ(ErrorOf(Load(Flags({{"zk.auth_file", auth.path()}}))),
            "zk.auth_file = \"" + auth.path() +
                "\" (from --zk.auth_file): expected a file that only its owner and group may "
                "write (mode 0602; chmod o-w)");
  EXPECT_EQ(ErrorOf(Load(Flags({{"http.token_file", token.path()}}))),
            "http.token_file = \"" + token.path() +
                "\" (from --http.token_file): expected a file that only its owner and group may "
                "write (mode 0646; chmod o-w)");
}

TEST(ConfigLoaderTest, SecretFileReadableByOthersIsAWarning) {
  TempFile auth("digest:u:p\n");
  TempFile token("abc\n");
  ASSERT_EQ(::chmod(auth.path().c_str(), 0644), 0);
  ASSERT_EQ(::chmod(token.path().c_str(), 0604), 0);
  std::vector<std::string> warnings;
  Result<Config> config = LoadConfig(
      Flags({{"zk.auth_file", auth.path()}, {"http.token_file", token.path()}, {"id", "a"}}),
      {{"ZKELECT_CONFIG", ""}}, &warnings);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(warnings, (std::vector<std::string>{
                          "zk.auth_file = \"" + auth.path() +
                              "\" (from --zk.auth_file): every user may read this secret (mode "
                              "0644; chmod o-r)",
                          "http.token_file = \"" + token.path() +
                              "\" (from --http.token_file): every user may read this secret "
                              "(mode 0604; chmod o-r)"}));
  ASSERT_EQ(::chmod(auth.path().c_str(), 0640), 0);
  ASSERT_EQ(::chmod(token.path().c_str(), 0600), 0);
  warnings.clear();
  EXPECT_TRUE(LoadConfig(Flags({{"zk.auth_file", auth.path()}, {"http.token_file", token.path()}}),
                         {{"ZKELECT_CONFIG", ""}}, &warnings)
                  .ok());
  EXPECT_TRUE(warnings.empty());
}

}  // namespace
}  // namespace zkelect
