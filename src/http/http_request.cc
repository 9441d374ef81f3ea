#include "zkelect/http/http_request.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <system_error>

namespace zkelect {
namespace {

constexpr size_t kMaxShown = 64;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x + ('a' - 'A') : x) ==
                  (y >= 'A' && y <= 'Z' ? y + ('a' - 'A') : y);
         });
}

// RFC 9110 §5.6.2: tchar.
bool IsTokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsTokenChar);
}

// Visible ASCII: what a request-target may hold.
bool IsVisible(char c) { return c > 0x20 && c < 0x7f; }

// A field value byte: visible ASCII, space, tab or obs-text (0x80-0xff);
// never another control character.
bool IsFieldValueChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte == '\t' || (byte >= 0x20 && byte != 0x7f);
}

std::string_view TrimWhitespace(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

// Client bytes quoted in a message. (Built by appending: GCC 12 at -O3
// reported a false -Wrestrict in libstdc++ for "\"" + std::string&&.)
std::string Shown(std::string_view text) {
  std::string shown = "\"";
  shown += Printable(text, kMaxShown);
  shown += '"';
  return shown;
}

RequestError BadRequest(std::string message) {
  return RequestError{400, "bad_request", std::move(message)};
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits the next line off `rest` (CRLF or LF); false when none is left.
bool NextLine(std::string_view& rest, std::string_view& line) {
  const size_t lf = rest.find('\n');
  if (lf == std::string_view::npos) return false;
  line = rest.substr(0, lf);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  rest.remove_prefix(lf + 1);
  return true;
}

// The error for a line longer than the limit, or nothing.
std::optional<RequestError> CheckLineLength(std::string_view line, const RequestLimits& limits,
                                            int status, std::string_view code,
                                            std::string_view what) {
  if (line.size() <= limits.max_line_bytes) return std::nullopt;
  return RequestError{status, std::string(code),
                      std::string(what) + " is " + std::to_string(line.size()) +
                          " bytes long: expected at most " + std::to_string(limits.max_line_bytes)};
}

std::optional<RequestError> ParseRequestLine(std::string_view line, const RequestLimits& limits,
                                             HttpRequest& request) {
  if (auto error = CheckLineLength(line, limits, 414, "uri_too_long", "the request line")) {
    return error;
  }
  const size_t first = line.find(' ');
  const size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos) {
    return BadRequest("the request line " + Shown(line) +
                      " is not valid: expected METHOD, a path and HTTP/1.1, separated by single "
                      "spaces");
  }
  const std::string_view method = line.substr(0, first);
  const std::string_view target = line.substr(first + 1, second - first - 1);
  const std::string_view version = line.substr(second + 1);
  if (!IsToken(method)) {
    return BadRequest("the method " + Shown(method) + " is not valid: expected a token like GET");
  }
  request.method = method;
  if (target.empty() || target.front() != '/' ||
      !std::all_of(target.begin(), target.end(), IsVisible)) {
    return BadRequest("the request target " + Shown(target) +
                      " is not valid: expected a path beginning with '/', in visible ASCII");
  }
  request.target = target;
  const size_t question = target.find('?');
  request.path = PercentDecode(target.substr(0, question), /*plus_is_space=*/false);
  if (question != std::string_view::npos) request.params = ParseQuery(target.substr(question + 1));

  const bool well_formed = version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
                           IsDigit(version[5]) && version[6] == '.' && IsDigit(version[7]);
  if (well_formed && version[5] == '1') {
    // RFC 9112 §2.3: a later minor version is served as the latest we know.
    request.minor_version = std::min(version[7] - '0', 1);
    return std::nullopt;
  }
  if (well_formed) {
    return RequestError{505, "http_version_not_supported",
                        "the request is " + std::string(version) + ": expected HTTP/1.1 or 1.0"};
  }
  return BadRequest("the protocol " + Shown(version) + " is not valid: expected HTTP/1.1 or 1.0");
}

std::optional<RequestError> ParseHeaderLine(std::string_view line, const RequestLimits& limits,
                                            HttpRequest& request) {
  if (auto error =
          CheckLineLength(line, limits, 431, "request_header_fields_too_large", "a header line")) {
    return error;
  }
  if (line.front() == ' ' || line.front() == '\t') {
    return BadRequest("the header line " + Shown(line) +
                      " begins with whitespace (obsolete line folding): expected a field name");
  }
  const size_t colon = line.find(':');
  const std::string_view name = line.substr(0, colon);
  if (colon == std::string_view::npos || !IsToken(name)) {
    return BadRequest("the header line " + Shown(line) +
                      " is not valid: expected a field name (a token), ':' and a value");
  }
  const std::string_view value = TrimWhitespace(line.substr(colon + 1));
  if (!std::all_of(value.begin(), value.end(), IsFieldValueChar)) {
    return BadRequest("the value of header " + Shown(name) +
                      " holds a control character: expected visible characters, spaces or tabs");
  }
  request.headers.emplace_back(name, value);
  return std::nullopt;
}

// Checks the framing headers once all are read: Transfer-Encoding,
// Content-Length and Expect.
std::optional<RequestError> CheckFraming(const RequestLimits& limits, HttpRequest& request) {
  if (request.HeaderCount("Transfer-Encoding") > 0) {
    return RequestError{411, "length_required",
                        "the request body has no Content-Length: expected no body, or one with a "
                        "Content-Length"};
  }
  const size_t lengths = request.HeaderCount("Content-Length");
  if (lengths > 1) {
    return BadRequest("the request has " + std::to_string(lengths) +
                      " Content-Length headers: expected at most one");
  }
  if (lengths == 1) {
    const std::string_view text = request.Header("Content-Length");
    const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), IsDigit);
    uint64_t length = 0;
    if (!digits ||
        std::from_chars(text.data(), text.data() + text.size(), length).ec != std::errc()) {
      return BadRequest("Content-Length " + Shown(text) +
                        " is not valid: expected a non-negative decimal number");
    }
    if (length > limits.max_body_bytes) {
      return RequestError{413, "payload_too_large",
                          "the request body is " + std::string(text) +
                              " bytes: expected no body, or at most " +
                              std::to_string(limits.max_body_bytes) + " bytes"};
    }
    request.content_length = static_cast<size_t>(length);
  }
  if (request.HeaderCount("Expect") > 0) {
    const std::string_view expect = request.Header("Expect");
    if (request.HeaderCount("Expect") > 1 || !EqualsIgnoreCase(expect, "100-continue")) {
      return RequestError{417, "expectation_failed",
                          "Expect " + Shown(expect) + " cannot be met: expected 100-continue"};
    }
    request.expects_continue = true;
  }
  return std::nullopt;
}

}  // namespace

size_t HttpRequest::HeaderCount(std::string_view name) const {
  return static_cast<size_t>(
      std::count_if(headers.begin(), headers.end(),
                    [name](const auto& header) { return EqualsIgnoreCase(header.first, name); }));
}

std::string_view HttpRequest::Header(std::string_view name) const {
  const auto it = std::find_if(headers.begin(), headers.end(), [name](const auto& header) {
    return EqualsIgnoreCase(header.first, name);
  });
  return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

bool HttpRequest::KeepAlive() const {
  bool close = false;
  bool keep_alive = false;
  for (const auto& [name, value] : headers) {
    if (!EqualsIgnoreCase(name, "Connection")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view option = TrimWhitespace(rest.substr(0, comma));
      close = close || EqualsIgnoreCase(option, "close");
      keep_alive = keep_alive || EqualsIgnoreCase(option, "keep-alive");
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  if (close) return false;
  return minor_version >= 1 || keep_alive;
}

size_t FindHeadEnd(std::string_view buffer, size_t from) {
  for (size_t lf = buffer.find('\n', from); lf != std::string_view::npos;
       lf = buffer.find('\n', lf + 1)) {
    if (lf + 1 < buffer.size() && buffer[lf + 1] == '\n') return lf + 2;
    if (lf + 2 < buffer.size() && buffer[lf + 1] == '\r' && buffer[lf + 2] == '\n') return lf + 3;
  }
  return std::string_view::npos;
}

std::optional<RequestError> ParseRequestHead(std::string_view head, const RequestLimits& limits,
                                             HttpRequest& request) {
  if (head.find('\0') != std::string_view::npos) {
    return BadRequest("the request head holds a NUL byte");
  }
  std::string_view rest = head;
  std::string_view line;
  if (!NextLine(rest, line)) return BadRequest("the request head is incomplete");
  if (line.find('\r') != std::string_view::npos) {
    return BadRequest("the request line " + Shown(line) + " holds a bare CR");
  }
  if (std::optional<RequestError> error = ParseRequestLine(line, limits, request)) return error;
  while (NextLine(rest, line) && !line.empty()) {
    if (line.find('\r') != std::string_view::npos) {
      return BadRequest("the header line " + Shown(line) + " holds a bare CR");
    }
    if (std::optional<RequestError> error = ParseHeaderLine(line, limits, request)) return error;
  }
  return CheckFraming(limits, request);
}

RequestError OversizedHead(std::string_view partial_head) {
  if (partial_head.find('\n') == std::string_view::npos) {
    return RequestError{414, "uri_too_long",
                        "the request line is longer than the request size limit (" +
                            std::to_string(partial_head.size()) + " bytes)"};
  }
  return RequestError{431, "request_header_fields_too_large",
                      "the request headers are larger than the request size limit (" +
                          std::to_string(partial_head.size()) + " bytes)"};
}

std::string Printable(std::string_view text, size_t max_shown) {
  std::string out;
  for (const char c : text.substr(0, max_shown)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == '"' || c == '\\') {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  if (text.size() > max_shown) out += "...";
  return out;
}

std::string PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += plus_is_space && c == '+' ? ' ' : c;
    }
  }
  return out;
}

QueryParams ParseQuery(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      params.emplace(PercentDecode(pair.substr(0, eq), /*plus_is_space=*/true),
                     eq == std::string_view::npos
                         ? std::string()
                         : PercentDecode(pair.substr(eq + 1), /*plus_is_space=*/true));
    }
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return params;
}

}  // namespace zkelect
