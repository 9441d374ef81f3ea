#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "zkelect/election/role_listener.h"

namespace zkelect::testing {

// Records role changes. By default stopping is immediate; with
// set_hold_stops(true) the continuation waits until the test calls
// FinishStop(), like a stop hook that is still running.
class RecordingRoleListener final : public RoleListener {
 public:
  void OnLease(Clock::TimePoint until) override { lease = until; }
  void OnElected(const LeaderView& self) override {
    elected.push_back(self);
    events.push_back("elected");
  }
  void OnDemoted(Reason reason, std::function<void()> stopped) override {
    demoted.push_back(reason);
    events.push_back(std::string("demoted:") + std::string(ReasonName(reason)));
    if (hold_stops_) {
      pending_stop_ = std::move(stopped);
    } else {
      stopped();
    }
  }

  void OnLeaderChanged(const std::optional<LeaderView>& previous,
                       const LeaderView& current) override {
    changes.emplace_back(previous ? previous->identity.id : "", current.identity.id);
    events.push_back("changed:" + current.identity.id);
  }

  void set_hold_stops(bool hold) { hold_stops_ = hold; }
  bool stop_pending() const { return static_cast<bool>(pending_stop_); }
  void FinishStop() {
    auto stop = std::move(pending_stop_);
    pending_stop_ = nullptr;
    if (stop) stop();
  }

  std::optional<Clock::TimePoint> lease;  // the latest OnLease()
  std::vector<LeaderView> elected;
  std::vector<Reason> demoted;
  std::vector<std::string> events;
  std::vector<std::pair<std::string, std::string>> changes;  // previous id, current id

 private:
  bool hold_stops_ = false;
  std::function<void()> pending_stop_;
};

}  // namespace zkelect::testing
