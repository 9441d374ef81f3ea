// libFuzzer target for the HTTP client's response parser
// (src/http/http_response_parser.cc), which reads bytes from any server a
// health check or `zkelect status` talks to.
//
// The first two input bytes choose the body cap and how the rest is cut into
// pieces; the rest is the stream, which then ends. Properties:
//  - the outcome does not depend on how the stream is cut: the same state,
//    error, status, headers and body as when it is fed at once;
//  - a complete response has a final status (200..599) and at most `cap`
//    body bytes, exactly `cap` when it says the body was truncated;
//  - a malformed one says why.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "zkelect/http/http_response_parser.h"

namespace {

using zkelect::HttpResponseParser;

// Feeds `stream` in pieces of 1..`max_piece` bytes (cycling through those
// sizes), then ends it.
void Run(HttpResponseParser& parser, std::string_view stream, size_t max_piece) {
  size_t piece = 1;
  while (!stream.empty()) {
    const size_t take = std::min(piece, stream.size());
    parser.Feed(stream.substr(0, take));
    stream.remove_prefix(take);
    piece = piece % max_piece + 1;
  }
  parser.Finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const size_t cap = data[0];
  const size_t max_piece = size_t{data[1]} % 16 + 1;
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);

  HttpResponseParser whole(cap);
  whole.Feed(stream);
  whole.Finish();
  HttpResponseParser pieces(cap);
  Run(pieces, stream, max_piece);

  FUZZ_CHECK(whole.state() == pieces.state(), "the state does not depend on the cuts");
  FUZZ_CHECK(whole.state() != HttpResponseParser::State::kIncomplete,
             "the end of the stream decides");
  FUZZ_CHECK(whole.error() == pieces.error(), "the error does not depend on the cuts");
  if (whole.state() == HttpResponseParser::State::kMalformed) {
    FUZZ_CHECK(!whole.error().empty(), "a malformed response says why");
    return 0;
  }
  const zkelect::ClientResponse& a = whole.response();
  const zkelect::ClientResponse& b = pieces.response();
  FUZZ_CHECK(a.status == b.status && a.reason == b.reason && a.headers == b.headers &&
                 a.body == b.body && a.body_truncated == b.body_truncated,
             "the response does not depend on the cuts");
  FUZZ_CHECK(a.status >= 200 && a.status <= 599, "a final status");
  FUZZ_CHECK(a.body.size() <= cap, "the body is capped");
  FUZZ_CHECK(!a.body_truncated || a.body.size() == cap, "a truncated body fills the cap");
  return 0;
}
