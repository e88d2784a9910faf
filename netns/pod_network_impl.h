// Internal: PodNetwork's state and the steps its public operations share
// (pod_network.cc sets pods up and down, reconcile.cc repairs and routes).
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "nl.h"

#include "berth/common/unique_fd.h"
#include "berth/netns/ipam.h"
#include "berth/netns/pod_network.h"

namespace berth::netns {

// What the state directory remembers of a pod (pods/<id>.json).
struct PodRecord {
  PodNetworkInfo info;
  int mtu = 1500;
};

struct PodNetwork::Impl {
  NodeConfig config;
  UniqueFd node_ns;
  mutable std::optional<Ipam> ipam_v4;  // Ipam changes files, not itself
  mutable std::optional<Ipam> ipam_v6;
  std::mutex peers_mu;  // SetPeers and the peer part of Reconcile

  // Runs `fn` in the node namespace with a netlink socket opened there.
  Status InNode(const std::function<Status(const detail::NlSocket&)>& fn) const;
  // The same inside a pod's namespace.
  static Status InPod(int pod_ns_fd, const std::function<Status(const detail::NlSocket&)>& fn);

  std::filesystem::path NetnsPath(const std::string& pod) const;
  std::filesystem::path RecordPath(const std::string& pod) const;
  std::string HostLinkName(const std::string& pod) const;
  std::vector<Ipam*> Ipams() const;

  // Bridge with gateway addresses, sysctls.
  Status EnsureNode() const;
  // The veth pair and everything on both sides, for a pod whose namespace
  // exists and whose host end does not.
  Status Wire(const PodRecord& rec) const;
  // The host routes of a routed-mode pod (replace: idempotent).
  Status AddHostRoutes(const detail::NlSocket& nl, const PodRecord& rec, int host_index) const;

  Result<std::optional<PodRecord>> LoadRecord(const std::string& pod) const;
  Result<std::vector<PodRecord>> LoadRecords() const;
  Status SaveRecord(const PodRecord& rec) const;
  Status RemoveRecord(const std::string& pod) const;
  // Host link, namespace, addresses and record of a pod; missing parts are fine.
  Status Remove(const std::string& pod) const;

  // Peer routes: the desired set from `peers`, applied as a diff.
  Result<int> ApplyPeers(const std::vector<Peer>& peers) const;
};

// Routed mode: the gateway every pod uses, answered by the host end's MAC.
inline constexpr detail::Mac kRoutedGatewayMac = {0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
// 169.254.1.1 and the link-local address that MAC gives the host end.
IpAddress RoutedGatewayV4();
IpAddress RoutedGatewayV6();

// Writes /proc/sys/<key with dots as slashes> in the calling thread's namespace.
Status WriteSysctl(const std::string& key, const std::string& value);

}  // namespace berth::netns
