#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zkelect {

// One HTTP/1.x response as the client keeps it.
struct ClientResponse {
  int status = 0;      // 200..599 (interim 1xx answers are skipped)
  std::string reason;  // the reason phrase, possibly empty
  // In the order received, names as sent, values without surrounding blanks.
  std::vector<std::pair<std::string, std::string>> headers;
  // The body after chunked decoding, at most the parser's `max_body` bytes.
  std::string body;
  // The response had more body than `max_body`: `body` is its beginning, and
  // the parser stopped there (the rest was never read).
  bool body_truncated = false;

  // The value of the first header named `name` (ASCII case-insensitive), or
  // nullopt when there is none. Points into `headers`.
  std::optional<std::string_view> Header(std::string_view name) const;
};

// An incremental parser of the answer to one GET or POST on a connection that
// the server closes after it (the client sends `Connection: close`): feed it
// the bytes as they arrive, in pieces of any size, then tell it when the
// stream ends. A pure function of the bytes, whatever their split.
//
// Accepts "HTTP/1.x NNN reason" status lines ending in CRLF or a bare LF,
// skips interim 1xx answers, and takes the body as RFC 9112 §6.3 says: none
// for 204 and 304, chunked when Transfer-Encoding ends with "chunked", else
// Content-Length bytes (repeated values must agree), else everything until
// the server closes. Chunk extensions and trailers are read and dropped.
//
// Limits, so that a hostile server cannot make it hold much memory:
// kMaxHeaderBytes for the status line and headers (interim answers and
// trailers included), kMaxChunkLineBytes for a chunk-size line, and
// `max_body` for the body kept: a longer body completes the response at the
// cap with `body_truncated` set.
//
// Not thread-safe; one parser per response.
class HttpResponseParser {
 public:
  enum class State {
    kIncomplete,  // more bytes are needed
    kComplete,    // response() is the whole answer (or its capped beginning)
    kMalformed,   // not HTTP, over a limit, or cut short; see error()
  };

  static constexpr size_t kMaxHeaderBytes = 64 * 1024;
  static constexpr size_t kMaxChunkLineBytes = 1024;

  explicit HttpResponseParser(size_t max_body);
  HttpResponseParser(const HttpResponseParser&) = delete;
  HttpResponseParser& operator=(const HttpResponseParser&) = delete;

  // Parses the next bytes of the stream. Once the state is no longer
  // kIncomplete it stays as it is, and further bytes are ignored (bytes after
  // a complete answer are not part of it).
  State Feed(std::string_view bytes);

  // The server closed the stream: completes a body that runs until the
  // close; anything else still incomplete is malformed ("connection closed
  // ...").
  State Finish();

  State state() const { return state_; }

  // Why the response is malformed: a phrase for people, naming what was
  // wrong ("malformed status line \"HTTP/1.1 2x0 OK\"", "connection closed
  // after 3 of 10 body bytes"). Empty unless state() is kMalformed.
  const std::string& error() const { return error_; }

  // Precondition: state() is kComplete.
  const ClientResponse& response() const { return response_; }
  ClientResponse TakeResponse() { return std::move(response_); }

 private:
  enum class Phase {
    kStatusLine,
    kHeaders,
    kFixedBody,    // Content-Length bytes
    kChunkSize,    // the chunk-size line
    kChunkData,    // the chunk's bytes
    kChunkEnd,     // the CRLF after them
    kTrailers,     // after the last chunk, up to the empty line
    kBodyToClose,  // everything until the server closes
  };

  // One step of Feed on the front of `bytes`, which it consumes.
  void Step(std::string_view& bytes);
  // The next line (without its CR LF), once a whole one has arrived; longer
  // than `limit` bytes is malformed.
  std::optional<std::string> TakeLine(std::string_view& bytes, size_t limit);
  void OnStatusLine(std::string_view line);
  void OnHeaderLine(std::string_view line);
  void OnHeadersEnd();
  void OnChunkSizeLine(std::string_view line);
  // Consumes the front of `bytes` up to body_left_ bytes (of a
  // Content-Length or a chunk) as body; true when that went past the cap.
  bool TakeCountedBody(std::string_view& bytes);
  // Keeps `data` as body up to the cap; true when it went past the cap.
  bool KeepBody(std::string_view data);
  // Header bytes the response may still use (kMaxHeaderBytes in all).
  size_t HeaderBudget() const { return kMaxHeaderBytes - header_bytes_; }

  void Complete() { state_ = State::kComplete; }
  void Fail(std::string error);

  // Constant after construction.
  const size_t max_body_;

  State state_ = State::kIncomplete;
  Phase phase_ = Phase::kStatusLine;
  std::string error_;
  ClientResponse response_;
  std::string line_;          // the beginning of a line not yet complete
  size_t header_bytes_ = 0;   // status, header and trailer bytes so far
  uint64_t body_left_ = 0;    // kFixedBody: bytes to come; kChunkData: of the chunk
  uint64_t body_length_ = 0;  // kFixedBody: Content-Length, for messages
  bool received_any_ = false;
};

}  // namespace zkelect
