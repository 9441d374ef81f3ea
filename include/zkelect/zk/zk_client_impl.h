#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "zkelect/zk/zk_client.h"

typedef struct _zhandle zhandle_t;  // NOLINT: the C client's own spelling

namespace zkelect {

class TaskPoster;
struct ZkConfig;

// ZkClient over the ZooKeeper C client (libzookeeper_mt): a thin RAII owner of
// one zhandle_t at a time.
//
// The library calls back on its own completion thread; those callbacks only
// copy their arguments and post a task to `poster` (the election loop). The
// task checks the generation it was issued under and drops replies and events
// of an earlier handle (design §2). Construction and every method: election
// loop thread only. `poster` must outlive this object.
class ZkClientImpl final : public ZkClient {
 public:
  ZkClientImpl(const ZkConfig& config, TaskPoster& poster);
  ~ZkClientImpl() override;  // Close()s
  ZkClientImpl(const ZkClientImpl&) = delete;
  ZkClientImpl& operator=(const ZkClientImpl&) = delete;

  void SetEventSink(ZkEventSink* sink) override { sink_ = sink; }
  bool Open() override;
  void Close() override;
  int64_t session_id() const override { return session_id_; }
  std::chrono::milliseconds negotiated_timeout() const override { return negotiated_timeout_; }
  Clock::TimePoint connected_at() const override { return connected_at_; }

  void Create(const std::string& path, const std::string& data, CreateMode mode,
              CreateCallback done) override;
  void GetChildren(const std::string& path, bool watch, ChildrenCallback done) override;
  void GetData(const std::string& path, bool watch, DataCallback done) override;
  void Exists(const std::string& path, bool watch, StatCallback done) override;
  void Sync(const std::string& path, DoneCallback done) override;
  void Delete(const std::string& path, DoneCallback done) override;
  void SetData(const std::string& path, const std::string& data, DoneCallback done) override;

  // Requests handed to the library whose completion has not run yet, and
  // those a Close() left unanswered (the library never completes them). Any
  // thread.
  size_t requests_in_flight() const;
  size_t requests_abandoned() const;

 private:
  struct HandleContext;
  template <typename Callback>
  struct Request;

  // Library-thread entry points (static: the C API takes function pointers).
  static void OnSessionWatch(zhandle_t* zh, int type, int state, const char* path, void* ctx);
  static void OnNodeWatch(zhandle_t* zh, int type, int state, const char* path, void* ctx);
  static void OnLibraryLog(const char* message);

  // Runs `task` on the loop if the handle of `generation` is still current.
  void PostIfCurrent(uint64_t generation, std::function<void()> task);

  // Before zookeeper_close: gives the replies of a live connection a moment to
  // arrive. The library queues the completions of requests still in flight at
  // close for a completion thread it has already stopped, so they never run.
  void AwaitRepliesInFlight();
  void RequestStarted();
  void RequestAnswered();  // also when the library refused it at once

  // Constant after construction.
  const std::string servers_;
  const std::chrono::milliseconds requested_timeout_;
  const std::string digest_auth_;
  TaskPoster& poster_;

  // Election loop thread only.
  ZkEventSink* sink_ = nullptr;
  zhandle_t* handle_ = nullptr;
  std::unique_ptr<HandleContext> context_;
  uint64_t generation_ = 0;
  int64_t session_id_ = 0;
  std::chrono::milliseconds negotiated_timeout_;
  Clock::TimePoint connected_at_ = Clock::TimePoint::max();

  // Loop thread and the library's completion thread.
  mutable std::mutex in_flight_mu_;
  std::condition_variable in_flight_changed_;
  size_t in_flight_ = 0;
  size_t abandoned_ = 0;
};

}  // namespace zkelect
