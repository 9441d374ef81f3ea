#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "zkelect/config/config_loader.h"

namespace CLI {
class App;
}  // namespace CLI

namespace zkelect {

// What the client subcommands read from the command line. Filled by parsing
// the CLI::App that AddClientCommands set up; plain data.
struct ClientOptions {
  // Every client subcommand.
  std::string addr;                        // --addr host:port; empty: not given
  std::optional<std::string> config_path;  // --config FILE
  bool json = false;                       // --json
  // resign
  std::string token_file;  // --token-file FILE; empty: not given
  std::string hold;        // --hold D; empty: not given
  // wait
  bool wait_leader = false;    // --leader
  bool wait_follower = false;  // --follower
  bool wait_change = false;    // --change
  std::string timeout;         // --timeout D; empty: no limit
  // check
  std::string probe;  // live, ready or leader
  // Not an option: the file read when neither --config nor ZKELECT_CONFIG
  // names one (the daemon's default); tests point it elsewhere.
  std::string default_config_path = kDefaultConfigPath;
};

// The client subcommands of design §1, small clients of the local daemon's
// HTTP API (§4), so that shell scripts and exec probes need no curl or jq:
//
//   zkelect status                       this node's view (GET /status)
//   zkelect leader                       the current leader (GET /leader)
//   zkelect resign [--hold D]            step down (POST /resign)
//   zkelect withdraw                     maintenance: leave, stay out (POST /withdraw)
//   zkelect join                         end maintenance, rejoin (POST /join)
//   zkelect wait --leader|--follower|--change [--timeout D]
//                                        long-poll GET /status until then
//   zkelect check live|ready|leader      /healthz, /readyz, /is-leader
//
// Each also takes --addr host:port, --config FILE and --json; resign, withdraw
// and join also --token-file FILE. Adds them as subcommands of `app`; parsing stores into
// *options, which must outlive the parse. Nothing is validated here.
void AddClientCommands(CLI::App& app, ClientOptions* options);

// Runs the client subcommand that `app` parsed and returns the exit code:
//   0  success, or the condition holds (leader known, ready, now leading...)
//   1  the condition does not hold, a wait timed out, the daemon refused
//      (e.g. resign on a follower) or could not be reached
//   2  usage error: a bad option value or configuration (also when `app`
//      parsed no client subcommand)
// Results go to `out` (one line of JSON per answer with --json); errors go to
// `err` as one line naming the address, the value or the daemon's message.
//
// The daemon's address is --addr, else ZKELECT_HTTP_LISTEN, else http.listen
// of the configuration file, else 127.0.0.1:4040; a wildcard host (0.0.0.0,
// [::]) means loopback. The resign token comes from --token-file, else
// ZKELECT_HTTP_TOKEN_FILE, else http.token_file of the file. The file is the
// daemon's: --config, else ZKELECT_CONFIG, else
// options.default_config_path (/etc/zkelect/zkelect.toml) when it exists,
// read with LoadConfig as the daemon reads it (a mounted file that moves
// http.listen moves the probes too). No secret the client does not need is
// read. Only `env` is read, not the process environment.
//
// Time: each request is bounded (5s to connect and to answer; resign waits
// up to 2m10s for the daemon's stop hook). `wait` without --timeout waits
// forever, one long-poll of at most 60s after another; with --timeout it
// gives up after that long (exit 1). Blocks the calling thread meanwhile.
int RunClientCommand(const CLI::App& app, const ClientOptions& options, const Environment& env,
                     std::ostream& out, std::ostream& err);

}  // namespace zkelect
