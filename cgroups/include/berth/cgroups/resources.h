// OCI linux.resources as the runtime spec states them (v1-style units and
// names). This module maps them onto cgroup v2 files (see limits.h); the
// runtime's spec parser fills them. Plain data.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::cgroups {

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::string cpus;
  std::string mems;
  std::optional<int64_t> idle;
};

struct MemoryResources {
  std::optional<int64_t> limit;
  std::optional<int64_t> reservation;
  std::optional<int64_t> swap;  // memory+swap, as in v1
  std::optional<int64_t> kernel;
  std::optional<int64_t> kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer;
  std::optional<bool> use_hierarchy;
  std::optional<bool> check_before_update;
};

struct PidsResources {
  int64_t limit = 0;
};

struct BlockIoDevice {
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leaf_weight;
  uint64_t rate = 0;  // throttle entries
};

struct BlockIoResources {
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leaf_weight;
  std::vector<BlockIoDevice> weight_device;
  std::vector<BlockIoDevice> throttle_read_bps_device;
  std::vector<BlockIoDevice> throttle_write_bps_device;
  std::vector<BlockIoDevice> throttle_read_iops_device;
  std::vector<BlockIoDevice> throttle_write_iops_device;
};

struct HugepageLimit {
  std::string page_size;  // "2MB"
  uint64_t limit = 0;
};

struct DeviceCgroupRule {
  bool allow = false;
  std::string type;  // "a", "c", "b"
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::string access;  // "rwm"
};

struct Resources {
  std::vector<DeviceCgroupRule> devices;
  std::optional<CpuResources> cpu;
  std::optional<MemoryResources> memory;
  std::optional<PidsResources> pids;
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::map<std::string, std::string> unified;  // raw cgroup v2 "file": "value"
};

}  // namespace berth::cgroups
