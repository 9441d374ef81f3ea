// libFuzzer target for the HTTP request-head parser
// (src/http/http_request.cc), which reads bytes from any client.
//
// The input is what a client sends on a connection. Properties:
//  - FindHeadEnd finds the first empty line, and finds it again when
//    resumed anywhere before it (the way ConnectionStream reads packets);
//  - ParseRequestHead either refuses with a known status and a message free
//    of control characters (messages reach logs and clients), or accepts a
//    request that holds the invariants the handlers rely on: a token method,
//    an origin-form target in visible ASCII whose decoded path is the path,
//    HTTP/1.0 or 1.1, header names that are tokens, values without CR, LF,
//    NUL or surrounding whitespace, at most one Content-Length within the
//    body limit, no Transfer-Encoding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "zkelect/http/http_request.h"

namespace {

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool HasControl(std::string_view text, bool tab_ok) {
  return std::any_of(text.begin(), text.end(), [tab_ok](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && !(tab_ok && c == '\t')) || byte == 0x7f;
  });
}

void CheckHeadEnd(std::string_view input, size_t end) {
  if (end == std::string_view::npos) return;
  FUZZ_CHECK(end <= input.size() && end >= 2, "the head ends inside the input");
  const std::string_view head = input.substr(0, end);
  FUZZ_CHECK(head.substr(end - 2) == "\n\n" || (end >= 3 && head.substr(end - 3) == "\n\r\n"),
             "the head ends with an empty line");
  FUZZ_CHECK(zkelect::FindHeadEnd(head.substr(0, end - 1)) == std::string_view::npos,
             "the end is the first empty line");
  // ConnectionStream resumes two bytes before each new packet.
  for (size_t from = end >= 8 ? end - 8 : 0; from + 2 < end; ++from) {
    FUZZ_CHECK(zkelect::FindHeadEnd(input, from) == end, "a resumed search finds the same end");
  }
}

void CheckAccepted(const zkelect::HttpRequest& request, const zkelect::RequestLimits& limits) {
  FUZZ_CHECK(IsToken(request.method), "the method is a token");
  FUZZ_CHECK(!request.target.empty() && request.target.front() == '/', "origin-form target");
  FUZZ_CHECK(!HasControl(request.target, false) && request.target.find(' ') == std::string::npos,
             "the target is visible ASCII");
  const std::string_view raw_path =
      std::string_view(request.target).substr(0, request.target.find('?'));
  FUZZ_CHECK(request.path == zkelect::PercentDecode(raw_path, false), "the path is decoded");
  FUZZ_CHECK(request.minor_version == 0 || request.minor_version == 1, "HTTP/1.0 or 1.1");
  for (const auto& [name, value] : request.headers) {
    FUZZ_CHECK(IsToken(name), "header names are tokens");
    FUZZ_CHECK(value.find_first_of(std::string("\r\n\0", 3)) == std::string::npos,
               "header values hold no CR, LF or NUL");
    FUZZ_CHECK(value.empty() || (value.front() != ' ' && value.front() != '\t' &&
                                 value.back() != ' ' && value.back() != '\t'),
               "header values are trimmed");
  }
  FUZZ_CHECK(request.HeaderCount("Transfer-Encoding") == 0, "no Transfer-Encoding");
  FUZZ_CHECK(request.HeaderCount("Content-Length") <= 1, "at most one Content-Length");
  FUZZ_CHECK(request.content_length <= limits.max_body_bytes, "the body is within the limit");
  FUZZ_CHECK(request.expects_continue == (request.HeaderCount("Expect") == 1),
             "Expect is 100-continue or refused");
  (void)request.KeepAlive();
}

void CheckRefused(const zkelect::RequestError& error) {
  constexpr int kStatuses[] = {400, 411, 413, 414, 417, 431, 505};
  FUZZ_CHECK(
      std::find(std::begin(kStatuses), std::end(kStatuses), error.status) != std::end(kStatuses),
      "a known refusal status");
  FUZZ_CHECK(!error.code.empty() && !error.message.empty(), "a code and a message");
  FUZZ_CHECK(!HasControl(error.message, false), "the message holds no control characters");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t end = zkelect::FindHeadEnd(input);
  CheckHeadEnd(input, end);

  zkelect::RequestLimits limits;
  limits.max_line_bytes = 256;  // small, so that the fuzzer reaches the limits
  limits.max_body_bytes = 1000;
  zkelect::HttpRequest request;
  const std::string_view head = end == std::string_view::npos ? input : input.substr(0, end);
  const std::optional<zkelect::RequestError> error =
      zkelect::ParseRequestHead(head, limits, request);
  if (error) {
    CheckRefused(*error);
  } else {
    CheckAccepted(request, limits);
  }
  const zkelect::RequestError oversized = zkelect::OversizedHead(input);
  FUZZ_CHECK(oversized.status == 414 || oversized.status == 431, "414 or 431");
  return 0;
}
