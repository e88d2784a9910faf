// Per-container metrics with cAdvisor's names, types, units and labels,
// read from cgroup v2 files at scrape time (no background polling). A file
// the host lacks (a controller not enabled) gives no series, never a zero.
// Targets are cgroup paths with the labels the agent knows (container, pod,
// namespace, image, name; `id` is the cgroup path). Thread-safe: Collect()
// keeps no state between calls.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/error.h"

namespace berth::metrics {

struct Target {
  std::string cgroup;  // path inside the cgroup2 hierarchy, "/berth/pods/x/web"
  std::map<std::string, std::string> labels;  // container, pod, namespace, image, name
};

struct NetworkCounters {
  uint64_t rx_bytes = 0, rx_packets = 0, tx_bytes = 0, tx_packets = 0;
};

// Per-cgroup network counters (eBPF cgroup_skb in production, see
// berth/ebpf/netstat.h), looked up by cgroup id (the directory's inode).
class NetworkSource {
 public:
  virtual ~NetworkSource() = default;
  virtual Result<std::optional<NetworkCounters>> Lookup(uint64_t cgroup_id) const = 0;
};

struct CollectorOptions {
  std::filesystem::path cgroup_mount = "/sys/fs/cgroup";
  std::filesystem::path sysfs = "/sys";  // block device names for io series
  // Optional: without it there are no container_network_* series. The
  // counters cover every interface but loopback; Berth pods have one, eth0,
  // which is the interface label.
  const NetworkSource* network = nullptr;
};

class Collector {
 public:
  explicit Collector(CollectorOptions options) : options_(std::move(options)) {}
  // The text exposition of every target. A target whose cgroup is gone is
  // skipped (containers come and go between listing and scraping); a file
  // that cannot be parsed is an error naming it.
  Result<std::string> Collect(const std::vector<Target>& targets) const;

 private:
  CollectorOptions options_;
};

// Targets from JSON: [{"cgroup": "/x", "labels": {"container": "web"}}].
Result<std::vector<Target>> ParseTargets(std::string_view json, std::string_view what);

}  // namespace berth::metrics
