#include "zkelect/election/node_data.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>

namespace zkelect {
namespace {

TEST(NodeDataTest, EncodedIdentityDecodesUnchanged) {
  const NodeIdentity identity{"web-1", "10.0.0.5:8080", {{"zone", "eu-1"}, {"rack", "r7"}}};
  EXPECT_EQ(DecodeNodeData(EncodeNodeData(identity)), identity);
}

TEST(NodeDataTest, PriorityIsPublishedAndReadBack) {
  const NodeIdentity identity{"web-1", "10.0.0.5:8080", {}, 42};
  EXPECT_EQ(DecodeNodeData(EncodeNodeData(identity)).priority, 42);
}

// Rule 13: a node that publishes no usable priority counts as 0.
TEST(NodeDataTest, MissingOrInvalidPriorityCountsAsZero) {
  for (const char* data :
       {R"({"id":"a"})", R"({"id":"a","priority":"9"})", R"({"id":"a","priority":-1})",
        R"({"id":"a","priority":1000001})", R"({"id":"a","priority":2.5})",
        R"({"id":"a","priority":18446744073709551615})", "10.0.0.9:8080"}) {
    EXPECT_EQ(DecodeNodeData(data).priority, 0) << data;
  }
  EXPECT_EQ(DecodeNodeData(R"({"id":"a","priority":1000000})").priority, 1'000'000);
}

TEST(NodeDataTest, NonStringMetaValuesKeepTheirJsonText) {
  const NodeIdentity identity = DecodeNodeData(R"({"id":"a","meta":{"n":1,"l":[1,[2]]}})");
  EXPECT_EQ(identity.meta.at("n"), "1");
  EXPECT_EQ(identity.meta.at("l"), "[1,[2]]");
}

// Regression: a node whose data nested half a million JSON arrays (ZooKeeper
// accepts up to 1 MB) overflowed the stack of whoever decoded it, that is
// every daemon of the election, when its meta value was rendered back to
// text. Such data is now another client's: its raw bytes are its id.
TEST(NodeDataTest, DeeplyNestedDataDoesNotOverflowTheStack) {
  constexpr std::size_t kDepth = 500'000;
  const std::string data =
      R"({"id":"x","meta":{"k":)" + std::string(kDepth, '[') + std::string(kDepth, ']') + "}}";
  const NodeIdentity identity = DecodeNodeData(data);
  EXPECT_EQ(identity.id, data);
  EXPECT_TRUE(identity.meta.empty());
}

TEST(NodeDataTest, NestingUpToTheLimitIsStillOurs) {
  const std::string nested = std::string(30, '[') + std::string(30, ']');
  const NodeIdentity identity = DecodeNodeData(R"({"id":"x","meta":{"k":)" + nested + "}}");
  EXPECT_EQ(identity.id, "x");
  EXPECT_EQ(identity.meta.at("k"), nested);
}

}  // namespace
}  // namespace zkelect
