#include "zkelect/metrics/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <map>
#include <string>

#include "support/exposition_checker.h"
#include "zkelect/election/snapshot.h"
#include "zkelect/metrics/prometheus_writer.h"
#include "zkelect/version.h"

namespace zkelect {
namespace {

using std::chrono::milliseconds;
using test::CheckExposition;
using test::ExpositionCheck;

Snapshot LeaderSnapshot() {
  Snapshot snapshot;
  snapshot.role = Role::kLeader;
  snapshot.session.state = "connected";
  snapshot.candidates = {"_c_a-latch-0000000001", "_c_b-latch-0000000002"};
  LeaderView leader;
  leader.epoch = 4294967303;
  snapshot.leader = leader;
  return snapshot;
}

ExpositionCheck RenderAndCheck(const Metrics& metrics, const Snapshot& snapshot,
                               Clock::TimePoint now = Clock::TimePoint(std::chrono::hours(1))) {
  const std::string text = metrics.Render(snapshot, 3, now);
  ExpositionCheck check = CheckExposition(text);
  EXPECT_TRUE(check.errors.empty()) << ::testing::PrintToString(check.errors) << "\n" << text;
  return check;
}

double Value(const ExpositionCheck& check, const std::string& name,
             const std::map<std::string, std::string>& labels = {}) {
  const test::ExpositionSample* sample = check.Find(name, labels);
  if (sample == nullptr) {
    ADD_FAILURE() << "no sample " << name << ::testing::PrintToString(labels);
    return -1;
  }
  return sample->value;
}

TEST(MetricsTest, GaugesComeFromTheSnapshot) {
  Metrics metrics;
  const ExpositionCheck check = RenderAndCheck(metrics, LeaderSnapshot());
  EXPECT_EQ(Value(check, "zkelect_build_info", {{"version", kVersion}}), 1);
  EXPECT_EQ(Value(check, "zkelect_is_leader"), 1);
  EXPECT_EQ(Value(check, "zkelect_role", {{"role", "leader"}}), 1);
  EXPECT_EQ(Value(check, "zkelect_role", {{"role", "follower"}}), 0);
  EXPECT_EQ(Value(check, "zkelect_leader_epoch"), 4294967303.0);
  EXPECT_EQ(Value(check, "zkelect_candidates"), 2);
  EXPECT_EQ(Value(check, "zkelect_session_connected"), 1);
  EXPECT_EQ(Value(check, "zkelect_http_waiters"), 3);
}

TEST(MetricsTest, AFollowerWithoutSessionIsNotLeader) {
  Metrics metrics;
  Snapshot snapshot;
  snapshot.role = Role::kDisconnected;
  const ExpositionCheck check = RenderAndCheck(metrics, snapshot);
  EXPECT_EQ(Value(check, "zkelect_is_leader"), 0);
  EXPECT_EQ(Value(check, "zkelect_role", {{"role", "disconnected"}}), 1);
  EXPECT_EQ(Value(check, "zkelect_leader_epoch"), 0);
  EXPECT_EQ(Value(check, "zkelect_session_connected"), 0);
}

TEST(MetricsTest, EveryTransitionReasonIsDeclaredAtZero) {
  Metrics metrics;
  const ExpositionCheck check = RenderAndCheck(metrics, Snapshot{});
  for (const char* reason : {"elected", "resigned", "disconnected", "expired", "shutdown",
                             "unhealthy", "deleted", "hook_failed"}) {
    EXPECT_EQ(Value(check, "zkelect_transitions_total", {{"reason", reason}}), 0) << reason;
  }
  EXPECT_EQ(Value(check, "zkelect_session_expirations_total"), 0);
}

TEST(MetricsTest, CountersAndHistogramsRender) {
  Metrics metrics;
  metrics.transitions.Increment({"elected"});
  metrics.transitions.Increment({"elected"});
  metrics.hook_runs.Increment({"on_start", "ok"});
  metrics.hook_duration.Observe({"on_start"}, milliseconds(7));
  metrics.hook_duration.Observe({"on_start"}, milliseconds(700));
  metrics.http_requests.Increment({"/is-leader", "200"});
  const ExpositionCheck check = RenderAndCheck(metrics, Snapshot{});
  EXPECT_EQ(Value(check, "zkelect_transitions_total", {{"reason", "elected"}}), 2);
  EXPECT_EQ(Value(check, "zkelect_hook_runs_total", {{"hook", "on_start"}, {"result", "ok"}}), 1);
  EXPECT_EQ(
      Value(check, "zkelect_hook_duration_seconds_bucket", {{"hook", "on_start"}, {"le", "0.005"}}),
      0);
  EXPECT_EQ(
      Value(check, "zkelect_hook_duration_seconds_bucket", {{"hook", "on_start"}, {"le", "0.01"}}),
      1);
  EXPECT_EQ(
      Value(check, "zkelect_hook_duration_seconds_bucket", {{"hook", "on_start"}, {"le", "1"}}), 2);
  EXPECT_EQ(Value(check, "zkelect_hook_duration_seconds_count", {{"hook", "on_start"}}), 2);
  EXPECT_DOUBLE_EQ(Value(check, "zkelect_hook_duration_seconds_sum", {{"hook", "on_start"}}),
                   0.707);
  EXPECT_EQ(Value(check, "zkelect_http_requests_total", {{"path", "/is-leader"}, {"code", "200"}}),
            1);
}

TEST(MetricsTest, ServerReplyAgeIsAbsentUntilTheFirstReply) {
  Metrics metrics;
  const Clock::TimePoint start(std::chrono::hours(1));
  EXPECT_EQ(
      RenderAndCheck(metrics, Snapshot{}, start).Find("zkelect_last_server_response_age_seconds"),
      nullptr);
  metrics.NoteServerReply(start);
  const ExpositionCheck check = RenderAndCheck(metrics, Snapshot{}, start + milliseconds(1500));
  EXPECT_DOUBLE_EQ(Value(check, "zkelect_last_server_response_age_seconds"), 1.5);
}

TEST(MetricsTest, LabelValuesFromOutsideAreEscaped) {
  Metrics metrics;
  metrics.hook_runs.Increment({"on_\"x\"\\\n", "ok"});
  const ExpositionCheck check = RenderAndCheck(metrics, Snapshot{});
  EXPECT_EQ(Value(check, "zkelect_hook_runs_total", {{"hook", "on_\"x\"\\\n"}, {"result", "ok"}}),
            1);
}

TEST(PrometheusWriterTest, ValuesUseTheFormatsSpellings) {
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(1), "1");
  EXPECT_EQ(FormatSampleValue(4294967303.0), "4294967303");
  constexpr double kInf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(FormatSampleValue(kInf), "+Inf");
  EXPECT_EQ(FormatSampleValue(-kInf), "-Inf");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

}  // namespace
}  // namespace zkelect
