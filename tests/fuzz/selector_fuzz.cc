// Label and field selector strings from API clients: parse, match, and the
// String() round trip must give the same selector.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "berth/control/selector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto s = berth::control::LabelSelector::Parse(text);
  if (s.ok()) {
    (void)s->Matches({{"app", "web"}, {"env", "prod"}});
    auto again = berth::control::LabelSelector::Parse(s->String());
    if (!again.ok() || again->String() != s->String()) std::abort();
  }
  (void)berth::control::ParseFieldSelector(text, {"spec.nodeName", "status.phase"});
  return 0;
}
