// The HTTP API on a Unix-domain socket (design §4, "Listeners"), with the
// real binary: the socket file's mode, a second daemon on the same path
// (exit 1, the first one keeps serving), the file removed on exit, and the
// one warning when POST endpoints are open to every local user. No
// ZooKeeper is needed: the API is up before the session.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/http_probe.h"
#include "support/temp_dir.h"
#include "support/zkelect_process.h"
#include "zkelect/http/http_client.h"

namespace zkelect::test {
namespace {

using std::chrono::seconds;

// A daemon that never reaches ZooKeeper, listening on loopback (the test
// support finds its port there) and on `more_listen`.
ZkelectOptions Daemon(const std::string& id, const std::string& more_listen,
                      std::vector<std::string> flags = {}) {
  ZkelectOptions options;
  options.id = id;
  options.standard_flags = false;
  options.extra_flags = {"--id=" + id, "--zk.servers=127.0.0.1:1",
                         "--http.listen=127.0.0.1:0" + more_listen};
  options.extra_flags.insert(options.extra_flags.end(), flags.begin(), flags.end());
  return options;
}

// GET `target` over the socket at `path`; the status, 0 when none came.
int GetOverSocket(const std::string& path, const std::string& target) {
  ClientRequest request;
  request.unix_path = path;
  request.authority = "localhost";
  request.target = target;
  HttpLimits limits;
  limits.deadline = std::chrono::steady_clock::now() + seconds(10);
  const HttpResult result = FetchHttp(request, limits);
  const auto* response = std::get_if<ClientResponse>(&result);
  return response != nullptr ? response->status : 0;
}

// Lines of `text` that contain `needle`.
int CountLines(const std::string& text, const std::string& needle) {
  std::istringstream lines(text);
  int count = 0;
  for (std::string line; std::getline(lines, line);) count += line.find(needle) != line.npos;
  return count;
}

TEST(UnixSocketTest, SecondDaemonOnTheSamePathExitsOneAndTheFirstKeepsItsSocket) {
  TempDir dir("unix-socket-daemons");
  const std::string path = dir.Sub("api.sock");
  ZkelectProcess first(Daemon("first", ",unix:" + path));
  ASSERT_TRUE(first.Start());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << first.LogTail();
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(GetOverSocket(path, "/healthz"), 200);

  ZkelectProcess second(Daemon("second", ",unix:" + path));
  ASSERT_TRUE(second.Spawn());
  const auto exit = second.WaitExit(seconds(20));
  ASSERT_TRUE(exit.has_value()) << "the second daemon still runs\n" << second.LogTail();
  EXPECT_EQ(*exit, (ExitStatus{1, 0})) << exit->ToString() << "\n" << second.LogTail();
  EXPECT_EQ(
      CountLines(second.log_text(), "http.listen = \"unix:" + path + "\": another process listens"),
      1)
      << second.log_text();
  EXPECT_EQ(GetOverSocket(path, "/healthz"), 200) << "the second daemon broke the first's socket";

  first.Terminate();
  const auto first_exit = first.WaitExit(seconds(30));
  ASSERT_TRUE(first_exit.has_value()) << first.LogTail();
  EXPECT_NE(::stat(path.c_str(), &st), 0) << "the socket file outlived its daemon";
}

TEST(UnixSocketTest, KilledDaemonsStaleSocketIsTakenOverAndARegularFileIsNot) {
  TempDir dir("unix-socket-stale");
  const std::string path = dir.Sub("api.sock");
  {
    ZkelectProcess killed(Daemon("killed", ",unix:" + path, {"--http.socket_mode=0600"}));
    ASSERT_TRUE(killed.Start());
    killed.Kill();
    ASSERT_TRUE(killed.WaitExit(seconds(10)).has_value());
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << "SIGKILL leaves the socket file behind";
  ZkelectProcess next(Daemon("next", ",unix:" + path));
  ASSERT_TRUE(next.Start()) << next.LogTail();
  // The socket answers once the listener is up; /healthz is 200 once the
  // election loop has turned (a moment later on a busy machine under TSan).
  int health = 0;
  EXPECT_TRUE(WaitUntil(
      [&] {
        health = GetOverSocket(path, "/healthz");
        return health == 200;
      },
      seconds(10)))
      << health;
  next.Terminate();
  ASSERT_TRUE(next.WaitExit(seconds(30)).has_value());

  std::ofstream(path) << "not a socket\n";
  ZkelectProcess refused(Daemon("refused", ",unix:" + path));
  ASSERT_TRUE(refused.Spawn());
  const auto exit = refused.WaitExit(seconds(20));
  ASSERT_TRUE(exit.has_value()) << refused.LogTail();
  EXPECT_EQ(*exit, (ExitStatus{1, 0})) << refused.LogTail();
  EXPECT_EQ(CountLines(refused.log_text(), "a file that is not a socket is in the way"), 1)
      << refused.log_text();
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode)) << "the regular file was removed";
}

TEST(UnixSocketTest, OpenPostEndpointsOnLoopbackWarnOnceAndATokenSilencesIt) {
  const std::string kWarning = "are open to every user of this host";
  ZkelectProcess open(Daemon("open", ""));
  ASSERT_TRUE(open.Start());
  EXPECT_EQ(CountLines(open.log_text(), kWarning), 1) << open.LogTail();
  EXPECT_EQ(CountLines(open.log_text(), "http.token_file"), 1);

  TempDir dir("unix-socket-token");
  const std::string token = dir.Sub("token");
  std::ofstream(token) << "s3cret-token\n";
  ::chmod(token.c_str(), 0600);
  ZkelectProcess closed(Daemon("closed", "", {"--http.token_file=" + token}));
  ASSERT_TRUE(closed.Start());
  EXPECT_EQ(CountLines(closed.log_text(), kWarning), 0) << closed.LogTail();
}

}  // namespace
}  // namespace zkelect::test
