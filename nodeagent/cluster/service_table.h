// What kube-proxy computes from a Service and its Endpoints, as the tables
// the node's eBPF load balancer takes: ClusterIP entries for the socket LB
// (ebpf::ServiceLb) and NodePort entries for the tc programs
// (ebpf::NodePort). A pure translation: no I/O, no state.
//
// Functions only; thread-safe. No errors: the objects come from the
// control plane already validated, and whatever is still unusable is
// skipped, never fatal. An unparsable cluster IP drops that IP's entries;
// an unparsable or out-of-range endpoint address or port drops that
// backend; a port outside 1-65535, an SCTP port (neither LB handles SCTP)
// or an unknown protocol drops that service port.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core.pb.h"

#include "berth/ebpf/nodeport.h"
#include "berth/ebpf/service_lb.h"

namespace berth::nodeagent {

struct ServiceTable {
  std::vector<ebpf::Service> cluster_ips;
  std::vector<ebpf::NodePortService> node_ports;
};

// The entries of one Service, as kube-proxy builds them:
// - ExternalName services, and clusterIP "None" (headless) or empty (not
//   allocated yet), get no entries at all (kube-proxy's ShouldSkipService).
// - One ClusterIP entry per service port and per address of
//   spec.clusterIPs (spec.clusterIP when that is empty); protocol empty
//   means TCP. Its backends are the ready addresses of every subset
//   (notReadyAddresses too when spec.publishNotReadyAddresses), of the
//   cluster IP's family, at the subset's port with the service port's name
//   and protocol; an unnamed service port that is the only one also takes
//   a subset's only port of that protocol, whatever its name. Backends keep
//   the Endpoints' order, without duplicates. No `endpoints`, or no
//   matching port: no backends, and the LB refuses connections.
// - sessionAffinity ClientIP: affinity_timeout_seconds from
//   sessionAffinityConfig.clientIP.timeoutSeconds, 10800 when unset.
// - type NodePort: one entry per port with a nodePort, with the same
//   backends (IPv4 only, the tc programs' family), `local` when the
//   address's nodeName is `node`. Policy Cluster: the API has no
//   externalTrafficPolicy.
ServiceTable BuildServiceTable(const v1::Service& svc, const v1::Endpoints* endpoints,
                               const std::string& node);

struct NodePortId {
  uint16_t node_port = 0;
  ebpf::Protocol protocol = ebpf::Protocol::kTcp;
};

// Entries `old_table` has and `new_table` has not: what to Delete after
// upserting `new_table`. Keyed by address, port and protocol (ClusterIP) and
// by node port and protocol (NodePort); in `old_table`'s order.
struct RemovedEntries {
  std::vector<ebpf::ServiceKey> cluster_ips;
  std::vector<NodePortId> node_ports;
};
RemovedEntries Removed(const ServiceTable& old_table, const ServiceTable& new_table);

}  // namespace berth::nodeagent
