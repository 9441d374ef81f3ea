#include "zkelect/http/http_response_parser.h"

#include <algorithm>
#include <charconv>
#include <system_error>

namespace zkelect {
namespace {

constexpr std::string_view kBlanks = " \t";

// How much of a bad line a message quotes.
constexpr size_t kMaxQuoted = 80;

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return Lower(x) == Lower(y); });
}

std::string_view Trim(std::string_view text) {
  const size_t begin = text.find_first_not_of(kBlanks);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(kBlanks) - begin + 1);
}

// `text` in quotes for a message: cut short, bytes outside printable ASCII
// as \xNN (it came from the network).
std::string Quoted(std::string_view text) {
  constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : text.substr(0, kMaxQuoted)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  out += text.size() > kMaxQuoted ? "\"..." : "\"";
  return out;
}

// RFC 9110 §5.6.2 tchar.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A line without its LF and the CR before it, if any.
std::string_view Chomp(std::string_view raw) {
  raw.remove_suffix(1);
  if (raw.ends_with('\r')) raw.remove_suffix(1);
  return raw;
}

// `text` as a whole unsigned number in `base`; nullopt for anything else
// (empty, signs, blanks, overflow).
std::optional<uint64_t> ParseNumber(std::string_view text, int base) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || text.front() == '-' || text.front() == '+' || ec != std::errc() ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::optional<std::string_view> ClientResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

HttpResponseParser::HttpResponseParser(size_t max_body) : max_body_(max_body) {}

HttpResponseParser::State HttpResponseParser::Feed(std::string_view bytes) {
  received_any_ = received_any_ || !bytes.empty();
  // Each step consumes bytes or leaves the kIncomplete state: bounded by the
  // input's size.
  while (state_ == State::kIncomplete && !bytes.empty()) Step(bytes);
  return state_;
}

HttpResponseParser::State HttpResponseParser::Finish() {
  if (state_ != State::kIncomplete) return state_;
  switch (phase_) {
    case Phase::kBodyToClose:
      Complete();
      break;
    case Phase::kStatusLine:
      Fail(received_any_ ? "connection closed in the status line"
                         : "connection closed before an answer");
      break;
    case Phase::kHeaders:
      Fail("connection closed in the headers");
      break;
    case Phase::kFixedBody:
      Fail("connection closed after " + std::to_string(body_length_ - body_left_) + " of " +
           std::to_string(body_length_) + " body bytes");
      break;
    case Phase::kChunkSize:
    case Phase::kChunkData:
    case Phase::kChunkEnd:
    case Phase::kTrailers:
      Fail("connection closed in the chunked body, after " + std::to_string(response_.body.size()) +
           " bytes");
      break;
  }
  return state_;
}

void HttpResponseParser::Step(std::string_view& bytes) {
  switch (phase_) {
    case Phase::kStatusLine:
    case Phase::kHeaders:
    case Phase::kTrailers: {
      const std::optional<std::string> raw = TakeLine(bytes, HeaderBudget());
      if (!raw) return;
      header_bytes_ += raw->size();
      const std::string_view line = Chomp(*raw);
      if (phase_ == Phase::kStatusLine) {
        OnStatusLine(line);
      } else if (phase_ == Phase::kHeaders) {
        OnHeaderLine(line);
      } else if (line.empty()) {
        Complete();  // the trailers are not kept
      }
      return;
    }
    case Phase::kFixedBody:
      if (TakeCountedBody(bytes) || body_left_ == 0) Complete();
      return;
    case Phase::kChunkSize: {
      const std::optional<std::string> raw = TakeLine(bytes, kMaxChunkLineBytes);
      if (raw) OnChunkSizeLine(Chomp(*raw));
      return;
    }
    case Phase::kChunkData:
      if (TakeCountedBody(bytes)) {
        Complete();
      } else if (body_left_ == 0) {
        phase_ = Phase::kChunkEnd;
      }
      return;
    case Phase::kChunkEnd: {
      const std::optional<std::string> raw = TakeLine(bytes, kMaxChunkLineBytes);
      if (!raw) return;
      if (!Chomp(*raw).empty()) {
        Fail("chunk data longer than its size (" + Quoted(Chomp(*raw)) + " after it)");
        return;
      }
      phase_ = Phase::kChunkSize;
      return;
    }
    case Phase::kBodyToClose:
      if (KeepBody(bytes)) Complete();
      bytes = {};
      return;
  }
}

std::optional<std::string> HttpResponseParser::TakeLine(std::string_view& bytes, size_t limit) {
  const size_t newline = bytes.find('\n');
  const size_t take = newline == std::string_view::npos ? bytes.size() : newline + 1;
  if (line_.size() + take > limit) {
    Fail(phase_ == Phase::kChunkSize || phase_ == Phase::kChunkEnd
             ? "chunk-size line over " + std::to_string(kMaxChunkLineBytes) + " bytes"
             : "headers over " + std::to_string(kMaxHeaderBytes) + " bytes");
    return std::nullopt;
  }
  line_.append(bytes.substr(0, take));
  bytes.remove_prefix(take);
  if (newline == std::string_view::npos) return std::nullopt;
  std::string line = std::move(line_);
  line_.clear();
  return line;
}

// "HTTP/1.x NNN reason", the reason possibly empty (with or without the
// space before it).
void HttpResponseParser::OnStatusLine(std::string_view line) {
  const bool well_formed = line.size() >= 12 && line.starts_with("HTTP/1.") && IsDigit(line[7]) &&
                           line[8] == ' ' && IsDigit(line[9]) && IsDigit(line[10]) &&
                           IsDigit(line[11]) && (line.size() == 12 || line[12] == ' ');
  const int status =
      well_formed ? (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0') : 0;
  if (status < 100 || status > 599) {
    Fail("malformed status line " + Quoted(line));
    return;
  }
  if (status == 101) {
    Fail("unexpected 101 Switching Protocols (no upgrade was asked for)");
    return;
  }
  response_.status = status;
  response_.reason = std::string(line.size() > 12 ? line.substr(13) : std::string_view());
  phase_ = Phase::kHeaders;
}

void HttpResponseParser::OnHeaderLine(std::string_view line) {
  if (line.empty()) {
    OnHeadersEnd();
    return;
  }
  const size_t colon = line.find(':');
  const std::string_view name = line.substr(0, colon);
  const bool well_formed = colon != std::string_view::npos && !name.empty() &&
                           std::all_of(name.begin(), name.end(), IsTokenChar);
  if (!well_formed) {
    // Includes obsolete line folding (a line starting with a blank), which
    // RFC 9112 §5.2 lets a client refuse.
    Fail("malformed header line " + Quoted(line));
    return;
  }
  const std::string_view value = Trim(line.substr(colon + 1));
  if (value.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) {
    Fail("malformed header line " + Quoted(line));
    return;
  }
  response_.headers.emplace_back(std::string(name), std::string(value));
}

// Where the body ends, by RFC 9112 §6.3 (as a client that sent no HEAD and no
// CONNECT sees it).
void HttpResponseParser::OnHeadersEnd() {
  const int status = response_.status;
  if (status < 200) {  // an interim answer: the real one follows
    response_ = ClientResponse{};
    phase_ = Phase::kStatusLine;
    return;
  }
  if (status == 204 || status == 304) {
    Complete();
    return;
  }
  std::optional<std::string_view> last_coding;
  std::optional<uint64_t> length;
  for (const auto& [name, value] : response_.headers) {
    if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
      const std::string_view list = value;
      last_coding = Trim(list.substr(list.rfind(',') + 1));
    } else if (EqualsIgnoreCase(name, "Content-Length")) {
      // A list ("10, 10") or repeated headers must all say the same number.
      std::string_view list = value;
      while (true) {
        const size_t comma = list.find(',');
        const std::optional<uint64_t> number = ParseNumber(Trim(list.substr(0, comma)), 10);
        if (!number || (length && *length != *number)) {
          Fail("malformed Content-Length " + Quoted(value));
          return;
        }
        length = number;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    }
  }
  if (last_coding) {  // Transfer-Encoding overrides Content-Length
    phase_ = EqualsIgnoreCase(*last_coding, "chunked") ? Phase::kChunkSize : Phase::kBodyToClose;
  } else if (length) {
    body_length_ = body_left_ = *length;
    phase_ = Phase::kFixedBody;
    if (*length == 0) Complete();
  } else {
    phase_ = Phase::kBodyToClose;
  }
}

// "1a2b[;extension]": the size of the next chunk in hex; 0 ends the body.
void HttpResponseParser::OnChunkSizeLine(std::string_view line) {
  const std::string_view digits = Trim(line.substr(0, line.find(';')));
  const std::optional<uint64_t> size = ParseNumber(digits, 16);
  if (!size) {
    Fail("malformed chunk-size line " + Quoted(line));
    return;
  }
  body_left_ = *size;
  phase_ = *size == 0 ? Phase::kTrailers : Phase::kChunkData;
}

bool HttpResponseParser::TakeCountedBody(std::string_view& bytes) {
  const size_t take = static_cast<size_t>(std::min<uint64_t>(bytes.size(), body_left_));
  const bool over = KeepBody(bytes.substr(0, take));
  bytes.remove_prefix(take);
  body_left_ -= take;
  return over;
}

bool HttpResponseParser::KeepBody(std::string_view data) {
  const size_t room = max_body_ - response_.body.size();
  response_.body.append(data.substr(0, room));
  // A Content-Length beyond the cap is known before the bytes come: the
  // kept part is all that will be read.
  const bool over =
      data.size() > room || (phase_ == Phase::kFixedBody && response_.body.size() == max_body_ &&
                             body_left_ > data.size());
  response_.body_truncated = over;
  return over;
}

void HttpResponseParser::Fail(std::string error) {
  state_ = State::kMalformed;
  error_ = std::move(error);
}

}  // namespace zkelect
