// /metrics and JSON logs of real daemons through a real handoff.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "election_fixture.h"
#include "support/exposition_checker.h"
#include "support/temp_dir.h"

namespace zkelect::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class ObservabilityTest : public ElectionFixture {
 protected:
  // Scrapes /metrics of daemon `i` and checks the text strictly; the check
  // holds the samples.
  ExpositionCheck Scrape(size_t i) {
    const HttpReply reply = HttpGet(daemon(i).port(), "/metrics");
    EXPECT_EQ(reply.status, 200) << reply.Describe();
    const auto type = reply.headers.find("Content-Type");
    EXPECT_TRUE(type != reply.headers.end() &&
                type->second == "text/plain; version=0.0.4; charset=utf-8");
    ExpositionCheck check = CheckExposition(reply.raw_body);
    EXPECT_TRUE(check.errors.empty()) << ::testing::PrintToString(check.errors) << "\n"
                                      << reply.raw_body;
    CheckWithPromtool(reply.raw_body);
    return check;
  }

  // The reference parser too: Prometheus' own `promtool check metrics`
  // (exit 0 without problems; it also lints names and help texts).
  void CheckWithPromtool(const std::string& text) {
    TempDir dir("promtool");
    const std::string path = dir.path() + "/scrape.txt";
    std::ofstream(path) << text;
    const std::string command = "promtool check metrics < " + path + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[512];
    while (fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    const int status = pclose(pipe);
    EXPECT_EQ(status, 0) << "promtool check metrics:\n" << output;
  }

  static double Value(const ExpositionCheck& check, const std::string& name,
                      const std::map<std::string, std::string>& labels = {}) {
    const ExpositionSample* sample = check.Find(name, labels);
    return sample == nullptr ? -1 : sample->value;
  }
};

TEST_F(ObservabilityTest, MetricsPassAStrictCheckAndFollowAHandoff) {
  const std::vector<std::string> hooks = {"--hooks.on_start=[\"/bin/true\"]",
                                          "--hooks.on_stop=[\"/bin/true\"]"};
  for (const char* id : {"node-1", "node-2"}) {
    ZkelectProcess& d = AddDaemon(id, hooks);
    ASSERT_TRUE(d.Start());
    ASSERT_TRUE(WaitReady(d, seconds(10)));
  }
  size_t leader = 0;
  ASSERT_TRUE(WaitForLeader(seconds(10), &leader));
  const size_t follower = 1 - leader;
  const int64_t epoch =
      JsonInt64(HttpGet(daemon(leader).port(), "/leader").body["leader"]["epoch"]).value_or(-1);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Value(Scrape(leader), "zkelect_hook_runs_total",
                     {{"hook", "on_start"}, {"result", "ok"}}) == 1;
      },
      seconds(5)));

  const ExpositionCheck before_leader = Scrape(leader);
  EXPECT_EQ(Value(before_leader, "zkelect_is_leader"), 1);
  EXPECT_EQ(Value(before_leader, "zkelect_role", {{"role", "leader"}}), 1);
  EXPECT_EQ(Value(before_leader, "zkelect_transitions_total", {{"reason", "elected"}}), 1);
  EXPECT_EQ(Value(before_leader, "zkelect_leader_epoch"), static_cast<double>(epoch));
  EXPECT_GE(Value(before_leader, "zkelect_zk_requests_total", {{"op", "create"}, {"result", "ok"}}),
            1);
  EXPECT_EQ(Value(before_leader, "zkelect_session_connected"), 1);
  EXPECT_GE(Value(before_leader, "zkelect_last_server_response_age_seconds"), 0);
  EXPECT_LT(Value(before_leader, "zkelect_last_server_response_age_seconds"), 30);
  EXPECT_GE(
      Value(before_leader, "zkelect_http_requests_total", {{"path", "/metrics"}, {"code", "200"}}),
      1);

  const ExpositionCheck before_follower = Scrape(follower);
  EXPECT_EQ(Value(before_follower, "zkelect_is_leader"), 0);
  EXPECT_EQ(Value(before_follower, "zkelect_role", {{"role", "follower"}}), 1);
  EXPECT_EQ(Value(before_follower, "zkelect_candidates"), 2);
  EXPECT_EQ(Value(before_follower, "zkelect_leader_epoch"), static_cast<double>(epoch));

  ASSERT_EQ(HttpPost(daemon(leader).port(), "/resign", seconds(10)).status, 200);
  size_t next = 0;
  ASSERT_TRUE(WaitForLeader(seconds(10), &next));
  ASSERT_EQ(next, follower);

  const ExpositionCheck after_old = Scrape(leader);
  EXPECT_EQ(Value(after_old, "zkelect_is_leader"), 0);
  EXPECT_GE(Value(after_old, "zkelect_transitions_total", {{"reason", "resigned"}}), 1);
  EXPECT_EQ(Value(after_old, "zkelect_hook_runs_total", {{"hook", "on_stop"}, {"result", "ok"}}),
            1);
  EXPECT_EQ(Value(after_old, "zkelect_hook_duration_seconds_count", {{"hook", "on_stop"}}), 1);
  EXPECT_GE(Value(after_old, "zkelect_zk_requests_total", {{"op", "delete"}, {"result", "ok"}}), 1);

  const ExpositionCheck after_new = Scrape(follower);
  EXPECT_EQ(Value(after_new, "zkelect_is_leader"), 1);
  EXPECT_EQ(Value(after_new, "zkelect_transitions_total", {{"reason", "elected"}}), 1);
  EXPECT_GT(Value(after_new, "zkelect_leader_epoch"), static_cast<double>(epoch));
}

TEST_F(ObservabilityTest, JsonLogsAreOneObjectALineAndRoleChangesCarryReasonAndEpoch) {
  ZkelectProcess& d = AddDaemon("node-1", {"--log.format=json"});
  ASSERT_TRUE(d.Start());
  ASSERT_TRUE(WaitReady(d, seconds(10)));
  size_t leader = 0;
  ASSERT_TRUE(WaitForLeader(seconds(10), &leader));
  const int64_t epoch =
      JsonInt64(HttpGet(d.port(), "/leader").body["leader"]["epoch"]).value_or(-1);
  d.Terminate();
  ASSERT_TRUE(d.WaitExit(seconds(15)).has_value());

  std::istringstream log(d.log_text());
  int lines = 0;
  std::vector<nlohmann::json> role_changes;
  for (std::string line; std::getline(log, line);) {
    ++lines;
    ASSERT_TRUE(nlohmann::json::accept(line)) << "not JSON: " << line;
    const nlohmann::json object = nlohmann::json::parse(line);
    ASSERT_TRUE(object.is_object() && object.size() == 4 && object.contains("time") &&
                object.contains("level") && object.contains("message") &&
                object["fields"].is_object())
        << line;
    if (object["fields"].value("event", "") == "role_change") role_changes.push_back(object);
  }
  EXPECT_GE(lines, 3);
  const auto elected = std::find_if(role_changes.begin(), role_changes.end(),
                                    [](const auto& o) { return o["fields"]["to"] == "leader"; });
  ASSERT_NE(elected, role_changes.end()) << d.log_text();
  EXPECT_EQ((*elected)["fields"]["reason"], "elected");
  EXPECT_EQ((*elected)["fields"]["epoch"], epoch);
  const auto stepped_down =
      std::find_if(role_changes.begin(), role_changes.end(),
                   [](const auto& o) { return o["fields"]["from"] == "leader"; });
  ASSERT_NE(stepped_down, role_changes.end()) << d.log_text();
  EXPECT_EQ((*stepped_down)["fields"]["reason"], "shutdown");
  EXPECT_EQ((*stepped_down)["fields"]["epoch"], epoch);
}

}  // namespace
}  // namespace zkelect::test
