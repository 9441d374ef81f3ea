#include "zkelect/daemon/maintenance_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/temp_dir.h"

namespace zkelect {
namespace {

using std::chrono::system_clock;

constexpr system_clock::time_point kSince{std::chrono::milliseconds(1714566896789)};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(MaintenanceStoreTest, EmptyStateDirPersistsNothing) {
  Result<MaintenanceStore> store = MaintenanceStore::Open("");
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_TRUE(store->path().empty());
  EXPECT_FALSE(store->state().maintenance);
  ASSERT_TRUE(store.value().Save({true, kSince}).ok());
  EXPECT_TRUE(store->state().maintenance);
}

TEST(MaintenanceStoreTest, SavedStateSurvivesAReopenAndLeavesNoTemporaryFile) {
  test::TempDir dir("maintenance-store");
  {
    Result<MaintenanceStore> store = MaintenanceStore::Open(dir.path());
    ASSERT_TRUE(store.ok()) << store.status().message();
    EXPECT_FALSE(store->state().maintenance) << "no file: not in maintenance";
    ASSERT_TRUE(store.value().Save({true, kSince}).ok());
  }
  const std::string path = dir.path() + "/maintenance.json";
  EXPECT_EQ(ReadAll(path), "{\"maintenance\":true,\"since\":1714566896789}\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  Result<MaintenanceStore> reopened = MaintenanceStore::Open(dir.path());
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  EXPECT_EQ(reopened->state(), (MaintenanceState{true, kSince}));
  ASSERT_TRUE(reopened.value().Save({false, std::nullopt}).ok());
  EXPECT_EQ(MaintenanceStore::Open(dir.path())->state(), MaintenanceState{});
}

// The rename is what makes the write atomic: a reader of the state file sees
// the old whole file or the new whole file. A save whose temporary file
// cannot be written leaves the old state in place.
TEST(MaintenanceStoreTest, FailedSaveLeavesTheOldFileAndState) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes read-only directories";
  test::TempDir dir("maintenance-store");
  Result<MaintenanceStore> store = MaintenanceStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(store.value().Save({true, kSince}).ok());
  ASSERT_EQ(chmod(dir.path().c_str(), 0500), 0);
  const Status saved = store.value().Save({false, std::nullopt});
  chmod(dir.path().c_str(), 0700);
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.message().find(dir.path() + "/maintenance.json"), std::string::npos)
      << saved.message();
  EXPECT_TRUE(store->state().maintenance);
  EXPECT_TRUE(MaintenanceStore::Open(dir.path())->state().maintenance);
}

TEST(MaintenanceStoreTest, CorruptStateFileIsAnErrorNamingTheFile) {
  test::TempDir dir("maintenance-store");
  const std::string path = dir.path() + "/maintenance.json";
  for (const std::string text :
       {"{\"maintenance\": tru", "[]", "{\"maintenance\": 1}", "{\"maintenance\": true}",
        "{\"maintenance\": true, \"since\": \"yesterday\"}", ""}) {
    WriteFile(path, text);
    Result<MaintenanceStore> store = MaintenanceStore::Open(dir.path());
    ASSERT_FALSE(store.ok()) << text;
    EXPECT_TRUE(store.status().message().starts_with("state file " + path + ": "))
        << store.status().message();
    EXPECT_NE(store.status().message().find("expected"), std::string::npos);
  }
}

TEST(MaintenanceStoreTest, UnreadableStateFileIsAnError) {
  test::TempDir dir("maintenance-store");
  std::filesystem::create_directory(dir.path() + "/maintenance.json");  // read fails: a directory
  Result<MaintenanceStore> store = MaintenanceStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(dir.path() + "/maintenance.json"), std::string::npos)
      << store.status().message();
}

TEST(MaintenanceStoreTest, MissingStateDirIsAnErrorNamingIt) {
  test::TempDir dir("maintenance-store");
  const std::string missing = dir.path() + "/nope";
  Result<MaintenanceStore> store = MaintenanceStore::Open(missing);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().message(),
            "state_dir = \"" + missing +
                "\": cannot use it (No such file or directory): expected an existing directory "
                "that zkelect may write");
  WriteFile(missing, "x");
  store = MaintenanceStore::Open(missing);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("not a directory"), std::string::npos)
      << store.status().message();
}

}  // namespace
}  // namespace zkelect
