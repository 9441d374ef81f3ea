#include "zkelect/zk/zk_client_impl.h"

#include <spdlog/spdlog.h>
#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "zkelect/common/task_poster.h"
#include "zkelect/config/config.h"

namespace zkelect {
namespace {

ZkCode FromLibrary(int rc) {
  switch (rc) {
    case ZOK:
      return ZkCode::kOk;
    case ZNONODE:
      return ZkCode::kNoNode;
    case ZNODEEXISTS:
      return ZkCode::kNodeExists;
    case ZNOTEMPTY:
      return ZkCode::kNotEmpty;
    case ZBADVERSION:
      return ZkCode::kBadVersion;
    case ZNOAUTH:
      return ZkCode::kNoAuth;
    case ZINVALIDACL:
      return ZkCode::kInvalidAcl;
    case ZCONNECTIONLOSS:
      return ZkCode::kConnectionLoss;
    case ZOPERATIONTIMEOUT:
      return ZkCode::kOperationTimeout;
    case ZSESSIONEXPIRED:
      return ZkCode::kSessionExpired;
    case ZINVALIDSTATE:
      return ZkCode::kSessionExpired;  // handle expired or auth failed
    case ZCLOSING:
      return ZkCode::kClosing;
    default:
      return ZkCode::kOther;
  }
}

NodeStat FromLibrary(const Stat* stat) {
  NodeStat out;
  if (stat != nullptr) {
    out.czxid = stat->czxid;
    out.ephemeral_owner = stat->ephemeralOwner;
    out.version = stat->version;
    out.ctime_ms = stat->ctime;
  }
  return out;
}

// creator-all + world-read: other clients may read the election, only the
// credentials that created a node may change or delete it.
char kAuthScheme[] = "auth";
char kEmptyId[] = "";
char kWorldScheme[] = "world";
char kAnyoneId[] = "anyone";
ACL kAuthenticatedAcl[] = {{ZOO_PERM_ALL, {kAuthScheme, kEmptyId}},
                           {ZOO_PERM_READ, {kWorldScheme, kAnyoneId}}};
ACL_vector kAuthenticatedAclVector = {2, kAuthenticatedAcl};

constexpr std::chrono::milliseconds kResolutionDelay{30000};

}  // namespace

// What the library hands back to our static callbacks for one handle.
struct ZkClientImpl::HandleContext {
  ZkClientImpl* client;
  uint64_t generation;
};

// One in-flight request: owned by the library between the call and its
// completion, then by the completion.
template <typename Callback>
struct ZkClientImpl::Request {
  ZkClientImpl* client;
  uint64_t generation;
  Callback done;

  static Request* New(ZkClientImpl* client, Callback done) {
    client->RequestStarted();
    return new Request{client, client->generation_, std::move(done)};
  }
  // The library's completion hands the request back.
  static std::shared_ptr<Request> Take(const void* data) {
    auto* request = static_cast<Request*>(const_cast<void*>(data));
    request->client->RequestAnswered();
    return std::shared_ptr<Request>(request);
  }
  // Runs `call(done)` on the election loop, if the request's handle is still
  // the current one. (Posted tasks live in std::function, which must be
  // copyable: the request is shared.)
  static void Deliver(std::shared_ptr<Request> request, std::function<void(Callback&)> call) {
    ZkClientImpl* client = request->client;
    const uint64_t generation = request->generation;
    client->PostIfCurrent(generation, [request = std::move(request), call = std::move(call)] {
      call(request->done);
    });
  }
  // The library refused the request synchronously: no completion will come.
  static void Refused(Request* raw, int rc, std::function<void(Callback&, ZkCode)> deliver) {
    Deliver(Take(raw), [code = FromLibrary(rc), deliver = std::move(deliver)](Callback& done) {
      deliver(done, code);
    });
  }
};

ZkClientImpl::ZkClientImpl(const ZkConfig& config, TaskPoster& poster)
    : servers_(config.servers),
      requested_timeout_(config.session_timeout),
      digest_auth_(config.digest_auth),
      poster_(poster),
      negotiated_timeout_(config.session_timeout) {}

ZkClientImpl::~ZkClientImpl() { Close(); }

bool ZkClientImpl::Open() {
  Close();
  ++generation_;
  context_ = std::make_unique<HandleContext>(HandleContext{this, generation_});
  zoo_set_debug_level(spdlog::should_log(spdlog::level::debug) ? ZOO_LOG_LEVEL_INFO
                                                               : ZOO_LOG_LEVEL_WARN);
  handle_ = zookeeper_init2(servers_.c_str(), &ZkClientImpl::OnSessionWatch,
                            static_cast<int>(requested_timeout_.count()), nullptr, context_.get(),
                            0, &ZkClientImpl::OnLibraryLog);
  if (handle_ == nullptr) {
    spdlog::error("zk: cannot create a client for zk.servers = \"{}\": {}", servers_,
                  std::strerror(errno));
    context_.reset();
    return false;
  }
  // By default the library resolves zk.servers again (getaddrinfo: a
  // netlink query, and DNS for host names) on every turn of its I/O loop,
  // that is before sending each request and after each reply. Once in a
  // while is enough to follow DNS changes; a lost connection resolves anew
  // regardless.
  zoo_set_servers_resolution_delay(handle_, static_cast<int>(kResolutionDelay.count()));
  if (!digest_auth_.empty()) {
    int rc = zoo_add_auth(handle_, "digest", digest_auth_.data(),
                          static_cast<int>(digest_auth_.size()), nullptr, nullptr);
    if (rc != ZOK) spdlog::error("zk: cannot add digest credentials: {}", zerror(rc));
  }
  spdlog::debug("zk: opened handle generation {} to {}", generation_, servers_);
  return true;
}

void ZkClientImpl::Close() {
  if (handle_ == nullptr) return;
  // Replies still queued for this handle (including the kClosing completions
  // zookeeper_close produces) carry the old generation and are dropped.
  ++generation_;
  AwaitRepliesInFlight();
  int rc = zookeeper_close(handle_);
  if (rc != ZOK) spdlog::debug("zk: close returned {}", zerror(rc));
  handle_ = nullptr;
  context_.reset();
  session_id_ = 0;
  // The library's threads are gone: whatever it still held is never answered.
  std::lock_guard<std::mutex> lock(in_flight_mu_);
  if (in_flight_ > 0) spdlog::debug("zk: {} requests unanswered at close", in_flight_);
  abandoned_ += in_flight_;
  in_flight_ = 0;
}

void ZkClientImpl::AwaitRepliesInFlight() {
  // Over a live connection a reply takes a round trip; over a dead one the
  // library fails requests only after 2/3 of the timeout, too long to wait.
  constexpr std::chrono::milliseconds kGrace{1000};
  if (zoo_state(handle_) != ZOO_CONNECTED_STATE) return;
  std::unique_lock<std::mutex> lock(in_flight_mu_);
  in_flight_changed_.wait_for(lock, std::min(kGrace, negotiated_timeout_ / 4),
                              [this] { return in_flight_ == 0; });
}

void ZkClientImpl::RequestStarted() {
  std::lock_guard<std::mutex> lock(in_flight_mu_);
  ++in_flight_;
}

void ZkClientImpl::RequestAnswered() {
  {
    std::lock_guard<std::mutex> lock(in_flight_mu_);
    --in_flight_;
  }
  in_flight_changed_.notify_all();
}

size_t ZkClientImpl::requests_in_flight() const {
  std::lock_guard<std::mutex> lock(in_flight_mu_);
  return in_flight_;
}

size_t ZkClientImpl::requests_abandoned() const {
  std::lock_guard<std::mutex> lock(in_flight_mu_);
  return abandoned_;
}

void ZkClientImpl::PostIfCurrent(uint64_t generation, std::function<void()> task) {
  poster_.Post([this, generation, task = std::move(task)] {
    if (generation == generation_) task();
  });
}

void ZkClientImpl::OnSessionWatch(zhandle_t* zh, int type, int state, const char* /*path*/,
                                  void* ctx) {
  if (type != ZOO_SESSION_EVENT) return;  // node watches come through OnNodeWatch
  auto* context = static_cast<HandleContext*>(ctx);
  SessionState mapped = SessionState::kConnecting;
  int64_t session_id = 0;
  std::chrono::milliseconds timeout{0};
  const Clock::TimePoint received = BootClock::now();
  if (state == ZOO_CONNECTED_STATE) {
    mapped = SessionState::kConnected;
    session_id = zoo_client_id(zh)->client_id;
    timeout = std::chrono::milliseconds(zoo_recv_timeout(zh));
  } else if (state == ZOO_EXPIRED_SESSION_STATE) {
    mapped = SessionState::kExpired;
  } else if (state == ZOO_AUTH_FAILED_STATE) {
    mapped = SessionState::kAuthFailed;
  }
  ZkClientImpl* client = context->client;
  client->PostIfCurrent(context->generation, [client, mapped, session_id, timeout, received] {
    if (mapped == SessionState::kConnected) {
      client->session_id_ = session_id;
      client->negotiated_timeout_ = timeout;
      client->connected_at_ = received;
    }
    if (client->sink_ != nullptr) client->sink_->OnSessionState(mapped);
  });
}

void ZkClientImpl::OnNodeWatch(zhandle_t* /*zh*/, int type, int /*state*/, const char* path,
                               void* ctx) {
  NodeEventType mapped;
  if (type == ZOO_DELETED_EVENT) {
    mapped = NodeEventType::kDeleted;
  } else if (type == ZOO_CHANGED_EVENT) {
    mapped = NodeEventType::kDataChanged;
  } else if (type == ZOO_CREATED_EVENT) {
    mapped = NodeEventType::kCreated;
  } else if (type == ZOO_CHILD_EVENT) {
    mapped = NodeEventType::kChildrenChanged;
  } else {
    return;  // session events reach every watcher; OnSessionWatch handles them
  }
  auto* context = static_cast<HandleContext*>(ctx);
  ZkClientImpl* client = context->client;
  client->PostIfCurrent(context->generation,
                        [client, mapped, node = std::string(path ? path : "")] {
                          if (client->sink_ != nullptr) client->sink_->OnNodeEvent(mapped, node);
                        });
}

void ZkClientImpl::OnLibraryLog(const char* message) {
  std::string_view text(message ? message : "");
  if (text.find("ZOO_ERROR") != std::string_view::npos) {
    spdlog::warn("zk client: {}", text);
  } else if (text.find("ZOO_WARN") != std::string_view::npos) {
    spdlog::info("zk client: {}", text);
  } else {
    spdlog::debug("zk client: {}", text);
  }
}

void ZkClientImpl::Create(const std::string& path, const std::string& data, CreateMode mode,
                          CreateCallback done) {
  using Req = Request<CreateCallback>;
  auto* request = Req::New(this, std::move(done));
  auto completion = [](int rc, const char* value, const void* raw) {
    Req::Deliver(Req::Take(raw),
                 [code = FromLibrary(rc), created = std::string(value ? value : "")](
                     CreateCallback& callback) { callback(code, created); });
  };
  const int flags =
      mode == CreateMode::kEphemeralSequential ? ZOO_EPHEMERAL_SEQUENTIAL : ZOO_PERSISTENT;
  const ACL_vector* acl = digest_auth_.empty() ? &ZOO_OPEN_ACL_UNSAFE : &kAuthenticatedAclVector;
  int rc = handle_ == nullptr
               ? ZCLOSING
               : zoo_acreate(handle_, path.c_str(), data.data(), static_cast<int>(data.size()), acl,
                             flags, completion, request);
  if (rc != ZOK) Req::Refused(request, rc, [](CreateCallback& cb, ZkCode code) { cb(code, ""); });
}

void ZkClientImpl::GetChildren(const std::string& path, bool watch, ChildrenCallback done) {
  using Req = Request<ChildrenCallback>;
  auto* request = Req::New(this, std::move(done));
  auto completion = [](int rc, const String_vector* strings, const void* raw) {
    std::shared_ptr<Req> req = Req::Take(raw);
    std::vector<std::string> children;
    if (rc == ZOK && strings != nullptr) {
      children.reserve(static_cast<size_t>(strings->count));
      for (int32_t i = 0; i < strings->count; ++i) children.emplace_back(strings->data[i]);
    }
    Req::Deliver(std::move(req), [code = FromLibrary(rc), children = std::move(children)](
                                     ChildrenCallback& callback) { callback(code, children); });
  };
  int rc = ZCLOSING;
  if (handle_ != nullptr) {
    rc = watch ? zoo_awget_children(handle_, path.c_str(), &ZkClientImpl::OnNodeWatch,
                                    context_.get(), completion, request)
               : zoo_awget_children(handle_, path.c_str(), nullptr, nullptr, completion, request);
  }
  if (rc != ZOK) Req::Refused(request, rc, [](ChildrenCallback& cb, ZkCode code) { cb(code, {}); });
}

void ZkClientImpl::GetData(const std::string& path, bool watch, DataCallback done) {
  using Req = Request<DataCallback>;
  auto* request = Req::New(this, std::move(done));
  auto completion = [](int rc, const char* value, int value_len, const Stat* stat,
                       const void* raw) {
    std::shared_ptr<Req> req = Req::Take(raw);
    std::string data;
    if (rc == ZOK && value != nullptr && value_len > 0) {
      data.assign(value, static_cast<size_t>(value_len));
    }
    Req::Deliver(std::move(req),
                 [code = FromLibrary(rc), data = std::move(data), stat = FromLibrary(stat)](
                     DataCallback& callback) { callback(code, data, stat); });
  };
  int rc = ZCLOSING;
  if (handle_ != nullptr) {
    rc = watch ? zoo_awget(handle_, path.c_str(), &ZkClientImpl::OnNodeWatch, context_.get(),
                           completion, request)
               : zoo_awget(handle_, path.c_str(), nullptr, nullptr, completion, request);
  }
  if (rc != ZOK) {
    Req::Refused(request, rc, [](DataCallback& cb, ZkCode code) { cb(code, "", NodeStat{}); });
  }
}

void ZkClientImpl::Exists(const std::string& path, bool watch, StatCallback done) {
  using Req = Request<StatCallback>;
  auto* request = Req::New(this, std::move(done));
  auto completion = [](int rc, const Stat* stat, const void* raw) {
    Req::Deliver(Req::Take(raw), [code = FromLibrary(rc), stat = FromLibrary(stat)](
                                     StatCallback& callback) { callback(code, stat); });
  };
  int rc = ZCLOSING;
  if (handle_ != nullptr) {
    rc = watch ? zoo_awexists(handle_, path.c_str(), &ZkClientImpl::OnNodeWatch, context_.get(),
                              completion, request)
               : zoo_awexists(handle_, path.c_str(), nullptr, nullptr, completion, request);
  }
  if (rc != ZOK) Req::Refused(request, rc, [](StatCallback& cb, ZkCode code) { cb(code, {}); });
}

void ZkClientImpl::Sync(const std::string& path, DoneCallback done) {
  using Req = Request<DoneCallback>;
  auto* request = Req::New(this, std::move(done));
  auto completion = [](int rc, const char* /*path*/, const void* raw) {
    Req::Deliver(Req::Take(raw),
                 [code = FromLibrary(rc)](DoneCallback& callback) { callback(code); });
  };
  int rc = handle_ == nullptr ? ZCLOSING : zoo_async(handle_, path.c_str(), completion, request);
  if (rc != ZOK) Req::Refused(request, rc, [](DoneCallback& cb, ZkCode code) { cb(code); });
}

void ZkClientImpl::Delete(const std::string& path, DoneCallback done) {
  using Req = Request<DoneCallback>;
  auto* request = Req::New(this, std::move(done));
  auto completion = [](int rc, const void* raw) {
    Req::Deliver(Req::Take(raw),
                 [code = FromLibrary(rc)](DoneCallback& callback) { callback(code); });
  };
  int rc =
      handle_ == nullptr ? ZCLOSING : zoo_adelete(handle_, path.c_str(), -1, completion, request);
  if (rc != ZOK) Req::Refused(request, rc, [](DoneCallback& cb, ZkCode code) { cb(code); });
}

void ZkClientImpl::SetData(const std::string& path, const std::string& data, DoneCallback done) {
  using Req = Request<DoneCallback>;
  auto* request = Req::New(this, std::move(done));
  auto completion = [](int rc, const Stat*, const void* raw) {
    Req::Deliver(Req::Take(raw),
                 [code = FromLibrary(rc)](DoneCallback& callback) { callback(code); });
  };
  int rc = handle_ == nullptr ? ZCLOSING
                              : zoo_aset(handle_, path.c_str(), data.data(),
                                         static_cast<int>(data.size()), -1, completion, request);
  if (rc != ZOK) Req::Refused(request, rc, [](DoneCallback& cb, ZkCode code) { cb(code); });
}

}  // namespace zkelect
