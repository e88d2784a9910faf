#include "service_table.h"

#include <optional>
#include <set>
#include <tuple>
#include <utility>

namespace berth::nodeagent {
namespace {

// Kubernetes' DefaultClientIPServiceAffinitySeconds (3 hours).
constexpr uint32_t kDefaultAffinitySeconds = 10800;

// Empty means TCP, as the API defaults it; SCTP or anything else: none.
std::optional<ebpf::Protocol> ProtocolOf(const std::string& protocol) {
  if (protocol.empty() || protocol == "TCP") return ebpf::Protocol::kTcp;
  if (protocol == "UDP") return ebpf::Protocol::kUdp;
  return std::nullopt;
}

std::optional<uint16_t> PortOf(int32_t port) {
  if (port < 1 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

struct Endpoint {
  IpAddress address;
  uint16_t port = 0;
  bool local = false;
};

// The subset's port for service port `sp`: kube-proxy pairs them by name
// and protocol (the endpoints controller copies the service port's name).
std::optional<uint16_t> SubsetPort(const v1::EndpointSubset& subset, const v1::ServicePort& sp,
                                   ebpf::Protocol protocol, bool sole_service_port) {
  for (const v1::EndpointPort& p : subset.ports()) {
    if (p.name() == sp.name() && ProtocolOf(p.protocol()) == protocol) return PortOf(p.port());
  }
  // A hand-written Endpoints for a one-port Service may name its only port.
  if (sp.name().empty() && sole_service_port && subset.ports_size() == 1 &&
      ProtocolOf(subset.ports(0).protocol()) == protocol) {
    return PortOf(subset.ports(0).port());
  }
  return std::nullopt;
}

// Every usable backend of one service port, in the Endpoints' order.
std::vector<Endpoint> EndpointsOf(const v1::ServicePort& sp, ebpf::Protocol protocol,
                                  const v1::Service& svc, const v1::Endpoints* endpoints,
                                  const std::string& node) {
  std::vector<Endpoint> out;
  if (endpoints == nullptr) return out;
  const bool sole_service_port = svc.spec().ports_size() == 1;
  const bool publish_not_ready = svc.spec().publish_not_ready_addresses();
  std::set<std::pair<IpAddress, uint16_t>> seen;
  for (const v1::EndpointSubset& subset : endpoints->subsets()) {
    const std::optional<uint16_t> port = SubsetPort(subset, sp, protocol, sole_service_port);
    if (!port) continue;
    auto add = [&](const google::protobuf::RepeatedPtrField<v1::EndpointAddress>& addresses) {
      for (const v1::EndpointAddress& a : addresses) {
        Result<IpAddress> ip = IpAddress::Parse(a.ip());
        if (!ip.ok()) continue;  // skipped, as the header says
        if (!seen.emplace(*ip, *port).second) continue;
        out.push_back({*ip, *port, !node.empty() && a.node_name() == node});
      }
    };
    add(subset.addresses());
    if (publish_not_ready) add(subset.not_ready_addresses());
  }
  return out;
}

// spec.clusterIPs, or spec.clusterIP before dual-stack; parsed, deduplicated.
std::vector<IpAddress> ClusterIps(const v1::ServiceSpec& spec) {
  std::vector<std::string> texts(spec.cluster_ips().begin(), spec.cluster_ips().end());
  if (texts.empty()) texts.push_back(spec.cluster_ip());
  std::vector<IpAddress> out;
  for (const std::string& text : texts) {
    Result<IpAddress> ip = IpAddress::Parse(text);
    if (!ip.ok()) continue;  // skipped, as the header says
    bool duplicate = false;
    for (const IpAddress& have : out) duplicate = duplicate || have == *ip;
    if (!duplicate) out.push_back(*ip);
  }
  return out;
}

// kube-proxy's ShouldSkipService: no virtual IP to program.
bool HasNoClusterIp(const v1::ServiceSpec& spec) {
  if (spec.type() == "ExternalName") return true;
  const std::string& primary = spec.cluster_ips().empty() ? spec.cluster_ip() : spec.cluster_ips(0);
  return primary.empty() || primary == "None" || spec.cluster_ip() == "None";
}

std::optional<uint32_t> AffinityOf(const v1::ServiceSpec& spec) {
  if (spec.session_affinity() != "ClientIP") return std::nullopt;
  const v1::ClientIPConfig& config = spec.session_affinity_config().client_ip();
  if (config.has_timeout_seconds() && config.timeout_seconds() > 0) {
    return static_cast<uint32_t>(config.timeout_seconds());
  }
  return kDefaultAffinitySeconds;
}

auto Tie(const ebpf::ServiceKey& k) { return std::tie(k.address, k.port, k.protocol); }

}  // namespace

ServiceTable BuildServiceTable(const v1::Service& svc, const v1::Endpoints* endpoints,
                               const std::string& node) {
  ServiceTable table;
  const v1::ServiceSpec& spec = svc.spec();
  if (HasNoClusterIp(spec)) return table;
  const std::vector<IpAddress> cluster_ips = ClusterIps(spec);
  const std::optional<uint32_t> affinity = AffinityOf(spec);
  for (const v1::ServicePort& sp : spec.ports()) {
    const std::optional<ebpf::Protocol> protocol = ProtocolOf(sp.protocol());
    const std::optional<uint16_t> port = PortOf(sp.port());
    if (!protocol || !port) continue;
    const std::vector<Endpoint> found = EndpointsOf(sp, *protocol, svc, endpoints, node);
    for (const IpAddress& ip : cluster_ips) {
      ebpf::Service& entry = table.cluster_ips.emplace_back();
      entry.key = {ip, *port, *protocol};
      entry.affinity_timeout_seconds = affinity;
      for (const Endpoint& e : found) {
        if (e.address.family == ip.family) entry.backends.push_back({e.address, e.port});
      }
    }
    if (spec.type() != "NodePort") continue;
    const std::optional<uint16_t> node_port = PortOf(sp.node_port());
    if (!node_port) continue;
    ebpf::NodePortService& entry = table.node_ports.emplace_back();
    entry.node_port = *node_port;
    entry.protocol = *protocol;
    entry.policy = ebpf::ExternalTrafficPolicy::kCluster;
    for (const Endpoint& e : found) {
      if (e.address.is_v4()) entry.backends.push_back({e.address, e.port, e.local});
    }
  }
  return table;
}

RemovedEntries Removed(const ServiceTable& old_table, const ServiceTable& new_table) {
  RemovedEntries removed;
  auto key_less = [](const ebpf::ServiceKey& a, const ebpf::ServiceKey& b) {
    return Tie(a) < Tie(b);
  };
  std::set<ebpf::ServiceKey, decltype(key_less)> keys(key_less);
  for (const ebpf::Service& s : new_table.cluster_ips) keys.insert(s.key);
  for (const ebpf::Service& s : old_table.cluster_ips) {
    if (keys.insert(s.key).second) removed.cluster_ips.push_back(s.key);
  }
  std::set<std::pair<uint16_t, ebpf::Protocol>> node_ports;
  for (const ebpf::NodePortService& s : new_table.node_ports) {
    node_ports.emplace(s.node_port, s.protocol);
  }
  for (const ebpf::NodePortService& s : old_table.node_ports) {
    if (node_ports.emplace(s.node_port, s.protocol).second) {
      removed.node_ports.push_back({s.node_port, s.protocol});
    }
  }
  return removed;
}

}  // namespace berth::nodeagent
