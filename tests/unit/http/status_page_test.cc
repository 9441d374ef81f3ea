#include "zkelect/http/status_page.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace zkelect {
namespace {

TEST(StatusPageTest, NoncesAreFreshHexOf128Bits) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string nonce = NewNonce();
    EXPECT_TRUE(std::regex_match(nonce, std::regex("[0-9a-f]{32}"))) << nonce;
    seen.insert(nonce);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(StatusPageTest, EveryInlineScriptAndStyleCarriesTheNonce) {
  const std::string page = StatusPageHtml("abc123");
  EXPECT_EQ(page.find("{{NONCE}}"), std::string::npos);
  const std::regex tag("<(script|style)([^>]*)>");
  int tags = 0;
  for (auto it = std::sregex_iterator(page.begin(), page.end(), tag); it != std::sregex_iterator();
       ++it) {
    ++tags;
    EXPECT_EQ((*it)[2].str(), " nonce=\"abc123\"") << (*it)[0].str();
  }
  EXPECT_EQ(tags, 2);
}

TEST(StatusPageTest, PageIsSelfContainedAndNeverWritesMarkupFromData) {
  const std::string page = StatusPageHtml("n");
  for (const char* forbidden : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                                "eval(", "src=", "href=", "http://", "https://", " style="}) {
    EXPECT_EQ(page.find(forbidden), std::string::npos) << forbidden;
  }
  EXPECT_NE(page.find("fetch(\"/status"), std::string::npos);
}

TEST(StatusPageTest, ShowsMaintenanceSinceWhen) {
  const std::string page = StatusPageHtml("n");
  EXPECT_NE(page.find("<dd id=\"maintenance\">"), std::string::npos);
  EXPECT_NE(page.find("status.maintenance"), std::string::npos);
  EXPECT_NE(page.find("maintenance.since"), std::string::npos);
}

// Issue 16 point 5: each candidate by id and address, from /status's
// election.candidate_ids, as text only (ids come from ZooKeeper).
TEST(StatusPageTest, ListsCandidatesByIdAndAddress) {
  const std::string page = StatusPageHtml("n");
  EXPECT_NE(page.find("status.election.candidate_ids"), std::string::npos);
  EXPECT_NE(page.find("entry.id + \" \" + (entry.address"), std::string::npos);
  EXPECT_NE(page.find("entry.id_state"), std::string::npos);
}

TEST(StatusPagePolicyTest, AllowsOnlyTheNoncedInlineCodeAndThisOrigin) {
  EXPECT_EQ(StatusPagePolicy("abc"),
            "default-src 'none'; script-src 'nonce-abc'; style-src 'nonce-abc'; "
            "connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'");
}

}  // namespace
}  // namespace zkelect
