#pragma once

#include <functional>
#include <optional>

#include "zkelect/common/clock.h"
#include "zkelect/election/role.h"
#include "zkelect/election/snapshot.h"

namespace zkelect {

// Who acts when this node's role changes: the seam for hooks (design §5).
// Every method runs on the election loop thread and must return quickly;
// long work (a hook command) runs elsewhere and reports back by calling the
// continuation on the loop thread.
class RoleListener {
 public:
  virtual ~RoleListener() = default;

  // While this node leads: until when it may act as leader (its self-fencing
  // deadline, rule 7). Called before OnElected() and whenever it moves; past
  // it, a start that has not begun yet must not begin (a process paused with
  // a start queued runs it only once the loop has stepped down). Pure, so
  // that a wrapper cannot forget to pass it on.
  virtual void OnLease(Clock::TimePoint until) = 0;

  // This node now leads under `self.epoch`.
  virtual void OnElected(const LeaderView& self) = 0;

  // This node no longer leads, for `reason`. Call `stopped` once the
  // application has stopped acting as leader (may be called before
  // returning). On a voluntary handoff (resign, shutdown) the recipe deletes
  // its node only after `stopped`, so the successor never starts while this
  // node still acts; on an involuntary loss nothing waits for it.
  virtual void OnDemoted(Reason reason, std::function<void()> stopped) = 0;

  // Another node (or this one) now leads, as seen from here; `previous` is
  // the leader seen before, if any. Runs on every node, leader or not.
  virtual void OnLeaderChanged(const std::optional<LeaderView>& /*previous*/,
                               const LeaderView& /*current*/) {}
};

}  // namespace zkelect
