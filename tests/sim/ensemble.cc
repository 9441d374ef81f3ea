#include "sim/ensemble.h"

#include <utility>
#include <vector>

#include "sim/event_queue.h"
#include "sim/sim_random.h"
#include "sim/sim_zk_client.h"

namespace zkelect::sim {

Ensemble::Ensemble(Options options, EventQueue& queue, SimRandom& random)
    : options_(options), queue_(queue), random_(random), model_(options.tick, *this) {
  model_.SetWallClock([this] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               queue_.clock().WallNow().time_since_epoch())
        .count();
  });
}

Clock::Duration Ensemble::Latency() {
  return std::chrono::microseconds(
      random_.Between(options_.latency_min_us, options_.latency_max_us));
}

void Ensemble::SetUp(bool up) {
  if (up == up_) return;
  up_ = up;
  if (!up) {
    DropConnections(-1);
    return;
  }
  model_.Recover(queue_.clock().Now());
  ScheduleExpiry();
}

void Ensemble::Isolate(int server) {
  const int was = isolated_;
  isolated_ = server;
  if (server >= 0) stale_ = model_.tree();
  if (was >= 0 && was != server) DropConnections(was);
}

void Ensemble::DropConnections(int server) {
  std::vector<SimZkClient*> clients;
  for (const auto& [session, client] : clients_) clients.push_back(client);
  for (SimZkClient* client : clients) client->OnServerDropped(server);
}

void Ensemble::Attach(int64_t session, SimZkClient* client) {
  clients_[session] = client;
  owners_[session] = client->owner();
  ScheduleExpiry();
}

int Ensemble::OwnerOf(int64_t session) const {
  auto it = owners_.find(session);
  return it == owners_.end() ? -1 : it->second;
}

void Ensemble::Detach(int64_t session, const SimZkClient* client) {
  auto it = clients_.find(session);
  if (it != clients_.end() && it->second == client) clients_.erase(it);
}

void Ensemble::ScheduleExpiry() {
  const std::optional<Clock::TimePoint> next = model_.NextExpiry();
  if (!next || (expiry_check_ && *expiry_check_ <= *next)) return;
  expiry_check_ = *next;
  queue_.At(*next, [this, at = *next] {
    if (expiry_check_ != at) return;  // superseded by an earlier one
    expiry_check_.reset();
    // With the ensemble down no leader counts time: nothing expires.
    if (up_) model_.ExpireDue(queue_.clock().Now());
    if (up_) ScheduleExpiry();
  });
}

void Ensemble::OnWatch(int64_t session, NodeEventType type, const std::string& path) {
  auto it = clients_.find(session);
  if (it != clients_.end()) it->second->OnWatch(type, path);
}

void Ensemble::OnNodeRemoved(const std::string& path, const Znode& node, int64_t by, NodeGone how) {
  if (observer_ != nullptr) observer_->OnNodeRemoved(path, node, by, how);
}

void Ensemble::OnNodeWritten(const std::string& path) {
  if (observer_ != nullptr) observer_->OnNodeWritten(path);
}

void Ensemble::OnSessionExpired(int64_t session) {
  auto it = clients_.find(session);
  if (it != clients_.end()) it->second->OnSessionExpired();
}

}  // namespace zkelect::sim
