// zkelect_sim: runs the deterministic simulator over a range of seeds and
// prints one line per failing seed (with its trace) and a summary.
//
//   zkelect_sim --seed 1 --seeds 100 --events 100000 --daemons 3
//   zkelect_sim --seed 1 --events 50000 --total-events 1000000 --keep-going
//
// --daemons 0 runs 3, 4 or 5 daemons (by seed). --total-events keeps taking
// seeds until that many events ran (a run stops early at a violation).
// Exits 1 if any seed broke an invariant; the same seed (and options)
// replays the same run bit for bit.
#include <spdlog/fmt/fmt.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "sim/simulation.h"

int main(int argc, char** argv) {
  uint64_t first_seed = 1;
  uint64_t seeds = 1;
  uint64_t events = 100'000;
  uint64_t total_wanted = 0;
  int daemons = 0;
  size_t trace_lines = 300;
  bool keep_going = false;
  bool quiet = false;
  bool no_recipe_invariants = false;
  CLI::App app{"zkelect deterministic simulator"};
  app.add_option("--seed", first_seed, "first seed");
  app.add_option("--seeds", seeds, "number of seeds (first, first+1, ...)");
  app.add_option("--events", events, "events per seed");
  app.add_option("--total-events", total_wanted, "run further seeds until this many events ran");
  app.add_option("--daemons", daemons, "daemons per run, 3-5 (0: drawn from the seed)")
      ->check(CLI::Range(0, 5));
  app.add_option("--trace-lines", trace_lines, "trace lines printed for a failing seed");
  app.add_flag("--keep-going", keep_going, "run every seed even after a failure");
  app.add_flag("--quiet", quiet, "print only the summary and the failing seeds (no traces)");
  app.add_flag("--no-recipe-invariants", no_recipe_invariants,
               "the recipes do not check their own invariants (scripts/mutation-run.sh)");
  CLI11_PARSE(app, argc, argv);

  const auto start = std::chrono::steady_clock::now();
  uint64_t total_events = 0;
  uint64_t failed = 0;
  std::chrono::nanoseconds simulated{0};
  // For the mutation table (issue 15, point 4): how much simulation it took
  // to find the first violation.
  std::string first_violation;
  // Over every seed's trace hash: two runs with the same options must agree.
  uint64_t replay_hash = 0;
  for (uint64_t seed = first_seed;
       seed < first_seed + seeds || (total_wanted > 0 && total_events < total_wanted); ++seed) {
    zkelect::sim::SimOptions options;
    options.seed = seed;
    options.max_events = events;
    options.trace_lines = trace_lines;
    options.recipe_invariants = !no_recipe_invariants;
    options.daemons = daemons != 0 ? daemons : 3 + static_cast<int>(seed % 3);
    zkelect::sim::Simulation simulation(options);
    const zkelect::sim::SimResult result = simulation.Run();
    total_events += result.events;
    replay_hash = (replay_hash ^ result.trace_hash) * 0x100000001b3ULL;
    simulated += result.simulated;
    if (result.violation) {
      if (failed == 0) {
        first_violation = fmt::format(
            "first violation: seed {} (invariant {}), after {} events and {:.0f} s simulated over "
            "{} seed(s)\n",
            seed, result.violation->invariant, total_events,
            std::chrono::duration<double>(simulated).count(), seed - first_seed + 1);
      }
      ++failed;
      std::printf("seed %llu (%d daemons): %s\n", static_cast<unsigned long long>(seed),
                  options.daemons, result.violation->message.c_str());
      if (!quiet) {
        std::printf("--- last trace lines of seed %llu (hash %016llx) ---\n%s---\n",
                    static_cast<unsigned long long>(seed),
                    static_cast<unsigned long long>(result.trace_hash), result.trace_tail.c_str());
      }
      if (!keep_going) break;
    }
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fputs(first_violation.c_str(), stdout);
  std::printf(
      "%llu events, %.0f s simulated, %.2f s wall, %.0f events/s; %llu failing seed(s); "
      "replay hash %016llx\n",
      static_cast<unsigned long long>(total_events),
      std::chrono::duration<double>(simulated).count(), wall,
      static_cast<double>(total_events) / wall, static_cast<unsigned long long>(failed),
      static_cast<unsigned long long>(replay_hash));
  return failed == 0 ? 0 : 1;
}
