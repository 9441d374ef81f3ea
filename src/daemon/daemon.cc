#include "zkelect/daemon/daemon.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "zkelect/common/clock.h"
#include "zkelect/common/duration.h"
#include "zkelect/config/config_loader.h"
#include "zkelect/daemon/config_reloader.h"
#include "zkelect/daemon/init_shim.h"
#include "zkelect/daemon/logging.h"
#include "zkelect/daemon/maintenance_control.h"
#include "zkelect/daemon/maintenance_store.h"
#include "zkelect/daemon/signal_pipe.h"
#include "zkelect/daemon/systemd_notifier.h"
#include "zkelect/election/election_loop.h"
#include "zkelect/election/recipe.h"
#include "zkelect/election/state_board.h"
#include "zkelect/hooks/health_monitor.h"
#include "zkelect/hooks/hook_role_listener.h"
#include "zkelect/hooks/hook_runner_impl.h"
#include "zkelect/hooks/process_spawner.h"
#include "zkelect/http/http_server.h"
#include "zkelect/metrics/metrics.h"
#include "zkelect/version.h"
#include "zkelect/zk/instrumented_zk_client.h"
#include "zkelect/zk/zk_client_impl.h"

namespace zkelect {
namespace {

// Notify() code for "the recipe finished leaving the election".
constexpr int kLeftElection = 0;
// After a failed start, stay out this long before rejoining, so that a node
// whose start always fails does not take the lead back at once.
constexpr std::chrono::milliseconds kStepAsideHold{1000};

RecipeOptions MakeRecipeOptions(const Config& config) {
  RecipeOptions options;
  options.identity.id = config.id;
  options.identity.address = config.address;
  options.identity.meta = config.meta;
  options.identity.priority = config.election.priority;
  options.preempt = config.election.preempt;
  options.preempt_delay = config.election.preempt_delay;
  options.election_path = config.election.path;
  options.campaign = config.election.campaign;
  options.health_gated = config.health.enabled();
  options.recheck_interval = config.election.recheck_interval;
  options.servers = config.zk.servers;
  return options;
}

// The longest leaving the election may take: the stop hook and the child's
// stop at their limits, then a session timeout for ZooKeeper to answer.
std::chrono::milliseconds ShutdownBudget(const Config& config) {
  return config.hooks.timeout + config.hooks.kill_grace + config.child.stop_grace +
         config.zk.session_timeout + std::chrono::seconds(5);
}

// Tells systemd (Type=notify) READY=1 once this node has joined the election
// (or observes it), a STATUS line on every role change, and WATCHDOG=1 from
// the election loop at half the watchdog interval, so that a wedged loop is
// restarted. Runs on the loop thread.
std::function<void(const Snapshot&)> SystemdReporter(const SystemdNotifier& systemd,
                                                     const Clock& clock) {
  if (!systemd.enabled()) return nullptr;
  struct State {
    bool ready_sent = false;
    std::string last_status;
    Clock::TimePoint last_ping{};
  };
  auto state = std::make_shared<State>();
  return [&systemd, &clock, state](const Snapshot& snapshot) {
    std::string status = "role " + std::string(RoleName(snapshot.role));
    if (snapshot.leader) {
      status += ", leader " + snapshot.leader->identity.id + " (epoch " +
                std::to_string(snapshot.leader->epoch) + ")";
    }
    if (!state->ready_sent && snapshot.ready) {
      state->ready_sent = true;
      systemd.Ready(status);
    } else if (status != state->last_status) {
      systemd.Status(status);
    }
    state->last_status = status;
    if (auto interval = systemd.watchdog_interval()) {
      const Clock::TimePoint now = clock.Now();
      if (now - state->last_ping >= *interval / 2) {
        systemd.Watchdog();
        state->last_ping = now;
      }
    }
  };
}

// The next signal or Notify() code from `signals` other than SIGHUP, or
// nullopt once `deadline` (if any) has passed. A SIGHUP runs `reload` (or is
// logged and skipped when there is none: leaving the election). SIGHUPs
// that arrived while a reload ran are coalesced into one more reload, so a
// storm of them cannot queue up work; a signal found among them is
// returned at once.
std::optional<int> NextSignal(SignalPipe& signals,
                              std::optional<std::chrono::steady_clock::time_point> deadline,
                              const std::function<void()>& reload = nullptr) {
  for (;;) {
    int timeout_ms = -1;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(
          *deadline - std::chrono::steady_clock::now());
      timeout_ms = static_cast<int>(std::max<int64_t>(left.count(), 0));
    }
    const std::optional<int> signo = signals.Wait(timeout_ms);
    if (signo != SIGHUP) return signo;
    if (!reload) {
      spdlog::warn("received SIGHUP while leaving the election; not reloading");
      continue;
    }
    spdlog::info("received SIGHUP; reloading the configuration");
    reload();
    bool again = false;
    for (std::optional<int> next = signals.Wait(0); next; next = signals.Wait(0)) {
      if (next != SIGHUP) return next;
      again = true;
    }
    if (again) signals.Notify(SIGHUP);
  }
}

}  // namespace

Daemon::Daemon(Config config, ConfigReloader::Loader reload)
    : config_(std::move(config)), reload_(std::move(reload)) {}

int Daemon::Run() {
  if (const std::optional<int> pid1_exit = InitShim::RunIfPid1()) return *pid1_exit;
  SignalPipe signals({SIGTERM, SIGINT, SIGHUP});
  std::signal(SIGPIPE, SIG_IGN);

  // state_dir (design §6): a node withdrawn before the restart stays out from
  // its first moment; a state it cannot trust stops the start, like a bad value.
  Result<MaintenanceStore> store = MaintenanceStore::Open(config_.state_dir);
  if (!store.ok()) {
    spdlog::error("{}", store.status().message());
    return store.status().code() == Status::Code::kUnavailable ? 1 : 2;  // 1: in use
  }

  SystemClock clock;
  Snapshot initial;
  initial.id = config_.id;
  initial.campaign = config_.election.campaign;
  initial.election_path = config_.election.path;
  initial.session.servers = config_.zk.servers;
  StateBoard board(std::move(initial));
  // Declaration order is construction order: everything that posts to the
  // loop is destroyed before it.
  Metrics metrics;
  ElectionLoop loop(clock, board);
  ZkClientImpl zk_impl(config_.zk, loop);
  InstrumentedZkClient zk(zk_impl, clock, metrics);
  PosixProcessSpawner spawner;
  HookRunnerImpl runner(config_.hooks, config_.child, spawner);
  HookRoleListener listener(
      {config_.id, config_.election.path,
       config_.hooks.start_failure == HooksConfig::StartFailure::kResign,
       [&zk] { return zk.negotiated_timeout() / 2; }, config_.election.priority},
      runner, loop, clock, metrics);
  RecipeOptions recipe_options = MakeRecipeOptions(config_);
  recipe_options.maintenance_since = store->state().since;
  Recipe recipe(std::move(recipe_options), zk, clock, listener, metrics);
  listener.SetStepAside([&recipe](Reason reason) {
    recipe.Resign(
        kStepAsideHold, [](ElectionControl::ResignOutcome) {}, reason);
  });
  runner.SetChildExitHandler([&listener](HookTerm term, const ExitStatus& status) {
    listener.OnChildExited(term, status.ToString());
  });
  const auto make_health = [&loop, &recipe](const HealthConfig& config) {
    std::unique_ptr<HealthMonitor> monitor;
    if (config.enabled()) {
      monitor = std::make_unique<HealthMonitor>(config, [&loop, &recipe](const HealthVerdict& v) {
        loop.Post([&recipe, v] { recipe.SetHealth(v.healthy, v.detail); });
      });
    }
    return monitor;
  };
  std::unique_ptr<HealthMonitor> health = make_health(config_.health);
  MaintenanceControl control(loop, store.value(), clock, config_.election.campaign);
  HttpServer http(config_.http, board, control, metrics, kVersion);
  // Reloads are owned by this (the main) thread, between signals. What runs
  // on other threads takes the new settings through thread-safe setters;
  // what the election owns changes in one task on the loop, serialized with
  // every election event.
  ConfigReloader reloader(
      config_, reload_,
      [&](const Config& next, const std::vector<std::string>&) {
        const Config& old = reloader.running();
        ReconfigureLogging(next.log);
        http.Reconfigure(next.http);
        runner.Reconfigure(next.hooks, next.child);
        if (next.health != old.health) {
          if (health) health->Stop();
          health = make_health(next.health);
          if (health) health->Start();
        }
        const bool health_dropped = old.health.enabled() && !next.health.enabled();
        loop.Post([&listener, &recipe, next, health_dropped] {
          listener.SetResignOnStartFailure(next.hooks.start_failure ==
                                           HooksConfig::StartFailure::kResign);
          listener.SetPriority(next.election.priority);
          recipe.Reconfigure(next.address, next.meta, next.election.priority,
                             next.election.recheck_interval);
          recipe.SetPreemption(next.election.preempt, next.election.preempt_delay);
          if (health_dropped) recipe.SetHealth(true, "health check removed by a reload");
        });
      },
      metrics, clock);
  loop.SetSnapshotDecorator([&listener, &reloader](Snapshot* snapshot) {
    snapshot->hooks = listener.View();
    snapshot->config = reloader.View();
  });
  const SystemdNotifier systemd = SystemdNotifier::FromEnvironment(CurrentEnvironment(), getpid());
  loop.SetAfterStep(SystemdReporter(systemd, clock));

  if (Status started = http.Start(); !started.ok()) {
    spdlog::error("{}", started.message());
    return 1;
  }
  spdlog::info("zkelect {} HTTP API listening on {}", kVersion, http.listen_urls());
  runner.Start();
  loop.Start(recipe);
  if (health) health->Start();

  // After a reload, an empty task republishes the snapshot with its outcome
  // (the loop publishes after every task), and only the task after it counts
  // the reload: whoever sees zkelect_config_reloads_total move finds that
  // reload in /status. (Counted first, a client could read the new count and
  // then the previous reload's outcome: CI's ReloadTest did.)
  const auto reload = [&reloader, &loop] {
    const Status outcome = reloader.Reload();  // logged by Reload()
    loop.Post([] {});
    loop.Post([&reloader, outcome] { reloader.Count(outcome); });
  };
  int signo = kLeftElection;
  while (signo == kLeftElection) {
    signo = NextSignal(signals, std::nullopt, reload).value_or(SIGTERM);
  }
  // Leaving runs the stop hook, deletes our node and closes the session; it is
  // bounded, since past that the server drops our node by itself. It starts
  // first: a successor waits for it, and for nothing else done here. (A
  // health verdict that comes in meanwhile finds the loop shutting down.)
  control.BeginShutdown();  // a withdraw or join from now on is refused, and not saved
  loop.Shutdown([&signals] { signals.Notify(kLeftElection); });
  spdlog::info("received signal {}; leaving the election (send it again to exit at once)", signo);
  systemd.Stopping("leaving the election");
  if (health) health->Stop();
  const auto budget = ShutdownBudget(reloader.running());
  std::optional<int> next = NextSignal(signals, std::chrono::steady_clock::now() + budget);
  if (next && *next != kLeftElection) {
    spdlog::warn("second signal {}; exiting now (killing the running hook and child)", *next);
    runner.KillRunning();
    _exit(128 + *next);
  }
  if (!next) {
    spdlog::warn("leaving the election took longer than {}; exiting anyway",
                 FormatDuration(budget));
  }

  board.Close();
  http.Stop();
  runner.Stop();
  loop.Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace zkelect
