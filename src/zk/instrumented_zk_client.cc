#include "zkelect/zk/instrumented_zk_client.h"

#include <utility>

#include "zkelect/common/clock.h"
#include "zkelect/metrics/metrics.h"

namespace zkelect {

InstrumentedZkClient::InstrumentedZkClient(ZkClient& inner, const Clock& clock, Metrics& metrics)
    : inner_(inner), clock_(clock), metrics_(metrics) {
  inner_.SetEventSink(this);
}

InstrumentedZkClient::~InstrumentedZkClient() { inner_.SetEventSink(nullptr); }

void InstrumentedZkClient::SetEventSink(ZkEventSink* sink) { sink_ = sink; }

bool InstrumentedZkClient::Open() {
  connected_once_ = false;
  const bool opened = inner_.Open();
  if (opened) metrics_.sessions_opened.Increment({});
  return opened;
}

void InstrumentedZkClient::Close() { inner_.Close(); }

int64_t InstrumentedZkClient::session_id() const { return inner_.session_id(); }

std::chrono::milliseconds InstrumentedZkClient::negotiated_timeout() const {
  return inner_.negotiated_timeout();
}

template <typename Callback>
Callback InstrumentedZkClient::Measured(std::string_view op, Callback done) {
  return
      [this, op, sent = clock_.Now(), done = std::move(done)](ZkCode code, const auto&... reply) {
        const Clock::TimePoint now = clock_.Now();
        metrics_.zk_requests.Increment({std::string(op), std::string(ZkCodeName(code))});
        metrics_.zk_request_duration.Observe({std::string(op)}, now - sent);
        if (IsServerAnswer(code)) metrics_.NoteServerReply(now);
        done(code, reply...);
      };
}

void InstrumentedZkClient::Create(const std::string& path, const std::string& data, CreateMode mode,
                                  CreateCallback done) {
  inner_.Create(path, data, mode, Measured("create", std::move(done)));
}

void InstrumentedZkClient::GetChildren(const std::string& path, bool watch, ChildrenCallback done) {
  inner_.GetChildren(path, watch, Measured("get_children", std::move(done)));
}

void InstrumentedZkClient::GetData(const std::string& path, bool watch, DataCallback done) {
  inner_.GetData(path, watch, Measured("get_data", std::move(done)));
}

void InstrumentedZkClient::Exists(const std::string& path, bool watch, StatCallback done) {
  inner_.Exists(path, watch, Measured("exists", std::move(done)));
}

void InstrumentedZkClient::Sync(const std::string& path, DoneCallback done) {
  inner_.Sync(path, Measured("sync", std::move(done)));
}

void InstrumentedZkClient::Delete(const std::string& path, DoneCallback done) {
  inner_.Delete(path, Measured("delete", std::move(done)));
}

void InstrumentedZkClient::SetData(const std::string& path, const std::string& data,
                                   DoneCallback done) {
  inner_.SetData(path, data, Measured("set", std::move(done)));
}

void InstrumentedZkClient::OnSessionState(SessionState state) {
  switch (state) {
    case SessionState::kConnected:
      if (connected_once_) metrics_.session_reconnects.Increment({});
      connected_once_ = true;
      break;
    case SessionState::kExpired:
      metrics_.session_expirations.Increment({});
      break;
    case SessionState::kConnecting:
    case SessionState::kAuthFailed:
      break;
  }
  if (sink_ != nullptr) sink_->OnSessionState(state);
}

void InstrumentedZkClient::OnNodeEvent(NodeEventType type, const std::string& path) {
  if (sink_ != nullptr) sink_->OnNodeEvent(type, path);
}

}  // namespace zkelect
