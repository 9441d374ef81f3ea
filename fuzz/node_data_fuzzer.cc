// libFuzzer target for the candidate node data codec
// (src/election/node_data.cc, design §3 rule 11).
//
// Properties:
//  - DecodeNodeData accepts any bytes (it must never throw: another client
//    may write anything into its node);
//  - data that is not our JSON object decodes to an identity whose id is the
//    raw data and that has no address and no meta;
//  - an identity whose strings are all UTF-8 (every identity decoded from our
//    JSON, and the one built from the input below) survives
//    Decode(Encode(identity)) unchanged.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "zkelect/config/toml.h"
#include "zkelect/election/node_data.h"
#include "zkelect/election/snapshot.h"

namespace {

bool AllUtf8(const zkelect::NodeIdentity& identity) {
  if (!zkelect::IsValidUtf8(identity.id) || !zkelect::IsValidUtf8(identity.address)) return false;
  for (const auto& [key, value] : identity.meta) {
    if (!zkelect::IsValidUtf8(key) || !zkelect::IsValidUtf8(value)) return false;
  }
  return true;
}

void CheckRoundTrip(const zkelect::NodeIdentity& identity) {
  if (!AllUtf8(identity)) return;
  FUZZ_CHECK(zkelect::DecodeNodeData(zkelect::EncodeNodeData(identity)) == identity,
             "Decode(Encode(identity)) == identity");
}

void CheckDecode(std::string_view data) {
  const zkelect::NodeIdentity identity = zkelect::DecodeNodeData(data);
  if (identity.id == data) {
    // Taken as raw data (or, rarely, JSON whose id is the whole text).
  } else {
    FUZZ_CHECK(data.find('{') != std::string_view::npos,
               "only a JSON object gives an id other than the raw data");
  }
  CheckRoundTrip(identity);
}

// An identity built from the input, for the encoder's sake: the decoder alone
// would mostly see identities without meta.
zkelect::NodeIdentity BuildIdentity(FuzzedDataProvider& input) {
  zkelect::NodeIdentity identity;
  identity.id = input.ConsumeRandomLengthString(64);
  identity.address = input.ConsumeRandomLengthString(64);
  const int meta_count = input.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < meta_count; ++i) {
    std::string key = input.ConsumeRandomLengthString(16);
    identity.meta[std::move(key)] = input.ConsumeRandomLengthString(32);
  }
  return identity;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  CheckDecode(std::string_view(reinterpret_cast<const char*>(data), size));
  FuzzedDataProvider input(data, size);
  CheckRoundTrip(BuildIdentity(input));
  return 0;
}
