// Pod manifests are untrusted input (files an operator drops in a
// directory): the YAML and the field walk must never crash, hang or leak,
// and what parses must satisfy the model's invariants.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto pod = berth::nodeagent::ParsePodManifest(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  if (pod.ok()) {
    if (pod->name.empty() || pod->containers.empty()) __builtin_trap();
    for (const auto& c : pod->containers) {
      if (c.image.empty()) __builtin_trap();
      for (const auto& p : c.ports) {
        if (p.container_port < 1 || p.container_port > 65535) __builtin_trap();
      }
    }
  }
  return 0;
}
