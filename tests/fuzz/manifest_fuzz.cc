// Manifests from users (berth apply) and API clients: any bytes either
// decode into objects or give an error; decoded objects encode to JSON and
// YAML that decode to the same objects.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <google/protobuf/util/message_differencer.h>

#include "berth/api/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto manifests = berth::api::DecodeManifests(text, "fuzz.yaml");
  if (!manifests.ok()) return 0;
  for (const auto& m : *manifests) {
    for (const std::string& encoded :
         {berth::api::EncodeJson(m.object), berth::api::EncodeYaml(m.object)}) {
      auto again = berth::api::DecodeManifests(encoded, "encoded");
      if (!again.ok() || again->size() != 1) std::abort();
      if (!google::protobuf::util::MessageDifferencer::Equals((*again)[0].object, m.object))
        std::abort();
    }
  }
  return 0;
}
