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

// Run-queue latency per cgroup (eBPF scheduler tracepoints in production,
// see berth/ebpf/runqlat.h): counts per log2 microsecond bucket.
// The service load balancer's connection counters (ServiceLb::List or
// ReadPinnedServices in production): one row per service with its backends.
struct ServiceCounters {
  std::string service;  // "10.96.0.10:80/TCP"
  uint64_t connections = 0;
  std::vector<std::pair<std::string, uint64_t>> backends;  // "10.1.0.11:8080", connections
};

class ServiceSource {
 public:
  virtual ~ServiceSource() = default;
  virtual Result<std::vector<ServiceCounters>> List() const = 0;
};

// Buckets of berth_container_runqueue_latency_seconds: 1 us to ~67 s, log2.
inline constexpr size_t kRunqueueBuckets = 26;

struct RunqueueHistogram {
  std::vector<uint64_t> counts;  // counts[i]: waits of [2^i, 2^(i+1)) us
  uint64_t sum_ns = 0;
  uint64_t count = 0;
};

class RunqueueSource {
 public:
  virtual ~RunqueueSource() = default;
  virtual Result<std::optional<RunqueueHistogram>> Lookup(uint64_t cgroup_id) const = 0;
};

struct CollectorOptions {
  std::filesystem::path cgroup_mount = "/sys/fs/cgroup";
  std::filesystem::path sysfs = "/sys";  // block device names for io series
  // Optional: without it there are no container_network_* series. The
  // counters cover every interface but loopback; Berth pods have one, eth0,
  // which is the interface label.
  const NetworkSource* network = nullptr;
  // Optional: berth_container_runqueue_latency_seconds.
  const RunqueueSource* runqueue = nullptr;
  // Optional: berth_service_connections_total and
  // berth_service_backend_connections_total.
  const ServiceSource* services = nullptr;
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
