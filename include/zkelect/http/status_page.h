#pragma once

#include <string>
#include <string_view>

namespace zkelect {

// GET /: one self-contained HTML page (inline style and script, no other
// asset) that shows this node's view and keeps it current by long-polling
// /status. Its source is src/http/status_page.html, embedded at build time.
//
// The page renders what came from ZooKeeper as text only, and each answer
// carries a fresh nonce that its Content-Security-Policy requires of the
// inline style and script, so injected markup could not run anything.
//
// Pure functions (NewNonce draws randomness); thread-safe.

// A fresh, unguessable CSP nonce: 32 hex digits.
std::string NewNonce();

// The page with `nonce` on its inline style and script.
std::string StatusPageHtml(std::string_view nonce);

// The Content-Security-Policy header for the page served with `nonce`:
// only the page's own inline style and script, requests to this origin
// only, no frames, forms, plugins or other sources.
std::string StatusPagePolicy(std::string_view nonce);

}  // namespace zkelect
