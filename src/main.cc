// zkelect: a leader-election sidecar. main() only parses the command line and
// hands over to the library (design §1): `zkelect run` is the daemon, the other
// subcommands are small clients of it.

#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "zkelect/client/commands.h"
#include "zkelect/config/config_loader.h"
#include "zkelect/daemon/daemon.h"
#include "zkelect/daemon/logging.h"
#include "zkelect/version.h"

namespace {
// Exit code for a bad command line or configuration (design §6).
constexpr int kUsageError = 2;
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"zkelect: leader election for any application, through ZooKeeper"};
  app.set_version_flag("--version", std::string("zkelect ") + zkelect::kVersion);
  app.require_subcommand(1);

  zkelect::RawFlags flags;
  CLI::App* run = app.add_subcommand(
      "run", "Run the daemon: join the election and serve the HTTP API on localhost");
  zkelect::AddConfigFlags(*run, &flags);

  // Client subcommands (status, leader, resign, wait, check): small clients
  // of a local daemon's HTTP API.
  zkelect::ClientOptions client_options;
  zkelect::AddClientCommands(app, &client_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsageError;
  }

  if (run->parsed()) {
    zkelect::Result<zkelect::Config> config =
        zkelect::LoadConfig(flags, zkelect::CurrentEnvironment());
    if (!config.ok()) {
      std::fprintf(stderr, "zkelect: configuration error: %s\n", config.status().message().c_str());
      return kUsageError;
    }
    zkelect::ConfigureLogging(config->log);
    return zkelect::Daemon(std::move(config).value()).Run();
  }
  return zkelect::RunClientCommand(app, client_options, zkelect::CurrentEnvironment(), std::cout,
                                   std::cerr);
}
