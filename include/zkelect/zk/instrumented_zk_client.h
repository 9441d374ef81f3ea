#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "zkelect/zk/zk_client.h"

namespace zkelect {

class Clock;
struct Metrics;

// A ZkClient that forwards everything to another and counts what passes
// through into Metrics: requests by operation and result with their latency
// (send to reply, on the election loop), the time of the last server reply,
// sessions opened, reconnects within a session and expirations.
//
// Same contract and threading as ZkClient: election loop thread only.
// `inner`, `clock` and `metrics` must outlive it.
class InstrumentedZkClient final : public ZkClient, private ZkEventSink {
 public:
  InstrumentedZkClient(ZkClient& inner, const Clock& clock, Metrics& metrics);
  ~InstrumentedZkClient() override;
  InstrumentedZkClient(const InstrumentedZkClient&) = delete;
  InstrumentedZkClient& operator=(const InstrumentedZkClient&) = delete;

  void SetEventSink(ZkEventSink* sink) override;
  bool Open() override;
  void Close() override;
  int64_t session_id() const override;
  std::chrono::milliseconds negotiated_timeout() const override;
  Clock::TimePoint connected_at() const override { return inner_.connected_at(); }
  void Create(const std::string& path, const std::string& data, CreateMode mode,
              CreateCallback done) override;
  void GetChildren(const std::string& path, bool watch, ChildrenCallback done) override;
  void GetData(const std::string& path, bool watch, DataCallback done) override;
  void Exists(const std::string& path, bool watch, StatCallback done) override;
  void Sync(const std::string& path, DoneCallback done) override;
  void Delete(const std::string& path, DoneCallback done) override;
  void SetData(const std::string& path, const std::string& data, DoneCallback done) override;

 private:
  // ZkEventSink: counts, then forwards to the sink set by SetEventSink().
  void OnSessionState(SessionState state) override;
  void OnNodeEvent(NodeEventType type, const std::string& path) override;

  // Wraps `done` so that its call first records `op`'s result and latency.
  template <typename Callback>
  Callback Measured(std::string_view op, Callback done);

  ZkClient& inner_;
  const Clock& clock_;
  Metrics& metrics_;
  ZkEventSink* sink_ = nullptr;
  // The current session has been connected at least once.
  bool connected_once_ = false;
};

}  // namespace zkelect
