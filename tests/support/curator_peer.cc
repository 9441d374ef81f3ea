#include "support/curator_peer.h"

#include <unistd.h>

#include <csignal>
#include <fstream>
#include <memory>
#include <vector>

namespace zkelect::test {
namespace {

constexpr const char* kJava = "/usr/bin/java";
constexpr const char* kJavac = "/usr/bin/javac";
constexpr const char* kSource = ZKELECT_SOURCE_DIR "/tests/support/java/CuratorPeer.java";
// bench/failover.py's classpath: Curator and what it needs at run time, each
// jar with the Debian package that ships it.
struct Jar {
  const char* path;
  const char* package;
};
constexpr Jar kJars[] = {
    {"/usr/share/java/curator-recipes.jar", "libcurator-recipes-java"},
    {"/usr/share/java/curator-framework.jar", "libcurator-framework-java"},
    {"/usr/share/java/curator-client.jar", "libcurator-client-java"},
    {"/usr/share/java/zookeeper.jar", "libzookeeper-java"},
    {"/usr/share/java/zookeeper-jute.jar", "libzookeeper-java"},
    {"/usr/share/java/guava.jar", "libguava-java"},
    {"/usr/share/java/slf4j-api.jar", "libslf4j-java"},
    {"/usr/share/java/slf4j-nop.jar", "libslf4j-java"},
};
// javac on a busy 2-core machine under a sanitizer build beside it: seconds,
// rarely tens of them. The bound only catches a hang.
constexpr std::chrono::seconds kCompileTimeout{180};

std::string JarClasspath() {
  std::string classpath;
  for (const Jar& jar : kJars) {
    if (!classpath.empty()) classpath += ":";
    classpath += jar.path;
  }
  return classpath;
}

::testing::AssertionResult CheckInstalled() {
  if (access(kJava, X_OK) != 0 || access(kJavac, X_OK) != 0) {
    return ::testing::AssertionFailure()
           << kJava << " or " << kJavac
           << " is missing: install default-jdk-headless (scripts/install-deps.sh)";
  }
  for (const Jar& jar : kJars) {
    if (access(jar.path, R_OK) != 0) {
      return ::testing::AssertionFailure() << jar.path << " is missing: install " << jar.package
                                           << " (scripts/install-deps.sh installs "
                                              "libcurator-recipes-java, which brings it)";
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace

CuratorPeer::CuratorPeer(CuratorPeerOptions options)
    : options_(std::move(options)),
      dir_("curator-" + (options_.id.empty() ? std::string("peer") : options_.id)),
      log_path_(dir_.Sub("curator.log")) {}

CuratorPeer::~CuratorPeer() { static_cast<void>(process_.KillAndWait()); }

::testing::AssertionResult CuratorPeer::Compile(std::string* classes) {
  // Compiled once per test program; the directory lives until it exits.
  static std::unique_ptr<TempDir> compiled;
  if (compiled) {
    *classes = compiled->path();
    return ::testing::AssertionSuccess();
  }
  auto installed = CheckInstalled();
  if (!installed) return installed;
  auto dir = std::make_unique<TempDir>("curator-peer-classes");
  ChildSpec spec;
  spec.argv = {kJavac, "-d", dir->path(), "-cp", JarClasspath(), kSource};
  spec.stdout_path = dir->Sub("javac.log");
  spec.env["JAVA_TOOL_OPTIONS"] = std::nullopt;  // would print a banner
  ChildProcess javac;
  const std::string error = javac.Spawn(spec);
  if (!error.empty()) return ::testing::AssertionFailure() << "javac: " << error;
  const std::optional<ExitStatus> status = javac.WaitExit(kCompileTimeout);
  if (!status.has_value() || *status != ExitStatus{0, 0}) {
    return ::testing::AssertionFailure()
           << "javac " << kSource << ": "
           << (status ? status->ToString()
                      : "still running after " + std::to_string(kCompileTimeout.count()) + " s")
           << "\n"
           << ReadFileOrEmpty(spec.stdout_path);
  }
  compiled = std::move(dir);
  *classes = compiled->path();
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult CuratorPeer::Start() {
  std::string classes;
  auto compiled = Compile(&classes);
  if (!compiled) return compiled;
  ChildSpec spec;
  spec.argv = {kJava,
               "-Xmx64m",
               "-XX:+UseSerialGC",
               "-XX:TieredStopAtLevel=1",
               "-XX:-UsePerfData",
               "-Djava.net.preferIPv4Stack=true",
               "-cp",
               JarClasspath() + ":" + classes,
               "CuratorPeer",
               options_.servers,
               options_.election_path,
               options_.id,
               std::to_string(options_.session_timeout_ms),
               options_.leadership_log};
  spec.stdout_path = log_path_;
  spec.working_dir = dir_.path();
  spec.env["JAVA_TOOL_OPTIONS"] = std::nullopt;
  {
    std::ofstream log(log_path_, std::ios::app);
    log << "===== curator_peer: starting " << options_.id << " =====\n";
  }
  const std::string error = process_.Spawn(spec);
  if (!error.empty())
    return ::testing::AssertionFailure() << "curator " << options_.id << ": " << error;
  return ::testing::AssertionSuccess();
}

std::string CuratorPeer::LogTail(int lines) const {
  return "----- curator " + options_.id + ", last " + std::to_string(lines) + " lines of " +
         log_path_ + " -----\n" + TailOfFile(log_path_, lines);
}

}  // namespace zkelect::test
