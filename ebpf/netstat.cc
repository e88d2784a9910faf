#include "berth/ebpf/netstat.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <vector>

#include "bpf_skeleton.h"
#include "cgroup_links.h"

extern "C" {
#include "netstat.h"
}
#include "netstat.skel.h"

namespace berth::ebpf {

using NetSkeleton = BpfSkeleton<netstat, netstat__open_opts, netstat__load, netstat__destroy>;

struct NetStats::Impl {
  NetStatsOptions options;
  NetSkeleton skel;
  PinnedCgroupLinks links;  // declared after skel: closed before it is destroyed
  int map_fd() const { return bpf_map__fd(skel->maps.berth_netstat); }
};

NetStats::NetStats(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NetStats::~NetStats() = default;

Result<std::unique_ptr<NetStats>> NetStats::Open(const NetStatsOptions& options) {
  const std::string ctx = "network counters at " + options.cgroup.string();
  BERTH_TRY(EnsureBpffsDir(options.pin_dir).Wrap(ctx));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  const std::string pin_root = options.pin_dir.string();
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root.c_str());
  BERTH_ASSIGN_OR_RETURN(impl->skel, NetSkeleton::Open("netstat", &opts).Wrap(ctx));
  BERTH_TRY(impl->skel.Load("netstat").Wrap(ctx));
  BERTH_ASSIGN_OR_RETURN(
      impl->links,
      PinnedCgroupLinks::Attach(impl->skel->obj, options.cgroup, options.pin_dir).Wrap(ctx));
  return std::unique_ptr<NetStats>(new NetStats(std::move(impl)));
}

Result<std::optional<NetCounters>> NetStats::Lookup(uint64_t cgroup_id) const {
  const int cpus = std::max(libbpf_num_possible_cpus(), 1);
  std::vector<berth_netstat> per_cpu(static_cast<size_t>(cpus));
  if (bpf_map_lookup_elem(impl_->map_fd(), &cgroup_id, per_cpu.data()) < 0) {
    if (errno == ENOENT) return std::optional<NetCounters>();
    return Error::FromErrno("read network counters of cgroup " + std::to_string(cgroup_id));
  }
  NetCounters c;
  for (const auto& v : per_cpu) {
    c.rx_bytes += v.rx_bytes;
    c.rx_packets += v.rx_packets;
    c.tx_bytes += v.tx_bytes;
    c.tx_packets += v.tx_packets;
  }
  return std::optional<NetCounters>(c);
}

Status NetStats::Forget(uint64_t cgroup_id) {
  if (bpf_map_delete_elem(impl_->map_fd(), &cgroup_id) < 0 && errno != ENOENT) {
    return Error::FromErrno("forget cgroup " + std::to_string(cgroup_id));
  }
  return {};
}

Status NetStats::Uninstall() {
  BERTH_TRY(impl_->links.Detach());
  return UnpinMaps(impl_->skel->obj, impl_->options.pin_dir);
}

}  // namespace berth::ebpf
