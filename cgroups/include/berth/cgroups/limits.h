// Pure mapping of OCI linux.resources (v1-style names and units, see
// resources.h) onto cgroup v2 interface files. No I/O: Cgroup::Apply writes
// what MapResources returns. Stateless and thread-safe.
//
// Errors: EINVAL naming the OCI field ("linux.resources.memory.swap: ...") for
// values cgroup v2 cannot express or the kernel would reject.
//
// Mapping (see docs/Documentation/admin-guide/cgroup-v2.rst in the kernel):
//   cpu.shares            -> cpu.weight   (CpuSharesToWeight, crun's formula)
//   cpu.quota/period      -> cpu.max      "<quota|max> <period>", period default 100000
//   cpu.idle              -> cpu.idle
//   cpu.cpus/mems         -> cpuset.cpus / cpuset.mems
//   memory.limit          -> memory.max   (negative: "max")
//   memory.reservation    -> memory.low   (as runc and crun do: v1's soft limit
//                                          is best approximated by protection)
//   memory.swap           -> memory.swap.max = swap - limit (OCI swap is
//                                          memory+swap); -1: "max"
//   pids.limit            -> pids.max     (<= 0: "max")
//   blockIO.weight        -> io.weight    "default <BlkioWeightToIoWeight>"
//   blockIO.weightDevice  -> io.weight    "<maj>:<min> <converted>"
//   blockIO.throttle*     -> io.max       "<maj>:<min> rbps|wbps|riops|wiops=<n>"
//   hugepageLimits        -> hugetlb.<size>.max
//   unified               -> the named file, verbatim, last (it overrides)
// linux.resources.devices is not a file in cgroup v2 (it is a BPF program)
// and is not mapped here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "berth/cgroups/resources.h"
#include "berth/common/error.h"

namespace berth::cgroups {

// One write to one cgroup v2 interface file.
struct CgroupWrite {
  std::string controller;  // "cpu", "memory", ...; "cgroup" for core files (always present)
  std::string file;        // "cpu.max"
  std::string value;       // written as is, in one write(2)
  bool operator==(const CgroupWrite&) const = default;
};

// The writes for `resources`, in the order they must be applied.
Result<std::vector<CgroupWrite>> MapResources(const Resources& resources);

// cgroup v1 cpu.shares [2, 262144] -> cgroup v2 cpu.weight [1, 10000].
// crun's quadratic fit through (2, 1), (1024, 100), (262144, 10000) in log2
// space (crun src/libcrun/cgroup-internal.h, convert_shares_to_weight, crun
// 1.8+): l = log2(shares); w = ceil(10^((l*l + 125*l)/612 - 7/34)).
// 0 means unset and returns 0.
uint64_t CpuSharesToWeight(uint64_t shares);

// cgroup v1 blkio.weight [10, 1000] -> cgroup v2 io.weight [1, 10000],
// linearly as crun does (src/libcrun/cgroup-resources.c,
// write_blkio_resources): 1 + (weight - 10) * 9999 / 990. Input outside
// [10, 1000] is clamped to the range first.
uint64_t BlkioWeightToIoWeight(uint64_t weight);

}  // namespace berth::cgroups
