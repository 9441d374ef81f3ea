#pragma once

#include <zookeeper/zookeeper.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace zkelect::test {

// A synchronous ZooKeeper client (the C client, multi-threaded) for tests
// that inspect or tamper with the election path from outside: count the
// candidate nodes, read their data and stat, write foreign nodes, delete a
// node behind a daemon's back.
//
// Every call returns the ZooKeeper return code (ZOK, ZNONODE,
// ZCONNECTIONLOSS, ...); a call is bounded by the session timeout. Methods
// may be called from any thread (the C client serializes them).
class ZkTestClient {
 public:
  // Connects to `servers` (a connect string) and waits until the session is
  // established, at most `deadline`. Returns nullptr on failure, with the
  // reason in *error when given.
  static std::unique_ptr<ZkTestClient> Connect(
      const std::string& servers, std::chrono::milliseconds deadline,
      std::chrono::milliseconds session_timeout = std::chrono::milliseconds(4000),
      std::string* error = nullptr);
  // Closes the session: ephemeral nodes it created disappear.
  ~ZkTestClient();
  ZkTestClient(const ZkTestClient&) = delete;
  ZkTestClient& operator=(const ZkTestClient&) = delete;

  // Brings this client's server up to date with the leader for `path`
  // (ZooKeeper's sync), so that the next read sees every write committed
  // before the call, whichever client made it: reads of a server that lags
  // behind another client's confirmed write would be stale otherwise.
  int Sync(const std::string& path);
  // The children's names (not full paths), sorted by name.
  int Children(const std::string& path, std::vector<std::string>* children);
  // The node's data (as bytes in a string) and, when given, its stat.
  int Get(const std::string& path, std::string* data, Stat* stat = nullptr);
  // Creates `path` with `data`, open ACL; `flags` is ZOO_EPHEMERAL,
  // ZOO_SEQUENCE, ... (0 for persistent). *created gets the actual path.
  int Create(const std::string& path, const std::string& data, int flags,
             std::string* created = nullptr);
  // Creates every missing persistent node on the way to `path`, and `path`.
  int CreateParents(const std::string& path);
  // Deletes `path` if its version matches (-1: any version).
  int Delete(const std::string& path, int version = -1);
  // ZOK if `path` exists (with its stat when given), ZNONODE if not.
  int Exists(const std::string& path, Stat* stat = nullptr);

  // This client's session id.
  int64_t session_id() const;

  // Human name of a return code, e.g. "ZNONODE (no node)".
  static std::string ErrorName(int rc);

 private:
  ZkTestClient() = default;
  static void OnWatch(zhandle_t* zh, int type, int state, const char* path, void* context);

  zhandle_t* handle_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  int state_ = 0;  // guarded by mu_: last session state seen by the watcher
};

}  // namespace zkelect::test
