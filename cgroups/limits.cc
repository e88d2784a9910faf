// OCI linux.resources -> cgroup v2 files (see limits.h for the table).
#include "berth/cgroups/limits.h"

#include <cmath>
#include <string>
#include <string_view>

namespace berth::cgroups {
namespace {

// Kernel bounds for cpu.max (kernel/sched/core.c: min_cfs_quota_period is
// 1ms, max_cfs_quota_period is 1s; values are in microseconds).
constexpr uint64_t kMinCfsUsec = 1000;
constexpr uint64_t kMaxCfsPeriodUsec = 1000000;
constexpr uint64_t kDefaultCfsPeriodUsec = 100000;

Error FieldError(std::string_view field, std::string_view what) {
  return Error::Invalid("linux.resources." + std::string(field) + ": " + std::string(what));
}

std::string MaxOr(int64_t v) { return v < 0 ? "max" : std::to_string(v); }

std::string DeviceKey(const BlockIoDevice& d) {
  return std::to_string(d.major) + ":" + std::to_string(d.minor);
}

Status MapCpu(const CpuResources& cpu, std::vector<CgroupWrite>& out) {
  // shares 0 means "unset" (as in crun and runc).
  if (cpu.shares && *cpu.shares != 0) {
    out.push_back({"cpu", "cpu.weight", std::to_string(CpuSharesToWeight(*cpu.shares))});
  }

  // quota 0 means unset, as in crun; a negative quota is "no limit".
  bool has_quota = cpu.quota && *cpu.quota != 0;
  bool has_period = cpu.period && *cpu.period != 0;
  if (cpu.period && *cpu.period == 0 && has_quota && *cpu.quota > 0) {
    return FieldError("cpu.period", "0 with quota " + std::to_string(*cpu.quota) +
                                        "; the period must be 1000..1000000 (microseconds)");
  }
  if (has_period && (*cpu.period < kMinCfsUsec || *cpu.period > kMaxCfsPeriodUsec)) {
    return FieldError("cpu.period",
                      std::to_string(*cpu.period) + " out of range 1000..1000000 (microseconds)");
  }
  if (has_quota && *cpu.quota > 0 && static_cast<uint64_t>(*cpu.quota) < kMinCfsUsec) {
    return FieldError("cpu.quota", std::to_string(*cpu.quota) +
                                       " below the kernel minimum of 1000 (microseconds)");
  }
  if (has_quota || has_period) {
    uint64_t period = has_period ? *cpu.period : kDefaultCfsPeriodUsec;
    std::string quota = has_quota ? MaxOr(*cpu.quota) : "max";
    out.push_back({"cpu", "cpu.max", quota + " " + std::to_string(period)});
  }

  // cgroup v2 has no realtime group scheduling knobs; crun refuses these too.
  if (cpu.realtime_runtime && *cpu.realtime_runtime != 0) {
    return FieldError("cpu.realtimeRuntime", "not supported on cgroup v2");
  }
  if (cpu.realtime_period && *cpu.realtime_period != 0) {
    return FieldError("cpu.realtimePeriod", "not supported on cgroup v2");
  }

  if (cpu.idle) {
    // cpu.idle accepts 0 or 1 (kernel/sched/fair.c, sched_group_set_idle).
    if (*cpu.idle != 0 && *cpu.idle != 1) {
      return FieldError("cpu.idle", std::to_string(*cpu.idle) + " is not 0 or 1");
    }
    out.push_back({"cpu", "cpu.idle", std::to_string(*cpu.idle)});
  }

  if (!cpu.cpus.empty()) out.push_back({"cpuset", "cpuset.cpus", cpu.cpus});
  if (!cpu.mems.empty()) out.push_back({"cpuset", "cpuset.mems", cpu.mems});
  return Ok();
}

Status MapMemory(const MemoryResources& mem, std::vector<CgroupWrite>& out) {
  if (mem.limit) {
    if (*mem.limit < -1) return FieldError("memory.limit", std::to_string(*mem.limit) + " < -1");
    out.push_back({"memory", "memory.max", MaxOr(*mem.limit)});
  }

  if (mem.swap) {
    // OCI's swap is the v1 memsw limit (memory + swap); v2's memory.swap.max
    // counts swap alone, so subtract the memory limit (runc's
    // ConvertMemorySwapToCgroupV2Value, crun's write_memory_swap).
    int64_t swap = *mem.swap;
    if (swap < -1) return FieldError("memory.swap", std::to_string(swap) + " < -1");
    if (swap > 0) {
      if (!mem.limit || *mem.limit < 0) {
        return FieldError("memory.swap", "a memory+swap limit needs a memory limit");
      }
      if (swap < *mem.limit) {
        return FieldError("memory.swap", "memory+swap limit " + std::to_string(swap) +
                                             " is less than the memory limit " +
                                             std::to_string(*mem.limit));
      }
      swap -= *mem.limit;
    }
    out.push_back({"memory", "memory.swap.max", MaxOr(swap)});
  }

  if (mem.reservation) {
    // v1's soft limit has no v2 twin; runc and crun map it to memory.low
    // (best-effort protection from reclaim).
    if (*mem.reservation < 0) {
      return FieldError("memory.reservation", std::to_string(*mem.reservation) + " is negative");
    }
    out.push_back({"memory", "memory.low", std::to_string(*mem.reservation)});
  }

  // v1-only knobs: refuse rather than silently drop them (crun does the same).
  if (mem.kernel) return FieldError("memory.kernel", "not supported on cgroup v2");
  if (mem.kernel_tcp) return FieldError("memory.kernelTCP", "not supported on cgroup v2");
  if (mem.swappiness) return FieldError("memory.swappiness", "not supported on cgroup v2");
  if (mem.disable_oom_killer && *mem.disable_oom_killer) {
    return FieldError("memory.disableOOMKiller", "not supported on cgroup v2");
  }
  if (mem.use_hierarchy && !*mem.use_hierarchy) {
    return FieldError("memory.useHierarchy", "false is not supported: cgroup v2 is hierarchical");
  }
  return Ok();
}

Status CheckDevice(const BlockIoDevice& d, const std::string& field) {
  if (d.major < 0 || d.minor < 0) {
    return FieldError(field, "negative device number " + DeviceKey(d));
  }
  return Ok();
}

Status CheckBlkioWeight(uint16_t weight, const std::string& field) {
  if (weight < 10 || weight > 1000) {
    return FieldError(field, std::to_string(weight) + " out of range 10..1000");
  }
  return Ok();
}

Status MapBlockIo(const BlockIoResources& io, std::vector<CgroupWrite>& out) {
  // weight 0 means unset (crun, runc).
  if (io.weight && *io.weight != 0) {
    BERTH_TRY(CheckBlkioWeight(*io.weight, "blockIO.weight"));
    out.push_back(
        {"io", "io.weight", "default " + std::to_string(BlkioWeightToIoWeight(*io.weight))});
  }
  if (io.leaf_weight && *io.leaf_weight != 0) {
    return FieldError("blockIO.leafWeight", "not supported on cgroup v2");
  }
  for (size_t i = 0; i < io.weight_device.size(); ++i) {
    const BlockIoDevice& d = io.weight_device[i];
    std::string field = "blockIO.weightDevice[" + std::to_string(i) + "]";
    BERTH_TRY(CheckDevice(d, field));
    if (d.leaf_weight && *d.leaf_weight != 0) {
      return FieldError(field + ".leafWeight", "not supported on cgroup v2");
    }
    if (!d.weight || *d.weight == 0) continue;
    BERTH_TRY(CheckBlkioWeight(*d.weight, field + ".weight"));
    out.push_back(
        {"io", "io.weight", DeviceKey(d) + " " + std::to_string(BlkioWeightToIoWeight(*d.weight))});
  }

  struct Throttle {
    const std::vector<BlockIoDevice>* devices;
    const char* field;
    const char* key;
  };
  const Throttle throttles[] = {
      {&io.throttle_read_bps_device, "blockIO.throttleReadBpsDevice", "rbps"},
      {&io.throttle_write_bps_device, "blockIO.throttleWriteBpsDevice", "wbps"},
      {&io.throttle_read_iops_device, "blockIO.throttleReadIOPSDevice", "riops"},
      {&io.throttle_write_iops_device, "blockIO.throttleWriteIOPSDevice", "wiops"},
  };
  for (const Throttle& t : throttles) {
    for (size_t i = 0; i < t.devices->size(); ++i) {
      const BlockIoDevice& d = (*t.devices)[i];
      BERTH_TRY(CheckDevice(d, std::string(t.field) + "[" + std::to_string(i) + "]"));
      // v1 used 0 to remove a throttle; v2 spells that "max" (as runc does).
      std::string rate = d.rate == 0 ? "max" : std::to_string(d.rate);
      out.push_back({"io", "io.max", DeviceKey(d) + " " + t.key + "=" + rate});
    }
  }
  return Ok();
}

// OCI page sizes look like "2MB", "1GB", "64KB": the kernel's own
// hugetlb.<size>.max names (mm/hugetlb_cgroup.c, mem_fmt).
bool ValidPageSize(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0 || s.size() != i + 2) return false;
  char unit = s[i];
  return (unit == 'K' || unit == 'M' || unit == 'G') && s[i + 1] == 'B';
}

Status MapUnified(const std::map<std::string, std::string>& unified,
                  std::vector<CgroupWrite>& out) {
  for (const auto& [key, value] : unified) {
    std::string field = "unified[\"" + key + "\"]";
    if (key.find('/') != std::string::npos || key.find("..") != std::string::npos) {
      return FieldError(field, "key must be a file name without '/' or \"..\"");
    }
    size_t dot = key.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == key.size()) {
      return FieldError(field, "key is not a cgroup v2 interface file (<controller>.<name>)");
    }
    // Multi-line values are written one line per write(2), as the kernel
    // parses one entry per write for files like io.max (crun does this too).
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      if (line.empty()) continue;
      out.push_back({key.substr(0, dot), key, std::string(line)});
    }
  }
  return Ok();
}

}  // namespace

uint64_t CpuSharesToWeight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  // A quadratic in log2(shares) that passes through the v1 minimum, default
  // and maximum: (2 -> 1), (1024 -> 100), (262144 -> 10000). Same math as
  // crun's convert_shares_to_weight.
  double l = std::log2(static_cast<double>(shares));
  double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
  return static_cast<uint64_t>(std::ceil(std::pow(10.0, exponent)));
}

uint64_t BlkioWeightToIoWeight(uint64_t weight) {
  if (weight < 10) weight = 10;
  if (weight > 1000) weight = 1000;
  return 1 + (weight - 10) * 9999 / 990;
}

Result<std::vector<CgroupWrite>> MapResources(const Resources& resources) {
  std::vector<CgroupWrite> out;
  if (resources.cpu) BERTH_TRY(MapCpu(*resources.cpu, out));
  if (resources.memory) BERTH_TRY(MapMemory(*resources.memory, out));
  if (resources.pids) {
    out.push_back({"pids", "pids.max",
                   resources.pids->limit <= 0 ? "max" : std::to_string(resources.pids->limit)});
  }
  if (resources.block_io) BERTH_TRY(MapBlockIo(*resources.block_io, out));
  for (size_t i = 0; i < resources.hugepage_limits.size(); ++i) {
    const HugepageLimit& h = resources.hugepage_limits[i];
    if (!ValidPageSize(h.page_size)) {
      return FieldError("hugepageLimits[" + std::to_string(i) + "].pageSize",
                        "\"" + h.page_size + "\" is not like 2MB or 1GB");
    }
    out.push_back({"hugetlb", "hugetlb." + h.page_size + ".max", std::to_string(h.limit)});
  }
  // Last: unified entries override anything mapped above (crun applies them
  // last for the same reason).
  BERTH_TRY(MapUnified(resources.unified, out));
  return out;
}

}  // namespace berth::cgroups
