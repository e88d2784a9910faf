// The cgroup v2 file parsers the metrics collector and the runtime read at
// every scrape: the first byte picks one, the rest is the file. None may
// crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "berth/cgroups/stats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  namespace cg = berth::cgroups;
  switch (data[0] % 7) {
    case 0:
      (void)cg::ParseFlatKeyed(text);
      break;
    case 1:
      (void)cg::ParseCpuStat(text);
      break;
    case 2:
      (void)cg::ParseIoStat(text);
      break;
    case 3:
      (void)cg::ParsePressure(text);
      break;
    case 4:
      (void)cg::ParseMaxOrNumber(text);
      break;
    case 5:
      (void)cg::ParseCpuMax(text);
      break;
    default:
      (void)cg::CountLines(text);
      break;
  }
  return 0;
}
