#include "zkelect/http/status_page.h"

#include <array>
#include <random>

namespace zkelect {

// Generated at build time from src/http/status_page.html (CMakeLists.txt).
extern const char kStatusPageTemplate[];

namespace {
constexpr std::string_view kNoncePlaceholder = "{{NONCE}}";
}  // namespace

std::string NewNonce() {
  // random_device reads the kernel's generator (getrandom) on Linux.
  thread_local std::random_device random;
  constexpr char kHex[] = "0123456789abcdef";
  std::string nonce;
  for (int i = 0; i < 4; ++i) {
    const uint32_t word = random();
    for (int shift = 28; shift >= 0; shift -= 4) nonce += kHex[(word >> shift) & 0xf];
  }
  return nonce;
}

std::string StatusPageHtml(std::string_view nonce) {
  std::string page(kStatusPageTemplate);
  for (size_t at = page.find(kNoncePlaceholder); at != std::string::npos;
       at = page.find(kNoncePlaceholder, at + nonce.size())) {
    page.replace(at, kNoncePlaceholder.size(), nonce);
  }
  return page;
}

std::string StatusPagePolicy(std::string_view nonce) {
  const std::string source = "'nonce-" + std::string(nonce) + "'";
  return "default-src 'none'; script-src " + source + "; style-src " + source +
         "; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; "
         "frame-ancestors 'none'";
}

}  // namespace zkelect
