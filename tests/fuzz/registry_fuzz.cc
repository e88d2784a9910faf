// Registry answers and registry configuration: WWW-Authenticate challenges,
// docker config.json credentials and registries.json, base64. The first
// byte picks the parser; none may crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "berth/runtime/registry/auth.h"
#include "berth/runtime/registry/hosts.h"

using namespace berth::runtime::registry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto c = ParseWwwAuthenticate(input);
      if (c.ok() && c->empty()) __builtin_trap();  // success means at least one challenge
      break;
    }
    case 1: {
      auto s = CredentialStore::Parse(input, "config.json");
      if (s.ok()) (void)s->Find("docker.io");
      break;
    }
    case 2: {
      auto h = RegistryHosts::Parse(input, "registries.json");
      if (h.ok() && h->EndpointsFor("docker.io").empty()) __builtin_trap();
      break;
    }
    default: {
      auto d = Base64Decode(input);
      if (d.ok()) (void)Base64Encode(*d);
      break;
    }
  }
  return 0;
}
