#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "zkelect/hooks/process_spawner.h"

namespace zkelect {

enum class HookAction {
  kStart,   // on_start, then the leader-only child
  kStop,    // stop the leader-only child, then on_stop
  kChange,  // on_change
};

// The configuration key of `action`'s command: "on_start", "on_stop", "on_change".
const char* HookName(HookAction action);

// How one hook command went.
struct HookResult {
  std::string hook;                  // "on_start", "on_stop", "on_change"
  std::optional<ExitStatus> status;  // nullopt when it could not be started
  bool timed_out = false;            // ran past hooks.timeout and was killed
  std::string error;                 // why it could not be started
  std::chrono::milliseconds duration{0};
  bool ok() const { return error.empty() && !timed_out && status && status->ok(); }
  std::string Describe() const;  // "exit status 0", "timed out after 30s", ...
};

// What a queued action did: the hook's result (none when no hook is
// configured for it) and, for kStart, whether the child could be started.
struct HookOutcome {
  std::optional<HookResult> hook;
  std::string child_error;
  // Dropped without running anything: a kStart whose term had already ended
  // (a kStop of the same or a later term was queued after it), or the kStop
  // that follows such a start.
  bool skipped = false;
  bool ok() const { return (!hook || hook->ok()) && child_error.empty(); }
};

// A leadership term as the hook layer numbers them: HookRoleListener counts
// its elections from 1; 0 stands for "no term" (kChange).
using HookTerm = std::uint64_t;

// Runs the hook actions of design §5 one at a time, off the election loop:
// the seam between HookRoleListener and processes. HookRunnerImpl runs real
// commands; the deterministic simulator implements it in virtual time.
//
// Ordering contract, which every implementation keeps:
//  - Actions run one after another, never two at once, in the order queued,
//    except that a kStop goes ahead of every queued (not yet running) kStart
//    and kChange; kStops keep their order among themselves.
//  - A queued kStart of a term <= the term of a kStop queued after it is not
//    run: its `done` gets HookOutcome{.skipped = true}.
//  - Right before a kStart begins, the start gate (SetStartGate) is asked; a
//    start it refuses is dropped like a stale one (skipped), and so is the
//    stop that follows it.
//  - Start and stop alternate (design §7, invariant 8): a kStop runs nothing
//    (no child to stop, no on_stop) when no kStart ran since the last kStop,
//    as after a dropped start; its `done` gets HookOutcome{.skipped = true}.
//  - A kStop stops the leader-only child (if any) before its hook runs; a
//    child that exits by itself while a kStop is queued is not restarted.
//  - Every accepted action gets exactly one `done`, unless the runner is
//    stopped first (then queued actions are dropped without a call).
//
// Threads: Run() and the accessors may be called from any thread. `done`
// runs on the runner's own thread (HookRunnerImpl) or the simulator's, never
// inside Run(); it must not block and must not call back into the runner
// synchronously. HookRoleListener's callbacks only post to the election loop
// and do the work there.
class HookRunner {
 public:
  virtual ~HookRunner() = default;

  // Queues `action` of leadership `term` with the hook environment `env`;
  // `done` is called once it completed (or was skipped, see above). For
  // kStart, the child is started only when the hook succeeded or
  // hooks.start_failure is ignore.
  virtual void Run(HookAction action, HookTerm term, std::map<std::string, std::string> env,
                   std::function<void(const HookOutcome&)> done) = 0;

  // Set once, before the first Run(): `may_start(term)` says whether the
  // leadership of `term` still holds, asked on the runner's thread right
  // before a kStart begins. Must be thread-safe and quick; nullptr: always.
  virtual void SetStartGate(std::function<bool(HookTerm)> may_start) = 0;

  // The hook command running now, if any (for /status).
  virtual std::optional<std::string> running() const = 0;

  // Whether a command is configured for `action` / a leader-only child is.
  virtual bool has_hook(HookAction action) const = 0;
  virtual bool has_child() const = 0;
};

}  // namespace zkelect
