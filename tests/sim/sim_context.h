#pragma once

#include <cstdint>

namespace zkelect::sim {

class EventQueue;
class Ensemble;
class InvariantChecker;
class SimClock;
class SimRandom;
class Trace;

// What every simulated part shares: one clock, one agenda, one seed's random
// stream, one trace, the ensemble and the invariant checker. Owned by the
// Simulation, which outlives everything that holds this.
struct SimContext {
  uint64_t seed;  // for a failure report that cannot wait (a recipe's abort)
  SimClock& clock;
  EventQueue& queue;
  SimRandom& random;
  SimRandom& uuids;  // for the uuids of created nodes (RecipeOptions::new_uuid)
  Trace& trace;
  Ensemble& ensemble;
  InvariantChecker& checker;
  bool recipe_invariants = true;  // RecipeOptions::check_invariants
};

}  // namespace zkelect::sim
