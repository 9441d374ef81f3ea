#include "support/zk_test_client.h"

#include <algorithm>
#include <future>

namespace zkelect::test {

std::unique_ptr<ZkTestClient> ZkTestClient::Connect(const std::string& servers,
                                                    std::chrono::milliseconds deadline,
                                                    std::chrono::milliseconds session_timeout,
                                                    std::string* error) {
  // Quiet: the test sees return codes; the C client's own error lines about
  // servers the test stopped on purpose would only drown the output.
  zoo_set_debug_level(static_cast<ZooLogLevel>(0));
  std::unique_ptr<ZkTestClient> client(new ZkTestClient());
  client->handle_ =
      zookeeper_init(servers.c_str(), &ZkTestClient::OnWatch,
                     static_cast<int>(session_timeout.count()), nullptr, client.get(), 0);
  if (client->handle_ == nullptr) {
    if (error != nullptr) *error = "zookeeper_init(" + servers + ") failed";
    return nullptr;
  }
  std::unique_lock<std::mutex> lock(client->mu_);
  const bool connected = client->cv_.wait_for(lock, deadline, [&client] {
    return client->state_ == ZOO_CONNECTED_STATE || client->state_ == ZOO_EXPIRED_SESSION_STATE ||
           client->state_ == ZOO_AUTH_FAILED_STATE;
  });
  if (!connected || client->state_ != ZOO_CONNECTED_STATE) {
    if (error != nullptr) {
      *error = "no ZooKeeper session with " + servers + " within " +
               std::to_string(deadline.count()) + " ms (state " + std::to_string(client->state_) +
               ")";
    }
    lock.unlock();
    return nullptr;  // the destructor closes the handle
  }
  return client;
}

ZkTestClient::~ZkTestClient() {
  if (handle_ != nullptr) zookeeper_close(handle_);
}

void ZkTestClient::OnWatch(zhandle_t* /*zh*/, int type, int state, const char* /*path*/,
                           void* context) {
  if (type != ZOO_SESSION_EVENT || context == nullptr) return;
  auto* self = static_cast<ZkTestClient*>(context);
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    self->state_ = state;
  }
  self->cv_.notify_all();
}

int ZkTestClient::Sync(const std::string& path) {
  std::promise<int> done;
  std::future<int> result = done.get_future();
  const int rc = zoo_async(
      handle_, path.c_str(),
      [](int completed, const char* /*value*/, const void* data) {
        static_cast<std::promise<int>*>(const_cast<void*>(data))->set_value(completed);
      },
      &done);
  if (rc != ZOK) return rc;
  return result.get();  // the C client completes every request, at the latest on close
}

int ZkTestClient::Children(const std::string& path, std::vector<std::string>* children) {
  String_vector names{0, nullptr};
  const int rc = zoo_get_children(handle_, path.c_str(), 0, &names);
  if (rc != ZOK) return rc;
  children->clear();
  for (int32_t i = 0; i < names.count; ++i) children->emplace_back(names.data[i]);
  deallocate_String_vector(&names);
  std::sort(children->begin(), children->end());
  return rc;
}

int ZkTestClient::Get(const std::string& path, std::string* data, Stat* stat) {
  Stat local{};
  std::string buffer(64 * 1024, '\0');
  for (int attempt = 0; attempt < 3; ++attempt) {
    int length = static_cast<int>(buffer.size());
    const int rc = zoo_get(handle_, path.c_str(), 0, buffer.data(), &length, &local);
    if (rc != ZOK) return rc;
    if (local.dataLength <= static_cast<int32_t>(buffer.size())) {
      data->assign(buffer.data(), length < 0 ? 0 : static_cast<size_t>(length));
      if (stat != nullptr) *stat = local;
      return ZOK;
    }
    buffer.resize(static_cast<size_t>(local.dataLength));  // grew in between: read again
  }
  return ZMARSHALLINGERROR;
}

int ZkTestClient::Create(const std::string& path, const std::string& data, int flags,
                         std::string* created) {
  std::string buffer(path.size() + 64, '\0');
  const int rc =
      zoo_create(handle_, path.c_str(), data.data(), static_cast<int>(data.size()),
                 &ZOO_OPEN_ACL_UNSAFE, flags, buffer.data(), static_cast<int>(buffer.size()));
  if (rc == ZOK && created != nullptr) *created = buffer.c_str();
  return rc;
}

int ZkTestClient::CreateParents(const std::string& path) {
  int rc = ZOK;
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string prefix = slash == std::string::npos ? path : path.substr(0, slash);
    rc = Create(prefix, "", 0);
    if (rc != ZOK && rc != ZNODEEXISTS) return rc;
    if (slash == std::string::npos) break;
  }
  return ZOK;
}

int ZkTestClient::Delete(const std::string& path, int version) {
  return zoo_delete(handle_, path.c_str(), version);
}

int ZkTestClient::Exists(const std::string& path, Stat* stat) {
  Stat local{};
  const int rc = zoo_exists(handle_, path.c_str(), 0, &local);
  if (rc == ZOK && stat != nullptr) *stat = local;
  return rc;
}

int64_t ZkTestClient::session_id() const {
  const clientid_t* id = zoo_client_id(handle_);
  return id == nullptr ? 0 : id->client_id;
}

std::string ZkTestClient::ErrorName(int rc) { return std::to_string(rc) + " (" + zerror(rc) + ")"; }

}  // namespace zkelect::test
