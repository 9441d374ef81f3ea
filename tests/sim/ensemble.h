#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "sim/zk_model.h"
#include "sim/znode_tree.h"

namespace zkelect::sim {

class EventQueue;
class SimRandom;
class SimZkClient;

// The servers of a simulated ZooKeeper ensemble around the quorum's state
// (ZkModel): whether they are up, which one is cut off from the quorum (it
// keeps answering reads from its copy while writes and syncs hang, and the
// quorum hears nothing from the sessions connected to it), the network's
// latency and loss, and who holds which session. It expires sessions on
// tick boundaries and routes watch events to the client of their session.
//
// Not thread-safe.
class Ensemble final : public ZkModel::Listener {
 public:
  using Millis = std::chrono::milliseconds;

  struct Options {
    int servers = 3;
    Millis tick{100};
    // One-way latency of a packet, uniform in [min, max] (microseconds).
    int64_t latency_min_us = 200;
    int64_t latency_max_us = 3000;
  };

  // Told about every node that leaves the tree (the invariant checker).
  class NodeObserver {
   public:
    virtual ~NodeObserver() = default;
    virtual void OnNodeRemoved(const std::string& path, const Znode& node, int64_t by,
                               NodeGone how) = 0;
    // `path` was created, or its data set.
    virtual void OnNodeWritten(const std::string& path) = 0;
  };

  Ensemble(Options options, EventQueue& queue, SimRandom& random);
  Ensemble(const Ensemble&) = delete;
  Ensemble& operator=(const Ensemble&) = delete;

  ZkModel& model() { return model_; }
  const Options& options() const { return options_; }
  void SetNodeObserver(NodeObserver* observer) { observer_ = observer; }

  // A one-way packet delay.
  Clock::Duration Latency();
  // Per million requests: lost with their connection before the server
  // applies them, and as many again after (the reply is lost).
  uint32_t loss_per_million() const { return loss_per_million_; }
  void set_loss_per_million(uint32_t loss) { loss_per_million_ = loss; }

  // Whether `server` accepts a connection now.
  bool Serving(int server) const { return up_ && server != isolated_; }
  bool up() const { return up_; }
  // The server cut off from the quorum, if any, and its copy of the tree.
  std::optional<int> isolated() const {
    return isolated_ < 0 ? std::nullopt : std::optional<int>(isolated_);
  }
  const ZnodeTree* StaleTree(int server) const { return server == isolated_ ? &stale_ : nullptr; }

  // Faults. The whole ensemble down: every connection breaks, no session
  // expires; up again: every session's timeout starts over.
  void SetUp(bool up);
  // Cuts `server` off from the quorum (-1: none). Ending the isolation
  // drops its connections, as a server that rejoins does.
  void Isolate(int server);

  // Sessions and clients: the client holding `session` gets its watch events
  // and learns when the quorum expires it.
  void Attach(int64_t session, SimZkClient* client);
  // The daemon whose client opened `session`; -1 for a foreign client.
  int OwnerOf(int64_t session) const;
  void Detach(int64_t session, const SimZkClient* client);
  // Asks for an expiry check at the tick boundary of `deadline`.
  void ScheduleExpiry();

  // ZkModel::Listener:
  void OnWatch(int64_t session, NodeEventType type, const std::string& path) override;
  void OnNodeRemoved(const std::string& path, const Znode& node, int64_t by, NodeGone how) override;
  void OnSessionExpired(int64_t session) override;
  void OnNodeWritten(const std::string& path) override;

 private:
  // Drops every connection to `server` (-1: to every server).
  void DropConnections(int server);

  const Options options_;
  EventQueue& queue_;
  SimRandom& random_;
  ZkModel model_;
  NodeObserver* observer_ = nullptr;
  bool up_ = true;
  int isolated_ = -1;
  ZnodeTree stale_;
  uint32_t loss_per_million_ = 0;
  std::map<int64_t, SimZkClient*> clients_;
  std::map<int64_t, int> owners_;  // every session a daemon ever held
  // The pending expiry check's time, if one is pending.
  std::optional<Clock::TimePoint> expiry_check_;
};

}  // namespace zkelect::sim
