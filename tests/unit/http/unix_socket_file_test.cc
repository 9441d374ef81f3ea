#include "zkelect/http/unix_socket_file.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

#include "support/temp_dir.h"

namespace zkelect {
namespace {

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// A socket bound at `path` but not listening: what a daemon that was killed
// leaves behind (connects are refused).
void LeaveStaleSocket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  ::close(fd);
}

TEST(UnixSocketFileTest, CreatesTheSocketWithTheModeAndOwnerAndRemovesItAtTheEnd) {
  test::TempDir dir("unix-socket");
  const std::string path = dir.Sub("api.sock");
  for (const unsigned mode : {0660u, 0600u, 0666u}) {
    SCOPED_TRACE(mode);
    {
      Result<std::unique_ptr<UnixSocketFile>> file = UnixSocketFile::Listen(path, mode, 16);
      ASSERT_TRUE(file.ok()) << file.status().message();
      struct stat st {};
      ASSERT_EQ(::lstat(path.c_str(), &st), 0);
      EXPECT_TRUE(S_ISSOCK(st.st_mode));
      EXPECT_EQ(st.st_mode & 07777, mode);
      EXPECT_EQ(st.st_uid, ::geteuid());
      EXPECT_EQ(st.st_gid, ::getegid());
    }
    EXPECT_FALSE(Exists(path)) << "the socket file outlived its listener";
  }
}

TEST(UnixSocketFileTest, ReplacesAStaleSocketFile) {
  test::TempDir dir("unix-socket");
  const std::string path = dir.Sub("api.sock");
  LeaveStaleSocket(path);
  ASSERT_TRUE(Exists(path));
  Result<std::unique_ptr<UnixSocketFile>> file = UnixSocketFile::Listen(path, 0660, 16);
  ASSERT_TRUE(file.ok()) << file.status().message();
}

TEST(UnixSocketFileTest, RefusesWhenAnotherProcessListens) {
  test::TempDir dir("unix-socket");
  const std::string path = dir.Sub("api.sock");
  Result<std::unique_ptr<UnixSocketFile>> first = UnixSocketFile::Listen(path, 0660, 16);
  ASSERT_TRUE(first.ok()) << first.status().message();
  Result<std::unique_ptr<UnixSocketFile>> second = UnixSocketFile::Listen(path, 0660, 16);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(second.status().message().find("http.listen = \"unix:" + path + "\""),
            std::string::npos)
      << second.status().message();
  EXPECT_NE(second.status().message().find("another process listens"), std::string::npos)
      << second.status().message();
  EXPECT_TRUE(Exists(path)) << "the refused one removed the first one's socket";
}

TEST(UnixSocketFileTest, RefusesARegularFileInTheWayAndLeavesIt) {
  test::TempDir dir("unix-socket");
  const std::string path = dir.Sub("api.sock");
  std::ofstream(path) << "precious\n";
  Result<std::unique_ptr<UnixSocketFile>> file = UnixSocketFile::Listen(path, 0660, 16);
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("not a socket"), std::string::npos)
      << file.status().message();
  std::ifstream kept(path);
  std::string content;
  std::getline(kept, content);
  EXPECT_EQ(content, "precious");
}

TEST(UnixSocketFileTest, KeepsASocketFileThatIsNoLongerItsOwn) {
  test::TempDir dir("unix-socket");
  const std::string path = dir.Sub("api.sock");
  {
    Result<std::unique_ptr<UnixSocketFile>> file = UnixSocketFile::Listen(path, 0660, 16);
    ASSERT_TRUE(file.ok()) << file.status().message();
    // Somebody replaced it meanwhile (an operator, another daemon).
    ASSERT_EQ(::unlink(path.c_str()), 0);
    LeaveStaleSocket(path);
  }
  EXPECT_TRUE(Exists(path)) << "removed a socket file that was not its own";
}

TEST(UnixSocketFileTest, PathTooLongForSunPathIsAClearError) {
  const std::string path = "/tmp/" + std::string(UnixSocketFile::kMaxPathBytes, 'x');
  Result<std::unique_ptr<UnixSocketFile>> file = UnixSocketFile::Listen(path, 0660, 16);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(file.status().message().find("expected an absolute path of at most 107 bytes"),
            std::string::npos)
      << file.status().message();
}

TEST(UnixSocketFileTest, MissingDirectoryNamesThePath) {
  Result<std::unique_ptr<UnixSocketFile>> file =
      UnixSocketFile::Listen("/nonexistent-zkelect-dir/api.sock", 0660, 16);
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("/nonexistent-zkelect-dir/api.sock"), std::string::npos)
      << file.status().message();
}

TEST(UnixSocketFileTest, UnixListenPath) {
  EXPECT_EQ(UnixListenPath("unix:/run/a.sock"), "/run/a.sock");
  EXPECT_EQ(UnixListenPath("127.0.0.1:4040"), std::nullopt);
}

}  // namespace
}  // namespace zkelect
