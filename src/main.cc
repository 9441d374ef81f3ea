// zkelect: a leader-election sidecar. main() only parses the command line and
// hands over to the library (design §1): `zkelect run` is the daemon, the other
// subcommands are small clients of it.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "zkelect/client/commands.h"
#include "zkelect/config/config_loader.h"
#include "zkelect/daemon/daemon.h"
#include "zkelect/daemon/logging.h"
#include "zkelect/version.h"

namespace {
// Exit code for a bad command line or configuration (design §6).
constexpr int kUsageError = 2;

// What `zkelect run --help` says last: where secrets belong.
constexpr char kSecretsFooter[] =
    "Secrets: give the ZooKeeper credentials as --zk.auth_file FILE and the bearer token as "
    "--http.token_file FILE, readable by the zkelect group alone (install -m 0640 -o root -g "
    "zkelect). A --zk.auth value is visible to every user of the host in ps and "
    "/proc/PID/cmdline.";

// CLI11 quotes unexpected arguments back whole, and one may be a secret
// (--zk.auht=digest:user:password, or the word after a misspelt option):
// options are named without their values, other words only counted.
std::string DescribeUnexpected(const std::vector<std::string>& args) {
  std::string shown;
  std::size_t hidden = 0;
  for (const std::string& arg : args) {
    if (!arg.starts_with("-")) {
      ++hidden;
      continue;
    }
    const std::size_t eq = arg.find('=');
    shown +=
        (shown.empty() ? "" : " ") + arg.substr(0, eq) + (eq == std::string::npos ? "" : "=...");
  }
  if (hidden > 0) {
    shown += (shown.empty() ? "" : " and ") + std::to_string(hidden) +
             (hidden == 1 ? " other argument" : " other arguments");
  }
  return "unexpected " + shown + " (values not shown); see --help";
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"zkelect: leader election for any application, through ZooKeeper"};
  app.set_version_flag("--version", std::string("zkelect ") + zkelect::kVersion);
  app.require_subcommand(1);

  zkelect::RawFlags flags;
  std::vector<std::string> leader_command;
  CLI::App* run = app.add_subcommand(
      "run",
      "Run the daemon: join the election and serve the HTTP API on localhost. With -- CMD "
      "ARGS..., also run CMD while this node leads (stopped when leadership ends)");
  zkelect::AddConfigFlags(*run, &flags);
  run->footer(kSecretsFooter);

  // Client subcommands (status, leader, resign, wait, check): small clients
  // of a local daemon's HTTP API.
  zkelect::ClientOptions client_options;
  zkelect::AddClientCommands(app, &client_options);

  // `zkelect run [options] -- CMD ARGS...`: everything after the first `--`
  // is the leader-only command, taken as it is (dashes included).
  char** const end = argv + argc;
  char** const separator = std::find(argv, end, std::string_view("--"));
  const bool has_command = separator != end;
  if (has_command) {
    leader_command.assign(separator + 1, end);
    argc = static_cast<int>(separator - argv);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError&) {
    std::fprintf(stderr, "zkelect: %s\n", DescribeUnexpected(app.remaining(true)).c_str());
    return kUsageError;
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsageError;
  }

  if (has_command && (!run->parsed() || leader_command.empty())) {
    std::fprintf(stderr,
                 "zkelect: `--` introduces the leader-only command, as in: "
                 "zkelect run [options] -- CMD ARGS...\n");
    return kUsageError;
  }
  if (run->parsed()) {
    std::vector<std::string> warnings;
    zkelect::Result<zkelect::Config> config =
        zkelect::LoadConfig(flags, zkelect::CurrentEnvironment(), &warnings);
    if (!config.ok()) {
      std::fprintf(stderr, "zkelect: configuration error: %s\n", config.status().message().c_str());
      return kUsageError;
    }
    config.value().child.command = std::move(leader_command);
    zkelect::ConfigureLogging(config->log);
    for (const std::string& warning : warnings) spdlog::warn("configuration: {}", warning);
    // SIGHUP loads the configuration again as here: the same file and
    // environment, the same command-line flags on top.
    auto reload = [&flags](std::vector<std::string>* reload_warnings) {
      return zkelect::LoadConfig(flags, zkelect::CurrentEnvironment(), reload_warnings);
    };
    return zkelect::Daemon(std::move(config).value(), reload).Run();
  }
  return zkelect::RunClientCommand(app, client_options, zkelect::CurrentEnvironment(), std::cout,
                                   std::cerr);
}
