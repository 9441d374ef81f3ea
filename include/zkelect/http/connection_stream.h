#pragma once

#include <httplib.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <string>

namespace zkelect {

// One accepted HTTP connection as the httplib::Stream that the library's
// request parser and response writer use. Includes <httplib.h>: build with
// the library's pkg-config flags (they change its class layout).
//
// Unlike the library's own socket stream it
//  - waits with poll(), so a descriptor numbered past FD_SETSIZE (1024)
//    works, where select() would be undefined behaviour;
//  - reads a request against one deadline and one size limit for the whole
//    request, so a client that sends a byte now and then (slow loris) cannot
//    hold the connection beyond it, where the library's timeout restarts
//    with every byte, and endless headers cannot fill the memory;
//  - buffers reads (the parser asks for one byte at a time).
//
// Owns the socket: the destructor shuts it down and closes it. Used by one
// thread at a time.
class ConnectionStream final : public httplib::Stream {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Each write may wait `write_timeout` for the client to make room.
  ConnectionStream(int socket, std::chrono::milliseconds write_timeout);
  ConnectionStream(const ConnectionStream&) = delete;
  ConnectionStream& operator=(const ConnectionStream&) = delete;
  ~ConnectionStream() override;

  // Waits until the next request begins (bytes are buffered or arrive, or
  // the client closes) or `deadline` passes. False on timeout or error.
  bool AwaitRequest(TimePoint deadline);

  // Every read until the next BeginRequest() fails once `deadline` passes,
  // or once more than `max_bytes` have been read: the library's parser keeps
  // every header line of a request, however many come.
  void BeginRequest(TimePoint deadline, size_t max_bytes);

  // A read or write failed, timed out or met the end of the stream: the
  // connection cannot carry another request.
  bool broken() const { return broken_; }

  // httplib::Stream.
  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  int socket() const override { return socket_; }

 private:
  // Polls for `events` until `deadline`; false on timeout or error.
  bool Wait(short events, TimePoint deadline) const;
  // Refills the empty buffer; the byte count, 0 at the end, -1 on failure.
  ssize_t Fill();

  const int socket_;
  const std::chrono::milliseconds write_timeout_;
  TimePoint read_deadline_;
  size_t read_budget_ = 0;  // bytes the current request may still read
  bool broken_ = false;
  std::array<char, 4096> buffer_{};
  size_t begin_ = 0;  // unread bytes are buffer_[begin_, end_)
  size_t end_ = 0;
};

}  // namespace zkelect
