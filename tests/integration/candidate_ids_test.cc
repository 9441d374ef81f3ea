// Issue 16 point 5 against real daemons and a real ZooKeeper: /status names
// every candidate by its id and address, read on demand and then cached.
#include <gtest/gtest.h>
#include <zookeeper/zookeeper.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "election_fixture.h"

namespace zkelect::test {
namespace {

class CandidateIdsTest : public ElectionFixture {
 protected:
  // The get_data requests daemon `i` has completed, whatever their result
  // (zkelect_zk_requests_total{op="get_data",...} summed), or -1.
  double GetDataRequests(size_t i) {
    const HttpReply reply = HttpGet(daemon(i).port(), "/metrics");
    if (reply.status != 200) return -1;
    std::istringstream lines(reply.raw_body);
    double total = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("zkelect_zk_requests_total{op=\"get_data\"", 0) != 0) continue;
      total += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return total;
  }
};

TEST_F(CandidateIdsTest, StatusOfAFollowerNamesEveryCandidateByIdAndAddress) {
  for (int i = 1; i <= 3; ++i) {
    ZkelectProcess& d =
        AddDaemon("node-" + std::to_string(i), {"--address=10.0.0." + std::to_string(i) + ":8080"});
    ASSERT_TRUE(d.Start());
    ASSERT_TRUE(WaitReady(d, seconds(10)));
  }
  size_t leader = 0;
  ASSERT_TRUE(WaitForLeader(seconds(10), &leader));
  ASSERT_EQ(leader, 0u);
  // node-3, last in line: its listing holds everyone ahead of it.
  const std::vector<std::string> nodes = ChildrenInOrder();
  ASSERT_EQ(nodes.size(), 3u);

  nlohmann::json ids;
  ASSERT_TRUE(WaitUntil(
      [&] {
        const nlohmann::json status = Status(2);
        if (!status.is_object()) return false;
        ids = status["election"]["candidate_ids"];
        return ids.is_array() && ids.size() == 3 && ids[0]["id_state"] == "known" &&
               ids[1]["id_state"] == "known" && ids[2]["id_state"] == "known";
      },
      seconds(10)))
      << ids.dump();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(ids[i]["node"], nodes[i]);
    EXPECT_EQ(ids[i]["id"], "node-" + std::to_string(i + 1));
    EXPECT_EQ(ids[i]["address"], "10.0.0." + std::to_string(i + 1) + ":8080");
  }

  // Cached: another /status costs ZooKeeper nothing.
  const double reads = GetDataRequests(2);
  ASSERT_GE(reads, 3);
  EXPECT_EQ(Status(2)["election"]["candidate_ids"], ids);
  EXPECT_EQ(GetDataRequests(2), reads);
}

// Another client's node with a megabyte of junk: still a candidate, shown by
// its first bytes, and the daemon answers on.
TEST_F(CandidateIdsTest, AForeignNodeWithHugeDataIsShownByItsFirstBytes) {
  ASSERT_TRUE(StartDaemons(1));
  ASSERT_EQ(client_->Create(path_ + "/_c_junk-latch-", std::string(1000 * 1000, '['),
                            ZOO_EPHEMERAL | ZOO_SEQUENCE),
            ZOK);
  ZkelectProcess& last = AddDaemon("node-2");
  ASSERT_TRUE(last.Start());
  ASSERT_TRUE(WaitReady(last, seconds(10)));
  nlohmann::json ids;
  ASSERT_TRUE(WaitUntil(
      [&] {
        ids = Status(1)["election"]["candidate_ids"];
        return ids.is_array() && ids.size() == 3 && ids[1]["id_state"] == "known";
      },
      seconds(10)))
      << ids.dump();
  EXPECT_EQ(ids[0]["id"], "node-1");
  EXPECT_EQ(ids[1]["id"], std::string(256, '['));
  EXPECT_EQ(ids[2]["id"], "node-2");
  EXPECT_EQ(HttpGet(daemon(1).port(), "/healthz").status, 200);
}

}  // namespace
}  // namespace zkelect::test
