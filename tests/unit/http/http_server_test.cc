#include "zkelect/http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_election_control.h"
#include "support/process_state.h"
#include "support/raw_connection.h"
#include "support/temp_dir.h"
#include "zkelect/election/election_control.h"
#include "zkelect/election/node_data.h"
#include "zkelect/http/http_client.h"
#include "zkelect/metrics/metrics.h"

namespace zkelect {
namespace {

using testing::FakeElectionControl;

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using ResignOutcome = ElectionControl::ResignOutcome;

constexpr char kIndexHeader[] = "X-Zkelect-Index";
// A bound in a test only catches a hang (CI runs on a busy 2-core machine
// and under the sanitizers): how fast the server is belongs in bench/.
constexpr seconds kHang{30};

Snapshot FollowerSnapshot() {
  Snapshot snapshot;
  snapshot.id = "node-a";
  snapshot.role = Role::kFollower;
  snapshot.session.state = "connected";
  snapshot.session.session_id = 0x1234;
  snapshot.election_path = "/zkelect/test";
  snapshot.own_node = "_c_aaaa-latch-0000000002";
  snapshot.position = 1;
  snapshot.candidates = {"_c_bbbb-latch-0000000001", "_c_aaaa-latch-0000000002"};
  LeaderView leader;
  leader.identity.id = "node-b";
  leader.identity.address = "10.0.0.2:8080";
  leader.node = "_c_bbbb-latch-0000000001";
  leader.epoch = 77;
  snapshot.leader = leader;
  snapshot.ready = true;
  return snapshot;
}

Snapshot LeaderSnapshot() {
  Snapshot snapshot = FollowerSnapshot();
  snapshot.role = Role::kLeader;
  snapshot.position = 0;
  snapshot.own_node = "_c_bbbb-latch-0000000001";
  snapshot.candidates = {"_c_bbbb-latch-0000000001"};
  snapshot.leader->identity.id = "node-a";
  return snapshot;
}

Snapshot NoLeaderSnapshot() {
  Snapshot snapshot;
  snapshot.id = "node-a";
  snapshot.no_leader_reason = "no_session";
  return snapshot;
}

HttpConfig TestConfig() {
  HttpConfig config;
  config.listen = {"127.0.0.1:0"};
  config.max_waiters = 3;
  config.default_wait = seconds(60);
  config.max_wait = seconds(600);
  return config;
}

// One answer read off a raw socket.
struct RawReply {
  int status = 0;
  std::multimap<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string Header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// Sends `request` as is on a fresh connection and reads one answer (headers,
// then Content-Length bytes of body). status 0 when none came in `timeout`.
RawReply SendRaw(int port, const std::string& request, milliseconds timeout = seconds(5)) {
  RawReply reply;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return reply;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    ::close(fd);
    return reply;
  }
  std::string data;
  size_t header_end = std::string::npos;
  size_t wanted = std::string::npos;
  char buffer[4096];
  while (wanted == std::string::npos || data.size() < wanted) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    data.append(buffer, static_cast<size_t>(n));
    if (header_end == std::string::npos &&
        (header_end = data.find("\r\n\r\n")) != std::string::npos) {
      std::istringstream lines(data.substr(0, header_end));
      std::string line;
      std::getline(lines, line);
      reply.status = std::stoi(line.substr(9, 3));
      while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const size_t colon = line.find(':');
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        reply.headers.emplace(name, line.substr(line.find_first_not_of(' ', colon + 1)));
      }
      const std::string length = reply.Header("content-length");
      const bool head = request.rfind("HEAD ", 0) == 0;  // no body follows
      wanted = header_end + 4 + (length.empty() || head ? 0 : std::stoul(length));
    }
  }
  ::close(fd);
  if (header_end != std::string::npos) {
    reply.body = data.substr(header_end + 4, wanted - header_end - 4);  // this answer only
  }
  return reply;
}

class HttpServerTest : public ::testing::Test {
 protected:
  ~HttpServerTest() override { StopServer(); }

  void StartServer(const HttpConfig& config = TestConfig()) {
    server_ = std::make_unique<HttpServer>(config, board_, control_, metrics_, "9.9.9");
    const Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.message();
    ASSERT_GT(server_->port(), 0);
  }

  // The owner's shutdown order: close the board, then stop the server.
  void StopServer() {
    board_.Close();
    if (server_) server_->Stop();
  }

  std::unique_ptr<httplib::Client> Client(milliseconds read_timeout = 2 * kHang) {
    auto client = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client->set_read_timeout(read_timeout);
    return client;
  }

  // GET, expecting an answer.
  httplib::Result Get(const std::string& target, const httplib::Headers& headers = {}) {
    return Client()->Get(target, headers);
  }

  httplib::Result Post(const std::string& target, const httplib::Headers& headers = {}) {
    return Client()->Post(target, headers, "", "text/plain");
  }

  uint64_t CurrentIndex() const { return board_.Current().index; }

  // Waits (bounded) until `count` long-polls are parked in the server.
  bool AwaitParkedWaiters(int count) {
    const auto deadline = steady_clock::now() + seconds(10);
    while (server_->waiters() < count) {
      if (steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(milliseconds(1));
    }
    return true;
  }

  // TestConfig() on the `tcp` addresses and on the Unix socket socket_path_.
  HttpConfig SocketConfig(std::vector<std::string> tcp) const {
    HttpConfig config = TestConfig();
    config.listen = std::move(tcp);
    config.listen.push_back("unix:" + socket_path_);
    return config;
  }

  StateBoard board_{FollowerSnapshot()};
  FakeElectionControl control_;
  Metrics metrics_;
  std::unique_ptr<HttpServer> server_;
  test::TempDir socket_dir_{"http-unix"};
  const std::string socket_path_ = socket_dir_.Sub("api.sock");
};

void ExpectJsonError(const httplib::Result& result, int status, const std::string& code) {
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, status) << result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  EXPECT_TRUE(result->has_header(kIndexHeader));
  const json body = json::parse(result->body);
  EXPECT_EQ(body["error"]["code"], code) << result->body;
  EXPECT_TRUE(body["error"]["message"].is_string());
}

TEST_F(HttpServerTest, LeaderAnswersWithTheKnownLeader) {
  StartServer();
  const httplib::Result result = Get("/leader");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(result->get_header_value(kIndexHeader), "1");
  const json body = json::parse(result->body);
  EXPECT_EQ(body["leader"]["id"], "node-b");
  EXPECT_EQ(body["leader"]["epoch"], 77);
  EXPECT_EQ(body["is_self"], false);
  EXPECT_EQ(body["index"], 1);
}

TEST_F(HttpServerTest, LeaderAnswers503WithoutALeader) {
  ASSERT_TRUE(board_.Publish(NoLeaderSnapshot()));
  StartServer();
  const httplib::Result result = Get("/leader");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->get_header_value(kIndexHeader), "2");
  EXPECT_EQ(json::parse(result->body),
            json::parse(R"({"leader": null, "reason": "no_session", "index": 2})"));
}

TEST_F(HttpServerTest, StatusShowsTheWholeViewAndVersion) {
  StartServer();
  const httplib::Result result = Get("/status");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  const json body = json::parse(result->body);
  EXPECT_EQ(body["id"], "node-a");
  EXPECT_EQ(body["role"], "follower");
  EXPECT_EQ(body["session"]["id"], "0x1234");
  EXPECT_EQ(body["election"]["position"], 1);
  EXPECT_EQ(body["leader"]["id"], "node-b");
  EXPECT_EQ(body["version"], "9.9.9");
  EXPECT_EQ(body["index"], 1);
}

// Issue 16 point 5: every candidate by its id and address, read on demand
// once and then answered from the cache.
TEST_F(HttpServerTest, StatusNamesEveryCandidateByIdAndReadsEachOnce) {
  control_.SetNodeData("_c_bbbb-latch-0000000001",
                       EncodeNodeData(NodeIdentity{"node-b", "10.0.0.2:8080", {}}));
  control_.SetNodeData("_c_aaaa-latch-0000000002", "raw foreign data");
  StartServer();
  for (int i = 0; i < 3; ++i) {
    const httplib::Result result = Get("/status");
    ASSERT_TRUE(result);
    const json ids = json::parse(result->body)["election"]["candidate_ids"];
    EXPECT_EQ(ids, json::parse(R"([
      {"node": "_c_bbbb-latch-0000000001", "id": "node-b", "address": "10.0.0.2:8080",
       "id_state": "known"},
      {"node": "_c_aaaa-latch-0000000002", "id": "raw foreign data", "address": "",
       "id_state": "known"}])"));
  }
  EXPECT_EQ(control_.reads(), 2u) << "later requests are answered from the cache";
}

// Reads answer later, on the loop's thread: requests at once share them,
// and each answers within its short wait, with the ids or "pending".
TEST_F(HttpServerTest, ConcurrentStatusRequestsShareOneReadPerCandidate) {
  control_.SetNodeData("_c_bbbb-latch-0000000001", EncodeNodeData(NodeIdentity{"node-b", "", {}}));
  control_.SetNodeData("_c_aaaa-latch-0000000002", EncodeNodeData(NodeIdentity{"node-a", "", {}}));
  control_.HoldReads(true);
  StartServer();
  std::vector<std::future<httplib::Result>> requests;
  for (int i = 0; i < 4; ++i) {
    requests.push_back(std::async(std::launch::async, [this] { return Get("/status"); }));
  }
  ASSERT_TRUE(control_.AwaitHeldReads(2));
  for (auto& request : requests) {
    const httplib::Result result = request.get();
    ASSERT_TRUE(result);
    const std::string state =
        json::parse(result->body)["election"]["candidate_ids"][0]["id_state"];
    EXPECT_TRUE(state == "pending" || state == "known") << state;
  }
  EXPECT_EQ(control_.reads(), 2u);
  EXPECT_EQ(control_.AnswerReads(), 2u);
  const httplib::Result result = Get("/status");
  ASSERT_TRUE(result);
  EXPECT_EQ(json::parse(result->body)["election"]["candidate_ids"][1]["id"], "node-a");
  EXPECT_EQ(control_.reads(), 2u);
}

TEST_F(HttpServerTest, StatusReadsNoIdsWhileTheSessionIsNotConnected) {
  Snapshot snapshot = FollowerSnapshot();
  snapshot.session.state = "connecting";
  ASSERT_TRUE(board_.Publish(snapshot));
  StartServer();
  const httplib::Result result = Get("/status");
  ASSERT_TRUE(result);
  EXPECT_EQ(json::parse(result->body)["election"]["candidate_ids"][0]["id_state"], "pending");
  EXPECT_EQ(control_.reads(), 0u);
}

// A parked /status is answered on the hub's thread, which must not wait for
// reads; the node that joined is read and shown by a later answer.
TEST_F(HttpServerTest, ParkedStatusAnswersWithoutWaitingForReads) {
  control_.HoldReads(true);
  StartServer();
  const uint64_t index = CurrentIndex();
  auto parked = std::async(std::launch::async, [&] {
    return Get("/status?index=" + std::to_string(index) + "&wait=60s");
  });
  ASSERT_TRUE(AwaitParkedWaiters(1));
  Snapshot joined = FollowerSnapshot();
  joined.candidates.push_back("_c_cccc-latch-0000000003");
  ASSERT_TRUE(board_.Publish(joined));
  const httplib::Result result = parked.get();
  ASSERT_TRUE(result);
  const json ids = json::parse(result->body)["election"]["candidate_ids"];
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[2]["node"], "_c_cccc-latch-0000000003");
  EXPECT_EQ(ids[2]["id_state"], "pending");
}

TEST_F(HttpServerTest, StatusStaysValidJsonWithArbitraryBytesFromZooKeeper) {
  Snapshot snapshot = FollowerSnapshot();
  snapshot.leader->identity.id = "line1\nline2\xff\xfe";
  snapshot.candidates.push_back("\x01\x80weird");
  control_.SetNodeData("\x01\x80weird", "id\xff\xfe\x01");
  // Cut at 256 bytes in the middle of a UTF-8 sequence.
  control_.SetNodeData("_c_aaaa-latch-0000000002", std::string(255, 'a') + "\xc3\xa9");
  ASSERT_TRUE(board_.Publish(snapshot));
  StartServer();
  for (const std::string path : {"/status", "/leader"}) {
    const httplib::Result result = Get(path);
    ASSERT_TRUE(result);
    EXPECT_TRUE(json::accept(result->body)) << path << ": " << result->body;
  }
}

TEST_F(HttpServerTest, IsLeaderFollowsTheRole) {
  StartServer();
  httplib::Result result = Get("/is-leader");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(json::parse(result->body),
            json::parse(R"({"leader": false, "role": "follower", "index": 1})"));

  ASSERT_TRUE(board_.Publish(LeaderSnapshot()));
  result = Get("/is-leader");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(json::parse(result->body), json::parse(R"({"leader": true, "index": 2})"));
  EXPECT_EQ(result->get_header_value(kIndexHeader), "2");
}

TEST_F(HttpServerTest, HeadIsLeaderHasStatusAndIndexButNoBody) {
  StartServer();
  httplib::Result result = Client()->Head("/is-leader");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_TRUE(result->body.empty());
  EXPECT_EQ(result->get_header_value(kIndexHeader), "1");

  ASSERT_TRUE(board_.Publish(LeaderSnapshot()));
  result = Client()->Head("/is-leader");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value(kIndexHeader), "2");
}

TEST_F(HttpServerTest, HealthzFollowsTheLoopsLiveness) {
  StartServer();
  httplib::Result result = Get("/healthz");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(json::parse(result->body), json::parse(R"({"status": "ok"})"));
  EXPECT_EQ(result->get_header_value(kIndexHeader), "1");

  control_.set_responsive(false);
  result = Get("/healthz");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(json::parse(result->body)["status"], "unresponsive");
}

// A handler that throws gets a 500 JSON error, and the server goes on.
TEST_F(HttpServerTest, AHandlerThatThrowsIsAnswered500AndTheServerGoesOn) {
  StartServer();
  control_.set_fail(true);
  ExpectJsonError(Get("/healthz"), 500, "internal");
  control_.set_fail(false);
  const httplib::Result healthy = Get("/healthz");
  ASSERT_TRUE(healthy);
  EXPECT_EQ(healthy->status, 200);
  const httplib::Result metrics = Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find(R"(zkelect_http_requests_total{path="/healthz",code="500"} 1)"),
            std::string::npos)
      << metrics->body;
}

TEST_F(HttpServerTest, ReadyzFollowsTheSnapshot) {
  StartServer();
  httplib::Result result = Get("/readyz");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(json::parse(result->body)["ready"], true);

  ASSERT_TRUE(board_.Publish(NoLeaderSnapshot()));
  result = Get("/readyz");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  const json body = json::parse(result->body);
  EXPECT_EQ(body["ready"], false);
  EXPECT_EQ(body["role"], "starting");
  EXPECT_EQ(body["reason"], "session_connecting");
  EXPECT_EQ(result->get_header_value(kIndexHeader), "2");
}

TEST_F(HttpServerTest, MetricsAreServedInThePrometheusTextFormat) {
  StartServer();
  const RawReply reply =
      SendRaw(server_->port(), "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(reply.Header("x-zkelect-index"), std::to_string(board_.Current().index));
  EXPECT_NE(reply.body.find("\nzkelect_is_leader 0\n"), std::string::npos) << reply.body;
  // The scrape itself is counted once its answer is written, so a later
  // scrape shows it (the counter is bumped just after the client has read).
  for (int i = 0; i < 2000 && metrics_.http_requests.Value({"/metrics", "200"}) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(metrics_.http_requests.Value({"/metrics", "200"}), 1u);
  EXPECT_NE(
      Get("/metrics")->body.find("zkelect_http_requests_total{path=\"/metrics\",code=\"200\"} 1\n"),
      std::string::npos);
  ExpectJsonError(Post("/metrics"), 405, "method_not_allowed");
}

TEST_F(HttpServerTest, RootServesTheStatusPageWithANonceItsPolicyRequires) {
  StartServer();
  const httplib::Result first = Get("/");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(first->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_TRUE(first->has_header(kIndexHeader));
  const std::string policy = first->get_header_value("Content-Security-Policy");
  const size_t at = policy.find("'nonce-");
  ASSERT_NE(at, std::string::npos) << policy;
  const std::string nonce = policy.substr(at + 7, 32);
  EXPECT_NE(first->body.find("<script nonce=\"" + nonce + "\">"), std::string::npos);
  EXPECT_NE(first->body.find("<style nonce=\"" + nonce + "\">"), std::string::npos);
  EXPECT_EQ(first->body.find("{{NONCE}}"), std::string::npos);
  // A fresh nonce for every answer.
  const httplib::Result second = Get("/");
  ASSERT_TRUE(second);
  EXPECT_NE(second->get_header_value("Content-Security-Policy"), policy);
  // Same Host rule as the API.
  ExpectJsonError(Get("/", {{"Host", "evil.example"}}), 403, "forbidden_host");
  ExpectJsonError(Post("/"), 405, "method_not_allowed");
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  StartServer();
  for (const std::string path : {"/nope", "/leader/", "/LEADER", "/leader/x", "/index.html"}) {
    SCOPED_TRACE(path);
    ExpectJsonError(Get(path), 404, "not_found");
  }
  ExpectJsonError(Post("/nope"), 404, "not_found");
}

TEST_F(HttpServerTest, WrongMethodIs405WithAllow) {
  StartServer();
  httplib::Result result = Post("/leader");
  ExpectJsonError(result, 405, "method_not_allowed");
  EXPECT_EQ(result->get_header_value("Allow"), "GET, HEAD");

  result = Get("/resign");
  ExpectJsonError(result, 405, "method_not_allowed");
  EXPECT_EQ(result->get_header_value("Allow"), "POST");
  EXPECT_TRUE(control_.holds().empty());

  result = Client()->Delete("/status");
  ExpectJsonError(result, 405, "method_not_allowed");
  EXPECT_EQ(result->get_header_value("Allow"), "GET, HEAD");

  result = Client()->Put("/is-leader", "", "text/plain");
  ExpectJsonError(result, 405, "method_not_allowed");

  result = Client()->Options("/healthz");
  ExpectJsonError(result, 405, "method_not_allowed");

  const RawReply trace =
      SendRaw(server_->port(), "TRACE /leader HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(trace.status, 405);
  EXPECT_EQ(trace.Header("allow"), "GET, HEAD");
  EXPECT_EQ(json::parse(trace.body)["error"]["code"], "method_not_allowed");
}

TEST_F(HttpServerTest, OversizedBodyIs413) {
  StartServer();
  const httplib::Result result =
      Client()->Post("/resign", std::string(100 * 1024, 'x'), "text/plain");
  ExpectJsonError(result, 413, "payload_too_large");
  EXPECT_TRUE(control_.holds().empty());
}

TEST_F(HttpServerTest, ChunkedBodyIsRefusedBeforeItIsRead) {
  StartServer();
  std::string request =
      "POST /resign HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 100; ++i) request += "400\r\n" + std::string(1024, 'x') + "\r\n";
  request += "0\r\n\r\n";
  const RawReply reply = SendRaw(server_->port(), request);
  EXPECT_EQ(reply.status, 411);
  EXPECT_EQ(reply.Header("connection"), "close");
  EXPECT_EQ(json::parse(reply.body)["error"]["code"], "length_required");
  EXPECT_TRUE(control_.holds().empty());
}

// Regression: the HTTP library reads a POST without Content-Length until the
// client closes, so `curl -X POST .../resign` hung for the read timeout.
TEST_F(HttpServerTest, PostWithoutContentLengthAnswersAtOnce) {
  StartServer();
  const auto start = steady_clock::now();
  const RawReply reply =
      SendRaw(server_->port(), "POST /resign?hold=1s HTTP/1.1\r\nHost: localhost\r\n\r\n", kHang);
  EXPECT_EQ(reply.status, 200);
  EXPECT_LT(steady_clock::now() - start, kHang);
  EXPECT_EQ(json::parse(reply.body), json::parse(R"({"resigned": true, "hold_ms": 1000})"));
}

// Regression: the HTTP library honours Range by cutting the JSON body.
TEST_F(HttpServerTest, RangeHeaderIsIgnored) {
  StartServer();
  const httplib::Result result = Get("/leader", {{"Range", "bytes=0-3"}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_FALSE(result->has_header("Content-Range"));
  EXPECT_TRUE(json::accept(result->body)) << result->body;
}

TEST_F(HttpServerTest, MalformedRequestIs400Json) {
  StartServer();
  const RawReply reply = SendRaw(server_->port(), "GARBAGE\r\n\r\n");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.Header("content-type"), "application/json");
  EXPECT_EQ(reply.Header("x-zkelect-index"), "1");
  EXPECT_EQ(json::parse(reply.body)["error"]["code"], "bad_request");
}

TEST_F(HttpServerTest, EveryAnswerCarriesTheIndex) {
  ASSERT_TRUE(board_.Publish(NoLeaderSnapshot()));
  StartServer();
  const std::string host = "Host: 127.0.0.1\r\n";
  const std::vector<std::pair<std::string, int>> cases = {
      {"GET /leader HTTP/1.1\r\n" + host + "\r\n", 503},
      {"GET /status HTTP/1.1\r\n" + host + "\r\n", 200},
      {"GET /is-leader HTTP/1.1\r\n" + host + "\r\n", 503},
      {"HEAD /is-leader HTTP/1.1\r\n" + host + "\r\n", 503},
      {"GET /healthz HTTP/1.1\r\n" + host + "\r\n", 200},
      {"GET /readyz HTTP/1.1\r\n" + host + "\r\n", 503},
      {"GET /nowhere HTTP/1.1\r\n" + host + "\r\n", 404},
      {"DELETE /leader HTTP/1.1\r\n" + host + "\r\n", 405},
      {"GET /leader?wait=xyz HTTP/1.1\r\n" + host + "\r\n", 400},
      {"GET /leader HTTP/1.1\r\nHost: evil.example\r\n\r\n", 403},
      {"POST /resign HTTP/1.1\r\n" + host + "Content-Length: 70000\r\n\r\n" +
           std::string(70000, 'x'),
       413},
      {"POST /resign HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411},
      {"NONSENSE\r\n\r\n", 400},
      {"GET /" + std::string(10000, 'a') + " HTTP/1.1\r\n" + host + "\r\n", 414},
  };
  for (const auto& [request, status] : cases) {
    SCOPED_TRACE(request.substr(0, 60));
    const RawReply reply = SendRaw(server_->port(), request);
    EXPECT_EQ(reply.status, status);
    EXPECT_EQ(reply.Header("x-zkelect-index"), "2");
    EXPECT_EQ(reply.headers.count("x-zkelect-index"), 1u);
    EXPECT_EQ(reply.Header("content-type"), "application/json");
    if (request.rfind("HEAD ", 0) != 0) {
      EXPECT_EQ(reply.Header("content-length"), std::to_string(reply.body.size()));
      EXPECT_TRUE(json::accept(reply.body)) << reply.body;
    }
  }
}

TEST_F(HttpServerTest, BadParametersAre400WithAClearMessage) {
  StartServer();
  httplib::Result result = Get("/leader?index=1&wait=abc");
  ExpectJsonError(result, 400, "bad_request");
  EXPECT_EQ(json::parse(result->body)["error"]["message"],
            "wait = \"abc\": expected a duration like 250ms, 6s or 1m30s");

  ExpectJsonError(Get("/status?index=-3"), 400, "bad_request");
  ExpectJsonError(Get("/is-leader?index=1&index=2"), 400, "bad_request");
  ExpectJsonError(Post("/resign?hold=forever"), 400, "bad_request");
  EXPECT_TRUE(control_.holds().empty());

  // Unknown parameters are ignored.
  result = Get("/leader?foo=bar&pretty");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
}

TEST_F(HttpServerTest, LongPollAnswersWhenTheBoardChanges) {
  StartServer();
  const auto start = steady_clock::now();
  auto poll = std::async(std::launch::async, [&] { return Get("/leader?index=1&wait=10m"); });
  ASSERT_TRUE(AwaitParkedWaiters(1));
  ASSERT_TRUE(board_.Publish(LeaderSnapshot()));
  const httplib::Result result = poll.get();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value(kIndexHeader), "2");
  EXPECT_EQ(json::parse(result->body)["is_self"], true);
  EXPECT_LT(steady_clock::now() - start, kHang);
}

TEST_F(HttpServerTest, LongPollOnEachEndpoint) {
  StartServer();
  auto leader = std::async(std::launch::async, [&] { return Get("/leader?index=1&wait=30s"); });
  auto status = std::async(std::launch::async, [&] { return Get("/status?index=1&wait=30s"); });
  auto is_leader =
      std::async(std::launch::async, [&] { return Get("/is-leader?index=1&wait=30s"); });
  ASSERT_TRUE(AwaitParkedWaiters(3));
  ASSERT_TRUE(board_.Publish(LeaderSnapshot()));
  for (auto* poll : {&leader, &status, &is_leader}) {
    const httplib::Result result = poll->get();
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
    EXPECT_EQ(result->get_header_value(kIndexHeader), "2");
    EXPECT_EQ(json::parse(result->body)["index"], 2);
  }
}

// A follower's view changes several times during a leader change (the old
// leader's node goes, positions move, then the new leader): /leader and
// /is-leader waiters answer when their own answer changes, /status waiters
// at the first change.
TEST_F(HttpServerTest, LongPollsAnswerWhenTheirEndpointsAnswerChanges) {
  StartServer();
  auto leader = std::async(std::launch::async, [&] { return Get("/leader?index=1&wait=30s"); });
  auto status = std::async(std::launch::async, [&] { return Get("/status?index=1&wait=30s"); });
  auto is_leader =
      std::async(std::launch::async, [&] { return Get("/is-leader?index=1&wait=30s"); });
  ASSERT_TRUE(AwaitParkedWaiters(3));

  Snapshot candidates_moved = FollowerSnapshot();
  candidates_moved.candidates.pop_back();
  ASSERT_TRUE(board_.Publish(candidates_moved));  // index 2: the same leader and role
  const httplib::Result status_result = status.get();
  ASSERT_TRUE(status_result);
  EXPECT_EQ(status_result->get_header_value(kIndexHeader), "2");
  ASSERT_TRUE(AwaitParkedWaiters(2));  // the others still parked

  Snapshot new_leader = FollowerSnapshot();
  new_leader.leader->identity.id = "node-c";
  new_leader.leader->node = "_c_cccc-latch-0000000003";
  ASSERT_TRUE(board_.Publish(new_leader));  // index 3: /leader changes
  const httplib::Result leader_result = leader.get();
  ASSERT_TRUE(leader_result);
  EXPECT_EQ(leader_result->get_header_value(kIndexHeader), "3");
  EXPECT_EQ(json::parse(leader_result->body)["leader"]["id"], "node-c");
  ASSERT_TRUE(AwaitParkedWaiters(1));

  ASSERT_TRUE(board_.Publish(LeaderSnapshot()));  // index 4: this node leads
  const httplib::Result is_leader_result = is_leader.get();
  ASSERT_TRUE(is_leader_result);
  EXPECT_EQ(is_leader_result->status, 200);
  EXPECT_EQ(is_leader_result->get_header_value(kIndexHeader), "4");
  EXPECT_EQ(json::parse(is_leader_result->body)["index"], 4);
}

// Answers are rendered once per view and shared: each endpoint keeps its
// own, and a request after a change gets the new one.
TEST_F(HttpServerTest, SharedAnswersFollowTheBoardAndStayPerEndpoint) {
  StartServer();
  for (int round = 0; round < 2; ++round) {
    const std::string index = std::to_string(CurrentIndex());
    const httplib::Result leader = Get("/leader");
    const httplib::Result is_leader = Get("/is-leader");
    ASSERT_TRUE(leader);
    ASSERT_TRUE(is_leader);
    EXPECT_EQ(leader->get_header_value(kIndexHeader), index);
    EXPECT_EQ(is_leader->get_header_value(kIndexHeader), index);
    EXPECT_TRUE(json::parse(leader->body).contains("is_self")) << leader->body;
    EXPECT_FALSE(json::parse(is_leader->body).contains("is_self")) << is_leader->body;
    EXPECT_EQ(json::parse(is_leader->body)["leader"], round == 1) << is_leader->body;
    EXPECT_EQ(json::parse(leader->body)["is_self"], round == 1) << leader->body;
    if (round == 0) {
      ASSERT_TRUE(board_.Publish(LeaderSnapshot()));
    }
  }
}

TEST_F(HttpServerTest, LongPollTimesOutWithTheCurrentState) {
  StartServer();
  const auto start = steady_clock::now();
  const httplib::Result result = Get("/is-leader?index=1&wait=300ms");
  ASSERT_TRUE(result);
  EXPECT_GE(steady_clock::now() - start, milliseconds(300));
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->get_header_value(kIndexHeader), "1");
}

TEST_F(HttpServerTest, WaitIsCappedAtMaxWait) {
  HttpConfig config = TestConfig();
  config.max_wait = milliseconds(200);
  StartServer(config);
  const auto start = steady_clock::now();
  const httplib::Result result = Get("/leader?index=1&wait=10m");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_LT(steady_clock::now() - start, kHang);
}

TEST_F(HttpServerTest, DefaultWaitAppliesWithoutWait) {
  HttpConfig config = TestConfig();
  config.default_wait = milliseconds(200);
  StartServer(config);
  const auto start = steady_clock::now();
  const httplib::Result result = Get("/leader?index=1");
  ASSERT_TRUE(result);
  EXPECT_GE(steady_clock::now() - start, milliseconds(200));
  EXPECT_LT(steady_clock::now() - start, kHang);
}

TEST_F(HttpServerTest, LongPollWithAnOlderOrFutureIndexAnswersAtOnce) {
  ASSERT_TRUE(board_.Publish(LeaderSnapshot()));  // index 2
  StartServer();
  const auto start = steady_clock::now();
  // Older: the client missed a change. Newer: the daemon restarted since.
  for (const std::string index : {"0", "1", "3", "999999"}) {
    const httplib::Result result = Get("/leader?wait=10m&index=" + index);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->get_header_value(kIndexHeader), "2");
  }
  EXPECT_LT(steady_clock::now() - start, kHang);
}

TEST_F(HttpServerTest, WaiterCapKeepsShortRequestsServed) {
  HttpConfig config = TestConfig();
  config.max_waiters = 4;
  StartServer(config);
  std::vector<std::future<httplib::Result>> polls;
  for (int i = 0; i < config.max_waiters; ++i) {
    polls.push_back(
        std::async(std::launch::async, [&] { return Get("/status?index=1&wait=60s"); }));
  }
  ASSERT_TRUE(AwaitParkedWaiters(config.max_waiters));

  // All waiter places are taken: short requests still answer at once...
  for (const std::string path : {"/healthz", "/is-leader", "/readyz", "/leader"}) {
    const auto start = steady_clock::now();
    const httplib::Result result = Get(path);
    ASSERT_TRUE(result) << path;
    EXPECT_LT(steady_clock::now() - start, kHang) << path;
  }
  const auto start = steady_clock::now();
  EXPECT_EQ(Post("/resign")->status, 200);
  EXPECT_LT(steady_clock::now() - start, kHang);

  // ...and one more long-poll is refused, not parked.
  const auto refused_start = steady_clock::now();
  const httplib::Result refused = Get("/leader?index=1&wait=60s");
  ExpectJsonError(refused, 503, "too_many_waiters");
  EXPECT_LT(steady_clock::now() - refused_start, kHang);

  ASSERT_TRUE(board_.Publish(LeaderSnapshot()));
  for (auto& poll : polls) {
    const httplib::Result result = poll.get();
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
  }
  // The places are free again.
  const httplib::Result again = Get("/leader?index=2&wait=10ms");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST_F(HttpServerTest, StopWakesParkedLongPollsPromptly) {
  StartServer();
  std::vector<std::future<httplib::Result>> polls;
  for (int i = 0; i < 3; ++i) {
    polls.push_back(
        std::async(std::launch::async, [&] { return Get("/leader?index=1&wait=10m"); }));
  }
  ASSERT_TRUE(AwaitParkedWaiters(3));
  const auto start = steady_clock::now();
  StopServer();
  EXPECT_LT(steady_clock::now() - start, kHang);
  EXPECT_EQ(server_->waiters(), 0);
  for (auto& poll : polls) {
    const httplib::Result result = poll.get();
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
  }
}

// The long-poll hub answers what is parked when the server stops, whether
// or not the owner closed the board first.
TEST_F(HttpServerTest, StopAnswersParkedLongPollsWithoutTheBoardClosed) {
  StartServer();
  std::vector<std::future<httplib::Result>> polls;
  for (const std::string path : {"/leader", "/status", "/is-leader"}) {
    polls.push_back(
        std::async(std::launch::async, [this, path] { return Get(path + "?index=1&wait=10m"); }));
  }
  ASSERT_TRUE(AwaitParkedWaiters(3));
  const auto start = steady_clock::now();
  server_->Stop();
  EXPECT_LT(steady_clock::now() - start, kHang);
  EXPECT_EQ(server_->waiters(), 0);
  for (auto& poll : polls) {
    const httplib::Result result = poll.get();
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->status == 200 || result->status == 503) << result->body;
    EXPECT_EQ(result->get_header_value(kIndexHeader), "1") << "the view, unchanged";
  }
}

TEST_F(HttpServerTest, StopIsIdempotentAndRefusesNewConnections) {
  StartServer();
  const int port = server_->port();
  server_->Stop();
  server_->Stop();
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(seconds(1));
  EXPECT_FALSE(client.Get("/healthz"));
}

TEST_F(HttpServerTest, StopDoesNotWaitLongForAnIdleKeepAliveConnection) {
  StartServer();
  httplib::Client client("127.0.0.1", server_->port());
  client.set_keep_alive(true);
  ASSERT_TRUE(client.Get("/healthz"));
  const auto start = steady_clock::now();
  StopServer();
  EXPECT_LT(steady_clock::now() - start, seconds(4));
}

TEST_F(HttpServerTest, StartAfterStopOrTwiceIsRefused) {
  StartServer();
  EXPECT_EQ(server_->Start().code(), Status::Code::kInternal);
  HttpServer stopped(TestConfig(), board_, control_, metrics_, "v");
  stopped.Stop();
  EXPECT_EQ(stopped.Start().code(), Status::Code::kInternal);
}

TEST_F(HttpServerTest, StopWithoutStartIsFine) {
  HttpServer server(TestConfig(), board_, control_, metrics_, "v");
  server.Stop();
}

TEST_F(HttpServerTest, KeepAliveConnectionsServeSeveralRequests) {
  StartServer();
  httplib::Client client("127.0.0.1", server_->port());
  client.set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {
    const httplib::Result result = client.Get("/healthz");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
  }
}

TEST_F(HttpServerTest, ListenAddressAndPort) {
  StartServer();
  EXPECT_EQ(server_->listen_address(), "127.0.0.1:" + std::to_string(server_->port()));
}

TEST_F(HttpServerTest, StartFailsOnABusyPortAndNamesTheAddress) {
  StartServer();
  HttpConfig config = TestConfig();
  config.listen = {"127.0.0.1:" + std::to_string(server_->port())};
  HttpServer second(config, board_, control_, metrics_, "v");
  const Status status = second.Start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_NE(status.message().find(config.listen.front()), std::string::npos) << status.message();
}

TEST_F(HttpServerTest, StartRejectsAMalformedListenAddress) {
  for (const std::string listen : {"", "127.0.0.1", "127.0.0.1:99999", "::1:80", "host:port"}) {
    HttpConfig config = TestConfig();
    config.listen = {listen};
    HttpServer server(config, board_, control_, metrics_, "v");
    const Status status = server.Start();
    ASSERT_FALSE(status.ok()) << listen;
    EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
    EXPECT_NE(status.message().find("http.listen = \"" + listen + "\""), std::string::npos)
        << status.message();
  }
  HttpConfig none = TestConfig();
  none.listen.clear();
  HttpServer server(none, board_, control_, metrics_, "v");
  EXPECT_EQ(server.Start().code(), Status::Code::kInvalidArgument);
  // A bad address after a good socket: nothing stays bound, the file is gone.
  HttpConfig half = SocketConfig({});
  half.listen.push_back("host:port");
  HttpServer partly(half, board_, control_, metrics_, "v");
  EXPECT_EQ(partly.Start().code(), Status::Code::kInvalidArgument);
  struct stat st {};
  EXPECT_NE(::stat(socket_path_.c_str(), &st), 0) << "a refused start left its socket file";
}

// One request over the Unix-domain socket at `path`, through the client
// that the zkelect commands use.
// `authority` is the Host header's value.
ClientResponse FetchOverSocket(const std::string& path, const std::string& method,
                               const std::string& target,
                               const std::vector<std::pair<std::string, std::string>>& headers = {},
                               const std::string& authority = "localhost") {
  ClientRequest request;
  request.method = method;
  request.unix_path = path;
  request.authority = authority;
  request.target = target;
  request.headers = headers;
  HttpLimits limits;
  limits.deadline = steady_clock::now() + 2 * kHang;
  HttpResult result = FetchHttp(request, limits);
  if (const HttpFailure* failure = std::get_if<HttpFailure>(&result)) {
    ADD_FAILURE() << method << " " << target << " over " << path << ": " << failure->detail;
    return {};
  }
  return std::get<ClientResponse>(std::move(result));
}

TEST_F(HttpServerTest, EveryEndpointIsServedOverAUnixSocketToo) {
  const std::string& path = socket_path_;
  HttpConfig config = SocketConfig({"127.0.0.1:0"});
  config.socket_mode = 0600;
  StartServer(config);
  EXPECT_EQ(server_->listen_urls(),
            "http://127.0.0.1:" + std::to_string(server_->port()) + " and unix:" + path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const ClientResponse leader = FetchOverSocket(path, "GET", "/leader");
  EXPECT_EQ(leader.status, 200) << leader.body;
  EXPECT_EQ(json::parse(leader.body)["leader"]["id"], "node-b");
  EXPECT_EQ(FetchOverSocket(path, "GET", "/status").status, 200);
  EXPECT_EQ(FetchOverSocket(path, "GET", "/metrics").status, 200);

  // A long-poll parks there as on TCP, and hears the change.
  auto poll = std::async(std::launch::async,
                         [&] { return FetchOverSocket(path, "GET", "/leader?index=1&wait=10m"); });
  ASSERT_TRUE(AwaitParkedWaiters(1));
  ASSERT_TRUE(board_.Publish(LeaderSnapshot()));
  const ClientResponse changed = poll.get();
  EXPECT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(json::parse(changed.body)["is_self"], true);

  // A cross-site POST is refused there too; a plain one is served.
  const ClientResponse forged =
      FetchOverSocket(path, "POST", "/resign", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(forged.status, 403) << forged.body;
  EXPECT_EQ(FetchOverSocket(path, "POST", "/resign").status, 200);
  EXPECT_EQ(control_.holds().size(), 1u);

  StopServer();
  EXPECT_NE(::stat(path.c_str(), &st), 0) << "the socket file outlived the server";
}

TEST_F(HttpServerTest, DeadLongPollOverAUnixSocketGivesItsSlotBack) {
  const std::string& path = socket_path_;
  server_ = std::make_unique<HttpServer>(SocketConfig({}), board_, control_, metrics_, "9.9.9");
  ASSERT_TRUE(server_->Start().ok());
  EXPECT_EQ(server_->port(), 0);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  const std::string poll = "GET /leader?index=1&wait=10m HTTP/1.1\r\nHost: localhost\r\n\r\n";
  ASSERT_EQ(::send(fd, poll.data(), poll.size(), MSG_NOSIGNAL), static_cast<ssize_t>(poll.size()));
  ASSERT_TRUE(AwaitParkedWaiters(1));
  ::close(fd);
  const auto deadline = steady_clock::now() + seconds(20);
  while (server_->waiters() > 0 && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(server_->waiters(), 0) << "a dead long-poll over the socket still holds its slot";
}

TEST_F(HttpServerTest, OverAUnixSocketAnyHostAndATokenlessPostAreFine) {
  const std::string& path = socket_path_;
  StartServer(SocketConfig({"0.0.0.0:0"}));
  // Beyond loopback, TCP needs a token; the socket's file mode guards it.
  ExpectJsonError(Post("/resign"), 403, "token_required");
  EXPECT_EQ(FetchOverSocket(path, "POST", "/resign", {}, "evil.example").status, 200);
  EXPECT_EQ(FetchOverSocket(path, "GET", "/leader", {}, "evil.example").status, 200);
}

TEST_F(HttpServerTest, SecondServerOnTheSameSocketIsRefusedAndLeavesTheFirstOne) {
  const std::string& path = socket_path_;
  const HttpConfig config = SocketConfig({"127.0.0.1:0"});
  StartServer(config);
  HttpServer second(config, board_, control_, metrics_, "v");
  const Status status = second.Start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_NE(status.message().find("unix:" + path), std::string::npos) << status.message();
  EXPECT_EQ(FetchOverSocket(path, "GET", "/healthz").status, 200);
}

TEST_F(HttpServerTest, ForeignHostNamesAreRefused) {
  HttpConfig config = TestConfig();
  config.allowed_hosts = {"app.internal"};
  StartServer(config);
  for (const std::string host : {"evil.example", "evil.example:4040", "localhost.evil.example"}) {
    SCOPED_TRACE(host);
    ExpectJsonError(Get("/leader", {{"Host", host}}), 403, "forbidden_host");
    ExpectJsonError(Post("/resign", {{"Host", host}}), 403, "forbidden_host");
  }
  EXPECT_TRUE(control_.holds().empty());
  for (const std::string host : {"localhost:1234", "127.0.0.1", "[::1]:80", "APP.internal:9"}) {
    const httplib::Result result = Get("/leader", {{"Host", host}});
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200) << host;
  }
  const RawReply no_host = SendRaw(server_->port(), "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(no_host.status, 200);
  const RawReply two_hosts = SendRaw(
      server_->port(), "GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n");
  EXPECT_EQ(two_hosts.status, 400);
}

TEST_F(HttpServerTest, ResignDone) {
  StartServer();
  const httplib::Result result = Post("/resign?hold=5s");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(json::parse(result->body), json::parse(R"({"resigned": true, "hold_ms": 5000})"));
  EXPECT_EQ(control_.holds(), std::vector<milliseconds>{milliseconds(5000)});
  EXPECT_EQ(result->get_header_value(kIndexHeader), "1");
}

TEST_F(HttpServerTest, ResignHoldDefaultsToZero) {
  StartServer();
  EXPECT_EQ(Post("/resign")->status, 200);
  EXPECT_EQ(control_.holds(), std::vector<milliseconds>{milliseconds(0)});
}

TEST_F(HttpServerTest, ResignOnAFollowerIs409) {
  control_.AnswerWith(ResignOutcome::kNotLeader);
  StartServer();
  const httplib::Result result = Post("/resign");
  ExpectJsonError(result, 409, "not_leader");
  EXPECT_NE(json::parse(result->body)["error"]["message"].get<std::string>().find("follower"),
            std::string::npos);
}

TEST_F(HttpServerTest, ResignWhileShuttingDownIs503) {
  control_.AnswerWith(ResignOutcome::kShuttingDown);
  StartServer();
  ExpectJsonError(Post("/resign"), 503, "shutting_down");
}

TEST_F(HttpServerTest, ResignWaitsForTheLoopsAnswer) {
  control_.AnswerWith(std::nullopt);
  StartServer();
  auto resign = std::async(std::launch::async, [&] { return Post("/resign?hold=250ms"); });
  ASSERT_TRUE(control_.AwaitPending(1));
  EXPECT_EQ(resign.wait_for(milliseconds(50)), std::future_status::timeout);
  control_.FinishPending(ResignOutcome::kDone);
  const httplib::Result result = resign.get();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(json::parse(result->body)["hold_ms"], 250);
}

TEST_F(HttpServerTest, PendingResignsAreCappedAndKeepProbesServed) {
  control_.AnswerWith(std::nullopt);
  StartServer();
  std::vector<std::future<httplib::Result>> resigns;
  for (int i = 0; i < 4; ++i) {
    resigns.push_back(std::async(std::launch::async, [&] { return Post("/resign"); }));
  }
  ASSERT_TRUE(control_.AwaitPending(4));
  ExpectJsonError(Post("/resign"), 503, "too_many_resigns");
  for (const std::string path : {"/healthz", "/is-leader"}) {
    const auto start = steady_clock::now();
    ASSERT_TRUE(Get(path)) << path;
    EXPECT_LT(steady_clock::now() - start, kHang) << path;
  }
  control_.FinishPending(ResignOutcome::kNotLeader);
  for (auto& resign : resigns) ExpectJsonError(resign.get(), 409, "not_leader");
}

TEST_F(HttpServerTest, StopAnswersAPendingResign) {
  control_.AnswerWith(std::nullopt);
  StartServer();
  auto resign = std::async(std::launch::async, [&] { return Post("/resign"); });
  ASSERT_TRUE(control_.AwaitPending(1));
  const auto start = steady_clock::now();
  StopServer();
  EXPECT_LT(steady_clock::now() - start, kHang);
  ExpectJsonError(resign.get(), 503, "shutting_down");
  // The loop may still answer later; nothing must break.
  control_.FinishPending(ResignOutcome::kDone);
}

TEST_F(HttpServerTest, TokenGuardsPostButNotGet) {
  HttpConfig config = TestConfig();
  config.token = "s3cret";
  StartServer(config);

  httplib::Result result = Post("/resign");
  ExpectJsonError(result, 401, "unauthorized");
  EXPECT_EQ(result->get_header_value("WWW-Authenticate"), "Bearer realm=\"zkelect\"");
  ExpectJsonError(Post("/resign", {{"Authorization", "Bearer wrong"}}), 401, "unauthorized");
  ExpectJsonError(Post("/resign", {{"Authorization", "Basic czNjcmV0"}}), 401, "unauthorized");
  EXPECT_TRUE(control_.holds().empty());

  result = Post("/resign", {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(control_.holds().size(), 1u);

  for (const std::string path : {"/leader", "/status", "/healthz", "/readyz"}) {
    result = Get(path);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200) << path;
  }
}

TEST_F(HttpServerTest, WithdrawAndJoinNeedTheTokenAndAreIdempotent) {
  HttpConfig config = TestConfig();
  config.token = "s3cret";
  StartServer(config);
  for (const std::string path : {"/withdraw", "/join"}) {
    ExpectJsonError(Post(path), 401, "unauthorized");
    ExpectJsonError(Post(path, {{"Authorization", "Bearer wrong"}}), 401, "unauthorized");
    ExpectJsonError(Post(path, {{"Authorization", "Bearer s3cret"}, {"Origin", "null"}}), 403,
                    "cross_site_request");
  }
  EXPECT_TRUE(control_.maintenance_calls().empty());
  const httplib::Headers token = {{"Authorization", "Bearer s3cret"}};
  for (int i = 0; i < 2; ++i) {
    httplib::Result result = Post("/withdraw", token);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
    EXPECT_EQ(json::parse(result->body), json::parse(R"({"maintenance": true})"));
  }
  httplib::Result result = Post("/join", token);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(json::parse(result->body), json::parse(R"({"maintenance": false})"));
  EXPECT_EQ(control_.maintenance_calls(), (std::vector<bool>{true, true, false}));
  EXPECT_EQ(Get("/withdraw")->status, 405);
}

TEST_F(HttpServerTest, WithdrawOnAnObserverIs409) {
  control_.AnswerWith(ResignOutcome::kObserver);
  StartServer();
  ExpectJsonError(Post("/withdraw"), 409, "observer");
  ExpectJsonError(Post("/join"), 409, "observer");
}

TEST_F(HttpServerTest, WithdrawWhileShuttingDownIs503AndAnUnsavedStateIs500) {
  control_.AnswerWith(ResignOutcome::kShuttingDown);
  StartServer();
  ExpectJsonError(Post("/withdraw"), 503, "shutting_down");
  control_.AnswerWith(ResignOutcome::kNotSaved);
  ExpectJsonError(Post("/join"), 500, "state_not_saved");
}

TEST_F(HttpServerTest, WithdrawWaitsForTheLoopsAnswer) {
  control_.AnswerWith(std::nullopt);
  StartServer();
  auto withdraw = std::async(std::launch::async, [&] { return Post("/withdraw"); });
  ASSERT_TRUE(control_.AwaitPending(1));
  EXPECT_EQ(withdraw.wait_for(milliseconds(50)), std::future_status::timeout);
  control_.FinishPending(ResignOutcome::kDone);
  const httplib::Result result = withdraw.get();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
}

// A live reload: the new token, allowed hosts and long-poll limits apply to
// the next request; the listener stays.
TEST_F(HttpServerTest, ReconfigureChangesTokenHostsAndLimitsForTheNextRequest) {
  HttpConfig config = TestConfig();
  config.token = "old-token";
  StartServer(config);
  const int port = server_->port();
  ExpectJsonError(Get("/healthz", {{"Host", "app.example.com"}}), 403, "forbidden_host");

  config.token = "new-token";
  config.allowed_hosts = {"app.example.com"};
  config.max_waiters = 7;
  server_->Reconfigure(config);
  EXPECT_EQ(server_->port(), port);
  ExpectJsonError(Post("/resign", {{"Authorization", "Bearer old-token"}}), 401, "unauthorized");
  EXPECT_EQ(Post("/resign", {{"Authorization", "Bearer new-token"}})->status, 200);
  EXPECT_EQ(Get("/healthz", {{"Host", "app.example.com"}})->status, 200);
  const httplib::Result status = Get("/status");
  ASSERT_TRUE(status);
  EXPECT_EQ(json::parse(status->body)["http"]["max_waiters"], 7);
}

TEST_F(HttpServerTest, BeyondLoopbackPostNeedsAToken) {
  HttpConfig config = TestConfig();
  config.listen = {"0.0.0.0:0"};
  StartServer(config);
  const httplib::Result result = Post("/resign");
  ExpectJsonError(result, 403, "token_required");
  EXPECT_TRUE(control_.holds().empty());
  EXPECT_EQ(Get("/leader")->status, 200);
}

TEST_F(HttpServerTest, BeyondLoopbackWithATokenAllowsPost) {
  HttpConfig config = TestConfig();
  config.listen = {"0.0.0.0:0"};
  config.token = "s3cret";
  StartServer(config);
  EXPECT_EQ(Post("/resign", {{"Authorization", "Bearer s3cret"}})->status, 200);
  ExpectJsonError(Post("/resign"), 401, "unauthorized");
}

// Issue 20 point 2: a browser form on any web page posted to /resign with
// its own Origin and the leader stepped down for 100 days.
TEST_F(HttpServerTest, CrossSiteRequestForgeryOnResignIsRefused) {
  StartServer();
  const std::string host = "127.0.0.1:" + std::to_string(server_->port());
  const httplib::Headers browser_form = {{"Origin", "https://evil.example"},
                                         {"Sec-Fetch-Site", "cross-site"}};
  const httplib::Result forged =
      Client()->Post("/resign?hold=2400h", browser_form, "", "application/x-www-form-urlencoded");
  ExpectJsonError(forged, 403, "cross_site_request");
  EXPECT_NE(forged->body.find("https://evil.example"), std::string::npos) << forged->body;
  ExpectJsonError(Post("/resign", {{"Origin", "null"}}), 403, "cross_site_request");
  ExpectJsonError(Post("/resign", {{"Sec-Fetch-Site", "cross-site"}}), 403, "cross_site_request");
  ExpectJsonError(Post("/resign", {{"Origin", "http://localhost:1"}, {"Host", host}}), 403,
                  "cross_site_request");
  const RawReply two_origins =
      SendRaw(server_->port(), "POST /resign HTTP/1.1\r\nHost: " + host + "\r\nOrigin: http://" +
                                   host + "\r\nOrigin: https://evil.example\r\n\r\n");
  EXPECT_EQ(two_origins.status, 403);
  EXPECT_TRUE(control_.holds().empty()) << "a forged request reached the election loop";

  // Reads are not state-changing: a page may look (CORS keeps it from
  // reading the answer).
  EXPECT_EQ(Get("/leader", browser_form)->status, 200);

  // What curl and `zkelect resign` send (neither header), and a page of the
  // daemon's own origin, still work.
  EXPECT_EQ(Post("/resign")->status, 200);
  EXPECT_EQ(
      Post("/resign", {{"Origin", "http://" + host}, {"Sec-Fetch-Site", "same-origin"}})->status,
      200);
  EXPECT_EQ(control_.holds().size(), 2u);
}

// Issue 20 point 3: clients that parked a long-poll and then went away
// (reset, or half-closed) kept their slots until the wait ran out (10 min),
// and every legitimate long-poll got 503 too_many_waiters meanwhile.
TEST_F(HttpServerTest, DeadLongPollsKeepTheirSlots) {
  StartServer();  // max_waiters 3
  const int fds_before = test::OpenDescriptors(::getpid());
  const std::string poll = "GET /leader?index=1&wait=10m HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  std::vector<test::RawConnection> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back(static_cast<uint16_t>(server_->port()));
    ASSERT_TRUE(clients.back().Send(poll));
  }
  ASSERT_TRUE(AwaitParkedWaiters(3));
  clients[0].Reset();
  clients[1].Reset();
  clients[2].ShutdownWrite();  // gone too: it asked and will not wait for the answer

  const auto deadline = steady_clock::now() + seconds(20);
  while (server_->waiters() > 0 && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(server_->waiters(), 0) << "dead long-polls still hold their slots";
  clients.clear();
  // Their descriptors are closed too.
  while (test::OpenDescriptors(::getpid()) > fds_before && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_LE(test::OpenDescriptors(::getpid()), fds_before);

  // A live client parks again, and hears the change.
  auto live = std::async(std::launch::async, [&] { return Get("/leader?index=1&wait=10m"); });
  ASSERT_TRUE(AwaitParkedWaiters(1));
  ASSERT_TRUE(board_.Publish(LeaderSnapshot()));
  const httplib::Result answer = live.get();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200) << answer->body;
}

// A client that waits on a half-closed connection is not one this server
// keeps (documented in ConnectionServer): but one that stays connected is
// never dropped, even when it pipelines its next request behind the wait.
TEST_F(HttpServerTest, LongPollWithAPipelinedRequestBehindItStaysParked) {
  StartServer();
  test::RawConnection client(static_cast<uint16_t>(server_->port()));
  ASSERT_TRUE(
      client.Send("GET /leader?index=1&wait=10m HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                  "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  ASSERT_TRUE(AwaitParkedWaiters(1));
  ASSERT_TRUE(board_.Publish(LeaderSnapshot()));
  const std::string answers = client.ReadUntil("HTTP/1.1 200", 2, seconds(20));
  EXPECT_NE(answers.find("\"is_self\""), std::string::npos) << answers;
  EXPECT_NE(answers.find("HTTP/1.1 200", answers.find("HTTP/1.1 200") + 1), std::string::npos)
      << answers;
}

}  // namespace
}  // namespace zkelect
