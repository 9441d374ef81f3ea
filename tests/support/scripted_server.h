#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace zkelect::test {

// The port a bound socket has, 0 on failure.
uint16_t LocalPort(int fd);

// A raw loopback TCP server that answers every connection with crafted
// bytes, for testing HTTP clients against broken or hostile servers: it reads
// the request head (up to the blank line), writes `pieces` one send() at a
// time with a short pause between them (so that they arrive as separate
// packets), then closes the connection, or holds it open until the server is
// destroyed. The bytes need not be HTTP.
//
// Serves at most 8 connections, one after the other, each bounded in time.
// The destructor stops it and joins its thread.
class ScriptedServer {
 public:
  enum class Then { kClose, kHoldOpen };

  // Listens on `host` (an IPv4 or IPv6 literal), port 0; see ok().
  ScriptedServer(std::vector<std::string> pieces, Then then, const std::string& host = "127.0.0.1");
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;
  ~ScriptedServer();

  // Listening (false: the address cannot be bound here).
  bool ok() const { return port_ != 0; }
  uint16_t port() const { return port_; }

  // The head of the first request received, once every piece was sent in
  // answer; "" when none came within 5 s.
  std::string WaitForRequest();

 private:
  // Waits for `fd` to be readable; false when the server stops or after 5 s.
  bool Readable(int fd) const;
  void Serve();
  void Answer(int fd);

  const std::vector<std::string> pieces_;
  const Then then_;
  int listener_ = -1;
  int stop_[2] = {-1, -1};  // a pipe: written to stop
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool answered_ = false;  // guarded by mu_
  std::string request_;    // guarded by mu_
};

}  // namespace zkelect::test
