#include "ebpf_sources.h"

#include "berth/ebpf/service_lb.h"

namespace berth::metrics {

Result<std::optional<NetworkCounters>> EbpfNetworkSource::Lookup(uint64_t cgroup_id) const {
  BERTH_ASSIGN_OR_RETURN(std::optional<ebpf::NetCounters> c, stats_.Lookup(cgroup_id));
  if (!c) return std::optional<NetworkCounters>();
  return std::optional<NetworkCounters>(
      NetworkCounters{c->rx_bytes, c->rx_packets, c->tx_bytes, c->tx_packets});
}

Result<std::optional<RunqueueHistogram>> EbpfRunqueueSource::Lookup(uint64_t cgroup_id) const {
  BERTH_ASSIGN_OR_RETURN(std::optional<ebpf::RunqueueHistogram> h, runqlat_.Lookup(cgroup_id));
  if (!h) return std::optional<RunqueueHistogram>();
  return std::optional<RunqueueHistogram>(
      RunqueueHistogram{{h->counts.begin(), h->counts.end()}, h->sum_ns, h->count});
}

Result<std::vector<ServiceCounters>> PinnedServicesSource::List() const {
  BERTH_ASSIGN_OR_RETURN(std::vector<ebpf::ServiceState> states,
                         ebpf::ReadPinnedServices(pin_dir_));
  std::vector<ServiceCounters> out;
  out.reserve(states.size());
  for (const auto& st : states) {
    ServiceCounters c{st.service.key.String(), st.connections, {}};
    for (size_t i = 0; i < st.service.backends.size(); ++i) {
      const auto& b = st.service.backends[i];
      const std::string addr =
          b.address.is_v4() ? b.address.String() : "[" + b.address.String() + "]";
      c.backends.emplace_back(addr + ":" + std::to_string(b.port), st.backend_connections[i]);
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace berth::metrics
