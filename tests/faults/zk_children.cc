// fault_zk_children: lists the children of one ZooKeeper path, one per line,
// for the fault-injection harness's final check that no candidate node
// survives its daemon's clean exit.
//
//   fault_zk_children CONNECT_STRING PATH [TIMEOUT_MS]
//
// Exit status: 0 with the children on stdout (none when PATH is missing,
// which also means no candidate is left), 1 on a connection or request error
// (message on stderr), 2 on bad usage. Gives up after TIMEOUT_MS (default
// 15000) of failing to connect.
#include <zookeeper/zookeeper.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace {

struct Connection {
  std::mutex mu;
  std::condition_variable cv;
  bool connected = false;
};

void Watcher(zhandle_t* /*zh*/, int type, int state, const char* /*path*/, void* context) {
  if (type != ZOO_SESSION_EVENT || state != ZOO_CONNECTED_STATE) return;
  auto* connection = static_cast<Connection*>(context);
  std::lock_guard<std::mutex> lock(connection->mu);
  connection->connected = true;
  connection->cv.notify_all();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: %s CONNECT_STRING PATH [TIMEOUT_MS]\n", argv[0]);
    return 2;
  }
  const long timeout_ms = argc == 4 ? std::strtol(argv[3], nullptr, 10) : 15000;
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  Connection connection;
  zhandle_t* zh = zookeeper_init(argv[1], Watcher, 10000, nullptr, &connection, 0);
  if (zh == nullptr) {
    std::perror("fault_zk_children: zookeeper_init");
    return 1;
  }
  bool connected = false;
  {
    std::unique_lock<std::mutex> lock(connection.mu);
    connected = connection.cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                       [&] { return connection.connected; });
  }
  int status = 1;
  if (!connected) {
    std::fprintf(stderr, "fault_zk_children: not connected to %s within %ld ms\n", argv[1],
                 timeout_ms);
  } else {
    String_vector children{};
    const int rc = zoo_get_children(zh, argv[2], 0, &children);
    if (rc == ZOK || rc == ZNONODE) {
      for (int i = 0; i < children.count; ++i) std::printf("%s\n", children.data[i]);
      if (rc == ZOK) deallocate_String_vector(&children);
      status = 0;
    } else {
      std::fprintf(stderr, "fault_zk_children: get_children %s: %s\n", argv[2], zerror(rc));
    }
  }
  zookeeper_close(zh);
  return status;
}
