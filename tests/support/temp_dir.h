#pragma once

#include <string>

namespace zkelect::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it
// when the object goes away, unless ZKELECT_KEEP_TEST_DIRS=1 is set in the
// environment (then its path is printed to stderr, for post-mortems).
// Aborts the test program if the directory cannot be created.
class TempDir {
 public:
  // `prefix` becomes the start of the directory name, e.g. "zk-ensemble".
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Absolute path, without a trailing slash.
  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The whole content of a file ("" if it cannot be read).
std::string ReadFileOrEmpty(const std::string& path);
// The last `lines` lines of a file, for failure messages.
std::string TailOfFile(const std::string& path, int lines);

}  // namespace zkelect::test
