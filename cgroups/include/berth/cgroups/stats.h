// Pure parsers for cgroup v2 stat files (formats in the kernel's
// Documentation/admin-guide/cgroup-v2.rst, "Interface Files", and
// Documentation/accounting/psi.rst). Cgroup::ReadStats reads the files and
// calls these. Stateless, thread-safe. Errors: EINVAL naming the bad line.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/cgroups/cgroup.h"
#include "berth/common/error.h"

namespace berth::cgroups {

// "key value\n" lines (cpu.stat, memory.stat, memory.events, cgroup.events).
Result<std::map<std::string, uint64_t>> ParseFlatKeyed(std::string_view text);

// cpu.stat; unknown keys are ignored, missing ones stay 0.
Result<CpuStats> ParseCpuStat(std::string_view text);

// io.stat: "<maj>:<min> rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N".
Result<std::vector<IoDeviceStats>> ParseIoStat(std::string_view text);

// PSI: "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and a "full" line.
Result<Pressure> ParsePressure(std::string_view text);

// A single number or "max" (pids.max, memory.max): nullopt for "max".
Result<std::optional<uint64_t>> ParseMaxOrNumber(std::string_view text);

// cpu.max: "<quota|max> <period>"; quota nullopt for "max".
struct CpuMax {
  std::optional<uint64_t> quota_usec;
  uint64_t period_usec = 100000;
};
Result<CpuMax> ParseCpuMax(std::string_view text);

// Lines of cgroup.procs / cgroup.threads.
size_t CountLines(std::string_view text);

// A single unsigned number (pids.current, memory.current).
Result<uint64_t> ParseNumber(std::string_view text);

}  // namespace berth::cgroups
