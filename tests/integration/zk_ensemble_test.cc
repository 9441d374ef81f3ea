// Tests of the test support itself: the ZooKeeper ensemble that every other
// integration test stands on, and the test client used to inspect it.

#include "support/zk_ensemble.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/http_probe.h"
#include "support/zk_test_client.h"

namespace zkelect::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ZkEnsembleTest, ServesWithOneLeaderAndAnswersFourLetterWords) {
  ZkEnsemble zk;
  ASSERT_TRUE(zk.StartAll());
  int leaders = 0;
  for (int i = 0; i < zk.size(); ++i) {
    const std::string mode = zk.Mode(i);
    EXPECT_TRUE(mode == "leader" || mode == "follower") << "server " << i << ": " << mode;
    if (mode == "leader") ++leaders;
    EXPECT_EQ(ZkEnsemble::FourLetterWord(zk.client_port(i), "ruok", milliseconds(1000)),
              std::optional<std::string>("imok"));
  }
  EXPECT_EQ(leaders, 1);
}

TEST(ZkEnsembleTest, NegotiatesShortSessionTimeouts) {
  ZkEnsemble zk;
  ASSERT_TRUE(zk.StartAll());
  std::string error;
  auto client = ZkTestClient::Connect(zk.connect_string(), seconds(10), milliseconds(1500), &error);
  ASSERT_NE(client, nullptr) << error;
  const auto mntr = ZkEnsemble::FourLetterWord(zk.client_port(0), "conf", milliseconds(1000));
  ASSERT_TRUE(mntr.has_value());
  EXPECT_NE(mntr->find("minSessionTimeout=400"), std::string::npos) << *mntr;
  EXPECT_NE(mntr->find("maxSessionTimeout=4000"), std::string::npos) << *mntr;
}

TEST(ZkEnsembleTest, EphemeralNodesAndSequenceNumbersThroughTheTestClient) {
  ZkEnsemble zk;
  ASSERT_TRUE(zk.StartAll());
  std::string error;
  auto writer = ZkTestClient::Connect(zk.connect_string(), seconds(10), seconds(2), &error);
  ASSERT_NE(writer, nullptr) << error;
  ASSERT_EQ(writer->CreateParents("/a/b/election"), ZOK);
  ASSERT_EQ(writer->CreateParents("/a/b/election"), ZOK);  // idempotent

  std::string created;
  ASSERT_EQ(
      writer->Create("/a/b/election/x-latch-", "foreign", ZOO_EPHEMERAL | ZOO_SEQUENCE, &created),
      ZOK);
  EXPECT_EQ(created, "/a/b/election/x-latch-0000000000");
  std::string data;
  Stat stat{};
  ASSERT_EQ(writer->Get(created, &data, &stat), ZOK);
  EXPECT_EQ(data, "foreign");
  EXPECT_EQ(stat.ephemeralOwner, writer->session_id());
  EXPECT_GT(stat.czxid, 0);

  auto reader = ZkTestClient::Connect(zk.connect_string(), seconds(10), seconds(2), &error);
  ASSERT_NE(reader, nullptr) << error;
  std::vector<std::string> children;
  ASSERT_EQ(reader->Children("/a/b/election", &children), ZOK);
  EXPECT_EQ(children, std::vector<std::string>{"x-latch-0000000000"});

  // Closing the session removes its ephemeral node at once on the ensemble,
  // but the reader's server may apply that a little later (ZooKeeper orders
  // reads per client, not across clients): under load (sanitizer builds in
  // CI) the first read still saw the node.
  writer.reset();
  ASSERT_TRUE(WaitUntil([&] { return reader->Exists(created) == ZNONODE; }, seconds(5)));
  ASSERT_EQ(reader->Delete("/a/b/election"), ZOK);
  EXPECT_EQ(reader->Delete("/a/b/election"), ZNONODE);
}

TEST(ZkEnsembleTest, RestartsEachServerInTurnAndKeepsServing) {
  ZkEnsemble zk;
  ASSERT_TRUE(zk.StartAll());
  std::string error;
  auto client = ZkTestClient::Connect(zk.connect_string(), seconds(10), seconds(4), &error);
  ASSERT_NE(client, nullptr) << error;
  ASSERT_EQ(client->CreateParents("/survives"), ZOK);

  for (int i = 0; i < zk.size(); ++i) {
    SCOPED_TRACE("restarting server " + std::to_string(i));
    zk.Stop(i);
    EXPECT_FALSE(zk.running(i));
    EXPECT_EQ(zk.Mode(i), "");
    ASSERT_TRUE(zk.WaitServing(seconds(30)));  // the other two still form a quorum
    ASSERT_TRUE(zk.Start(i));
    ASSERT_TRUE(zk.WaitServing(seconds(30)));
    EXPECT_NE(zk.Mode(i), "");
  }
  // The client's session moved between servers and survived.
  EXPECT_TRUE(WaitUntil([&] { return client->Exists("/survives") == ZOK; }, seconds(10)));
}

TEST(ZkEnsembleTest, WaitServingFailsFastWithoutQuorum) {
  ZkEnsemble zk;
  ASSERT_TRUE(zk.StartAll());
  zk.Kill(0);
  zk.Kill(1);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(zk.WaitServing(seconds(30)));
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(25));  // gives up early
  ASSERT_TRUE(zk.StartAll());                                          // and it comes back
}

}  // namespace
}  // namespace zkelect::test
