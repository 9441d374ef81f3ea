// The ZooKeeper session options of the real daemon (issue 2 point 3): a
// connect string with several servers and a chroot, and digest credentials
// with election nodes under a creator ACL that other clients can still read.

#include <gtest/gtest.h>
#include <zookeeper/zookeeper.h>

#include "election_fixture.h"

namespace zkelect::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class SessionOptionsTest : public ElectionFixture {};

TEST_F(SessionOptionsTest, ChrootedConnectStringKeepsTheElectionUnderTheChroot) {
  ASSERT_EQ(client_->CreateParents("/tenant-a"), ZOK);
  const std::string chrooted = zk_.connect_string() + "/tenant-a";
  // The fixture passes the plain ensemble first; the later flag wins.
  ZkelectProcess& one = AddDaemon("node-1", {"--zk.servers=" + chrooted});
  ZkelectProcess& two = AddDaemon("node-2", {"--zk.servers=" + chrooted});
  ASSERT_TRUE(one.Start());
  ASSERT_TRUE(two.Start());
  ASSERT_TRUE(WaitReady(one, seconds(10)));
  ASSERT_TRUE(WaitReady(two, seconds(10)));

  std::vector<std::string> under_chroot;
  ASSERT_EQ(client_->Children("/tenant-a" + path_, &under_chroot), ZOK);
  EXPECT_EQ(under_chroot.size(), 2u) << "both candidates live under the chroot";
  std::vector<std::string> outside;
  EXPECT_EQ(client_->Children(path_, &outside), ZNONODE) << "nothing outside it";
  EXPECT_TRUE(WaitUntil(
      [&] {
        const int leaders = (HttpGet(one.port(), "/is-leader").status == 200 ? 1 : 0) +
                            (HttpGet(two.port(), "/is-leader").status == 200 ? 1 : 0);
        return leaders == 1;
      },
      seconds(5)))
      << AllLogs();
}

TEST_F(SessionOptionsTest, DigestAuthGuardsCandidatesButLetsOthersRead) {
  ZkelectProcess& one = AddDaemon("node-1", {"--zk.auth=digest:elector:s3cret"});
  ZkelectProcess& two = AddDaemon("node-2", {"--zk.auth=digest:elector:s3cret"});
  ASSERT_TRUE(one.Start());
  ASSERT_TRUE(WaitReady(one, seconds(10)));
  ASSERT_TRUE(two.Start());
  ASSERT_TRUE(WaitReady(two, seconds(10)));
  size_t leader = 0;
  ASSERT_TRUE(WaitForLeader(seconds(5), &leader));

  // The test's client has no credentials.
  std::vector<std::string> children;
  ASSERT_EQ(client_->Children(path_, &children), ZOK) << "world may list";
  ASSERT_EQ(children.size(), 2u);
  std::string data;
  EXPECT_EQ(client_->Get(path_ + "/" + children[0], &data), ZOK) << "world may read";
  EXPECT_NE(data.find("\"id\""), std::string::npos) << data;
  EXPECT_EQ(client_->Delete(path_ + "/" + children[0]), ZNOAUTH)
      << "nobody without the credentials deletes a candidate";
  EXPECT_EQ(client_->Create(path_ + "/intruder", "", 0), ZNOAUTH);

  // The credentials survive a new session: SIGKILL the leader, restart it.
  daemon(leader).Kill();
  ASSERT_TRUE(WaitForLeader(seconds(10), &leader));
}

}  // namespace
}  // namespace zkelect::test
