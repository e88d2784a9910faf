// Resource usage over a window, as the metrics API reports it (what
// `berth top` shows): average CPU in nanocores and the working set in
// bytes, for the node and each running container.
//
// CPU comes from cgroup2's cpu.stat usage_usec, which the kernel keeps for
// every cgroup whether or not the cpu controller is enabled, and the
// node's from /proc/stat. Memory is memory.current minus inactive file
// pages (the kubelet's working set) where the memory controller is
// enabled; where it is not (a hybrid host such as this one), the resident
// set of the cgroup's processes (/proc/<pid>/statm), which counts pages
// they share once per process. The node's is MemTotal - MemAvailable.
//
// A rate needs two readings: Sample() returns a window from its second
// call on, and a container appears once it was seen at both ends.
// Not thread-safe: one reporter owns a meter.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/error.h"

namespace berth::metrics {

struct UsageTarget {
  std::string pod_uid, namespace_, pod, container;
  std::string cgroup;  // inside the cgroup2 mount, "/berth/pods/x/web"
};

struct Usage {
  int64_t cpu_nanocores = 0;
  int64_t memory_bytes = 0;
};

struct ContainerUsage {
  UsageTarget target;
  Usage usage;
};

struct UsageWindow {
  std::chrono::system_clock::time_point end;
  std::chrono::milliseconds length{0};
  Usage node;
  std::vector<ContainerUsage> containers;
};

struct UsageMeterOptions {
  std::filesystem::path cgroup_mount = "/sys/fs/cgroup";
  std::filesystem::path proc = "/proc";
};

class UsageMeter {
 public:
  explicit UsageMeter(UsageMeterOptions options) : options_(std::move(options)) {}

  // Reads the counters now. nullopt on the first call (there is no window
  // yet). A container whose cgroup is gone is left out; an unreadable
  // /proc/stat or /proc/meminfo is an error naming the file.
  Result<std::optional<UsageWindow>> Sample(const std::vector<UsageTarget>& targets);

 private:
  struct Reading {
    std::chrono::steady_clock::time_point at;
    uint64_t node_busy_ns = 0;
    std::map<std::string, uint64_t> cpu_usec;  // by cgroup
  };

  Result<uint64_t> NodeBusyNs() const;
  Result<int64_t> NodeMemory() const;
  // nullopt when the cgroup is gone.
  std::optional<uint64_t> CgroupCpuUsec(const std::string& cgroup) const;
  int64_t CgroupMemory(const std::string& cgroup) const;

  UsageMeterOptions options_;
  std::optional<Reading> last_;
};

// /proc/stat's first line: CPU time spent busy (all but idle and iowait),
// in clock ticks. EINVAL when the line is missing or malformed.
Result<uint64_t> ParseProcStatBusyTicks(std::string_view proc_stat);
// /proc/meminfo: MemTotal - MemAvailable, in bytes.
Result<int64_t> ParseMeminfoUsed(std::string_view meminfo);

}  // namespace berth::metrics
