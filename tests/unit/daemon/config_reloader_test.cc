#include "zkelect/daemon/config_reloader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/simulated_clock.h"
#include "zkelect/metrics/metrics.h"

namespace zkelect {
namespace {

using testing::SimulatedClock;

// A reloader whose loader returns `next_` and whose applier records what it
// was given.
class ConfigReloaderTest : public ::testing::Test {
 protected:
  ConfigReloaderTest() {
    running_.id = "web-1";
    running_.child.command = {"/usr/bin/app", "--serve"};
    next_ = running_;
    next_.child.command.clear();  // the loader never sees the command line's `-- CMD`
  }

  ConfigReloader Make() {
    return ConfigReloader(
        running_,
        [this](std::vector<std::string>* warnings) -> Result<Config> {
          warnings->push_back("a warning");
          if (!load_error_.empty()) return Status::InvalidArgument(load_error_);
          return next_;
        },
        [this](const Config& next, const std::vector<std::string>& changed) {
          applied_.push_back(next);
          changed_ = changed;
        },
        metrics_, clock_);
  }

  Config running_;
  Config next_;
  std::string load_error_;
  std::vector<Config> applied_;
  std::vector<std::string> changed_;
  Metrics metrics_;
  SimulatedClock clock_;
};

TEST_F(ConfigReloaderTest, AppliesAReloadableChangeAndCountsAGeneration) {
  ConfigReloader reloader = Make();
  EXPECT_EQ(reloader.View().generation, 1u);
  EXPECT_FALSE(reloader.View().last_reload.has_value());
  next_.hooks.on_start = {"/bin/promote"};
  next_.log.level = "debug";
  const Status outcome = reloader.Reload();
  ASSERT_TRUE(outcome.ok());
  // Not counted until the owner counts it, once /status shows it (CI's
  // ReloadTest read a count that had moved and then the previous reload).
  EXPECT_EQ(metrics_.config_reloads.Value({"ok"}), 0u);
  reloader.Count(outcome);
  ASSERT_EQ(applied_.size(), 1u);
  EXPECT_EQ(changed_, (std::vector<std::string>{"hooks.on_start", "log.level"}));
  EXPECT_EQ(applied_[0].child.command, running_.child.command) << "the command line's is kept";
  EXPECT_EQ(reloader.running().hooks.on_start, next_.hooks.on_start);
  const ConfigView view = reloader.View();
  EXPECT_EQ(view.generation, 2u);
  ASSERT_TRUE(view.last_reload.has_value());
  EXPECT_TRUE(view.last_reload->ok);
  EXPECT_EQ(view.last_reload->error, "");
  EXPECT_EQ(metrics_.config_reloads.Value({"ok"}), 1u);
  EXPECT_EQ(metrics_.config_reloads.Value({"refused"}), 0u);
}

TEST_F(ConfigReloaderTest, NothingChangedAppliesNothing) {
  ConfigReloader reloader = Make();
  const Status outcome = reloader.Reload();
  ASSERT_TRUE(outcome.ok());
  reloader.Count(outcome);
  EXPECT_TRUE(applied_.empty());
  EXPECT_EQ(metrics_.config_reloads.Value({"ok"}), 1u);
}

TEST_F(ConfigReloaderTest, KeyThatNeedsARestartRefusesTheWholeReload) {
  ConfigReloader reloader = Make();
  next_.hooks.on_start = {"/bin/promote"};  // reloadable, but not alone
  next_.zk.servers = "zk9:2181";
  const Status outcome = reloader.Reload();
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.message().find("zk.servers = \"zk9:2181\""), std::string::npos)
      << outcome.message();
  EXPECT_TRUE(applied_.empty()) << "nothing half-applied";
  EXPECT_EQ(reloader.running().zk.servers, running_.zk.servers);
  EXPECT_TRUE(reloader.running().hooks.on_start.empty());
  const ConfigView view = reloader.View();
  EXPECT_EQ(view.generation, 1u);
  ASSERT_TRUE(view.last_reload.has_value());
  EXPECT_FALSE(view.last_reload->ok);
  EXPECT_EQ(view.last_reload->error, outcome.message());
  reloader.Count(outcome);
  EXPECT_EQ(metrics_.config_reloads.Value({"refused"}), 1u);
  EXPECT_EQ(metrics_.config_reloads.Value({"ok"}), 0u);
}

TEST_F(ConfigReloaderTest, BadValueRefusesWithTheLoadersLine) {
  ConfigReloader reloader = Make();
  load_error_ =
      "hooks.timeout = \"soon\" (from /etc/zkelect/zkelect.toml line 3): expected a duration";
  const Status outcome = reloader.Reload();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.message(), load_error_);
  EXPECT_TRUE(applied_.empty());
  EXPECT_EQ(reloader.View().last_reload->error, load_error_);
  // The next good reload is applied as usual.
  load_error_.clear();
  next_.log.level = "warn";
  ASSERT_TRUE(reloader.Reload().ok());
  EXPECT_EQ(reloader.View().generation, 2u);
  EXPECT_TRUE(reloader.View().last_reload->ok);
}

}  // namespace
}  // namespace zkelect
