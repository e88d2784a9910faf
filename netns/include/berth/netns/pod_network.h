// Pod networking for one node, the way the agent drives it: every pod gets a
// network namespace (held by a bind mount under netns_dir), a veth pair with
// eth0 inside, an address of each configured family from the node's pod
// CIDRs, and a default route; the node side is either a bridge holding the
// gateway addresses (bridge mode, the default) or a /32 and /128 route per
// pod on the host end with proxy ARP (routed mode, like Calico). Peers'
// pod CIDRs are routed via their node addresses (host-gw). All link, address,
// route and neighbour work is netlink through libnl.
//
// State (state_dir): ipam/<cidr>/<address> (see ipam.h), pods/<id>.json
// (namespace, host link, addresses), peers.json. An agent restart opens the
// same state and keeps every pod's address; Reconcile() repairs what is
// missing and removes what Berth made that no pod owns.
//
// Everything happens in the node's network namespace (node_netns, or the
// caller's), so tests can run several nodes in one process. Thread-safe:
// pods may be set up and torn down concurrently. Errors: EINVAL for bad pod
// ids and configuration, ENOSPC when a pod CIDR is exhausted, ENOENT for an
// unknown pod, errno of the netlink and file operations, with the pod id.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/error.h"
#include "berth/common/ip.h"

namespace berth::netns {

using berth::IpAddress;
using berth::IpPrefix;

enum class NodeMode { kBridge, kRouted };

struct NodeConfig {
  std::filesystem::path state_dir = "/var/lib/berth/netns";
  std::filesystem::path netns_dir = "/run/berth/netns";
  // The node's own namespace (a path such as /run/netns/node1); empty: the
  // namespace of the thread that calls Open().
  std::filesystem::path node_netns;
  NodeMode mode = NodeMode::kBridge;
  std::string bridge = "berth0";
  // Host ends are named <link_prefix><11 hex digits of a hash of the pod id>.
  std::string link_prefix = "bth";
  std::optional<IpPrefix> pod_cidr_v4;
  std::optional<IpPrefix> pod_cidr_v6;
  int mtu = 1500;
  // Set net.ipv4.ip_forward, net.ipv6.conf.all.forwarding and loose
  // rp_filter in the node namespace (see README: what a real node needs).
  bool set_sysctls = true;
};

struct PodOptions {
  std::string interface = "eth0";
  std::optional<int> mtu;  // default: the node's
};

struct PodNetworkInfo {
  std::string pod;
  std::filesystem::path netns;
  std::string interface;       // inside the pod
  std::string host_interface;  // the node side
  // Pod addresses: with the CIDR's prefix length in bridge mode, /32 and /128
  // in routed mode.
  std::vector<IpPrefix> addresses;
  std::vector<IpAddress> gateways;  // default route next hops, one per family
};

struct Peer {
  std::string name;
  std::vector<IpAddress> node_addresses;  // one per family the node speaks
  std::vector<IpPrefix> pod_cidrs;
};

struct ReconcileReport {
  int pods_repaired = 0;
  int pods_dropped = 0;   // state whose namespace was gone
  int links_removed = 0;  // host ends no pod owns
  int namespaces_removed = 0;
  int addresses_released = 0;
  int routes_fixed = 0;  // peer and pod routes added or removed
};

class PodNetwork {
 public:
  // Checks the configuration, creates the state directories and the node
  // side (bridge and gateway addresses, sysctls) when missing.
  static Result<std::unique_ptr<PodNetwork>> Open(NodeConfig config);
  ~PodNetwork();
  PodNetwork(const PodNetwork&) = delete;
  PodNetwork& operator=(const PodNetwork&) = delete;

  // Idempotent: a pod already set up gets its existing addresses back.
  // On failure nothing of the pod is left behind.
  Result<PodNetworkInfo> SetUpPod(const std::string& pod, const PodOptions& options = {});
  // Idempotent: an unknown pod is fine. Releases the pod's namespace, its
  // addresses and its state; the kernel removes the veth pair (and routed
  // mode's host routes) when it frees the namespace, asynchronously and in
  // batches, so call this once the pod's processes are gone. Reconcile()
  // removes a host end whose namespace something else kept alive.
  Status TearDownPod(const std::string& pod);
  Result<std::vector<PodNetworkInfo>> ListPods() const;

  // The complete set of peers: routes of departed peers are removed.
  Status SetPeers(const std::vector<Peer>& peers);

  // Makes the node match the state: recreate missing pod links and routes,
  // drop pods whose namespace vanished, remove stray links, namespaces,
  // address allocations and routes. Running it twice changes nothing.
  Result<ReconcileReport> Reconcile();

 private:
  struct Impl;
  explicit PodNetwork(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A node-local service address (the cluster DNS at 169.254.20.10) on the
// loopback of the node's namespace (empty: the caller's): pods reach it
// through their gateway, as NodeLocal DNSCache's address. Idempotent.
Status AddLocalAddress(const std::filesystem::path& node_netns, const IpPrefix& address);

// Pod ids: [A-Za-z0-9][A-Za-z0-9_.-]{0,127}.
bool IsValidPodId(const std::string& pod);

}  // namespace berth::netns
