#include "zkelect/daemon/daemon.h"

#include <unistd.h>

#include <csignal>
#include <utility>

#include <spdlog/spdlog.h>

#include "zkelect/common/clock.h"
#include "zkelect/daemon/signal_pipe.h"
#include "zkelect/election/election_loop.h"
#include "zkelect/election/recipe.h"
#include "zkelect/election/role_listener.h"
#include "zkelect/election/state_board.h"
#include "zkelect/http/http_server.h"
#include "zkelect/version.h"
#include "zkelect/zk/zk_client_impl.h"

namespace zkelect {
namespace {

// Notify() code for "the recipe finished leaving the election".
constexpr int kLeftElection = 0;

RecipeOptions MakeRecipeOptions(const Config& config) {
  RecipeOptions options;
  options.identity.id = config.id;
  options.identity.address = config.address;
  options.identity.meta = config.meta;
  options.election_path = config.election.path;
  options.campaign = config.election.campaign;
  options.recheck_interval = config.election.recheck_interval;
  options.servers = config.zk.servers;
  return options;
}

}  // namespace

Daemon::Daemon(Config config) : config_(std::move(config)) {}

int Daemon::Run() {
  SignalPipe signals({SIGTERM, SIGINT});
  std::signal(SIGPIPE, SIG_IGN);

  SystemClock clock;
  Snapshot initial;
  initial.id = config_.id;
  initial.campaign = config_.election.campaign;
  initial.election_path = config_.election.path;
  initial.session.servers = config_.zk.servers;
  StateBoard board(std::move(initial));
  // Declaration order is destruction order in reverse: the loop outlives the
  // ZooKeeper client that posts to it, the recipe, and the HTTP server.
  ElectionLoop loop(clock, board);
  ZkClientImpl zk(config_.zk, loop);
  NoHooksRoleListener listener;
  Recipe recipe(MakeRecipeOptions(config_), zk, clock, listener);
  HttpServer http(config_.http, board, loop, kVersion);

  if (Status started = http.Start(); !started.ok()) {
    spdlog::error("{}", started.message());
    return 1;
  }
  spdlog::info("zkelect {} HTTP API listening on http://{}", kVersion, http.listen_address());
  loop.Start(recipe);

  int signo = signals.Wait(-1).value_or(SIGTERM);
  while (signo == kLeftElection) signo = signals.Wait(-1).value_or(SIGTERM);
  spdlog::info("received signal {}; leaving the election (send it again to exit at once)", signo);

  // Leaving needs a live ZooKeeper; never wait longer than a session timeout
  // and a margin: after that the server drops our node by itself.
  loop.Shutdown([&signals] { signals.Notify(kLeftElection); });
  const auto budget = config_.zk.session_timeout + std::chrono::seconds(5);
  std::optional<int> next = signals.Wait(static_cast<int>(budget.count()));
  if (next && *next != kLeftElection) {
    spdlog::warn("second signal {}; exiting now", *next);
    _exit(128 + *next);
  }
  if (!next) spdlog::warn("leaving the election took longer than {}s; exiting anyway",
                          std::chrono::duration_cast<std::chrono::seconds>(budget).count());

  board.Close();
  http.Stop();
  loop.Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace zkelect
