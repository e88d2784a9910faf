// libFuzzer target: the image document parsers (manifest, index, config,
// references) on arbitrary bytes. Accepted manifests and indexes must
// survive a serialise/parse round trip.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "berth/runtime/image/manifest.h"
#include "berth/runtime/image/reference.h"

using namespace berth::runtime::image;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  if (auto m = ParseManifest(in); m.ok()) {
    auto again = ParseManifest(SerializeManifest(*m));
    if (!again.ok() || again->layers.size() != m->layers.size()) std::abort();
  }
  if (auto idx = ParseIndex(in); idx.ok()) {
    auto again = ParseIndex(SerializeIndex(*idx));
    if (!again.ok() || again->manifests.size() != idx->manifests.size()) std::abort();
    (void)SelectPlatform(*idx, HostPlatform());
  }
  (void)ParseImageConfig(in);
  if (size < 600) {
    if (auto r = ParseReference(in); r.ok()) {
      // A normalised reference parses to itself.
      auto again = ParseReference(r->String());
      if (!again.ok() || again->String() != r->String()) std::abort();
    }
    (void)ParsePlatform(in);
    (void)ParseDigest(in);
  }
  return 0;
}
