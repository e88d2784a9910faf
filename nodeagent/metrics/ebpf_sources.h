// The collector's optional sources backed by Berth's eBPF programs: network
// counters (ebpf::NetStats), run-queue latency (ebpf::Runqlat) and the
// service load balancer's counters read from its pins. Each borrows the
// eBPF owner, which must outlive it. Thread-safe as the owners' lookups are.
#pragma once

#include <filesystem>

#include "collector.h"

#include "berth/ebpf/netstat.h"
#include "berth/ebpf/runqlat.h"

namespace berth::metrics {

class EbpfNetworkSource : public NetworkSource {
 public:
  explicit EbpfNetworkSource(const ebpf::NetStats& stats) : stats_(stats) {}
  Result<std::optional<NetworkCounters>> Lookup(uint64_t cgroup_id) const override;

 private:
  const ebpf::NetStats& stats_;
};

class EbpfRunqueueSource : public RunqueueSource {
 public:
  explicit EbpfRunqueueSource(const ebpf::Runqlat& runqlat) : runqlat_(runqlat) {}
  Result<std::optional<RunqueueHistogram>> Lookup(uint64_t cgroup_id) const override;

 private:
  const ebpf::Runqlat& runqlat_;
};

// The agent's pinned service load balancer maps, read-only.
class PinnedServicesSource : public ServiceSource {
 public:
  explicit PinnedServicesSource(std::filesystem::path pin_dir) : pin_dir_(std::move(pin_dir)) {}
  Result<std::vector<ServiceCounters>> List() const override;

 private:
  std::filesystem::path pin_dir_;
};

}  // namespace berth::metrics
