#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace zkelect {

// One accepted HTTP connection: reads request heads and bodies, writes
// answers.
//  - Waits with poll(), so a descriptor numbered past FD_SETSIZE (1024)
//    works, where select() would be undefined behaviour.
//  - Reads a request against one deadline and one size limit for the whole
//    request, so a client that sends a byte now and then (slow loris) cannot
//    hold the connection beyond it, and endless headers cannot fill the
//    memory.
//  - Buffers reads; bytes after a request (the next pipelined one) stay
//    buffered for the next ReadHead().
//
// Owns the socket: the destructor shuts it down and closes it. Used by one
// thread at a time (a connection may move between threads).
class ConnectionStream {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  enum class ReadResult {
    kOk,
    kTooLarge,  // the request's byte budget ran out first
    kFailed,    // timeout, error, or the client closed
  };

  // Each Write() may wait `write_timeout` for the client to make room.
  ConnectionStream(int socket, std::chrono::milliseconds write_timeout);
  ConnectionStream(const ConnectionStream&) = delete;
  ConnectionStream& operator=(const ConnectionStream&) = delete;
  ~ConnectionStream();

  // Waits until the next request begins (bytes are buffered or arrive, or
  // the client closes) or `deadline` passes. False on timeout or error.
  bool AwaitRequest(TimePoint deadline);

  // Every read until the next BeginRequest() fails once `deadline` passes,
  // or once more than `max_bytes` have been read.
  void BeginRequest(TimePoint deadline, size_t max_bytes);

  // Reads a request head into `head`, through the empty line that ends it
  // (see FindHeadEnd); empty lines before it are skipped (RFC 9112 §2.2).
  // On kTooLarge, `head` holds the bytes read so far.
  ReadResult ReadHead(std::string& head);

  // Reads exactly `length` body bytes into `body`.
  ReadResult ReadBody(size_t length, std::string& body);

  // Sends all of `data`; false (and broken()) on error or when the client
  // makes no room within the write timeout. With `end_stream`, `data` is
  // the last this connection sends: the end of the stream (FIN) leaves in
  // the same segment as its last bytes, and the stream is broken() after.
  //
  // Why: a client that asked for `Connection: close` then gets the answer
  // and the end in one segment instead of two. After a leader change the
  // daemon closes up to http.max_waiters connections at once, and each
  // segment costs both ends a pass through the TCP stack.
  bool Write(std::string_view data, bool end_stream = false);

  // Sends what the socket takes now, without waiting; returns how many
  // bytes that was. On an error, broken(). With `end_stream`, as Write()
  // once all of `data` is sent; when only part of it is, the rest must be
  // written with Write(..., true).
  size_t TrySend(std::string_view data, bool end_stream = false);

  // Before closing after an error answer: stops sending and discards what
  // the client still sends, for a moment, so that its kernel does not
  // receive a reset (which can discard the answer before it is read) for
  // bytes that we never read.
  void DrainBeforeClose();

  // A read or write failed, timed out or met the end of the stream: the
  // connection cannot carry another request.
  bool broken() const { return broken_; }

  int socket() const { return socket_; }

  // The peer's IP address as text; "" when unknown.
  std::string RemoteAddress() const;

 private:
  // Polls for `events` until `deadline`; false on timeout or error.
  bool Wait(short events, TimePoint deadline) const;
  // The flags of every send(); see Write().
  static int SendFlags(bool end_stream);
  // Shuts the sending side: the FIN goes out, on the queued segment if any.
  void EndStream();
  // Refills the empty buffer; false at the end, on failure or on timeout.
  bool Fill();
  // Takes up to `size` buffered bytes within the budget.
  std::string_view Take(size_t size);

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
