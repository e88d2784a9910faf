// Internal: the netlink operations the pod network needs, over libnl-route.
// Each call works in the network namespace the NlSocket was opened in (a
// netlink socket stays bound to the namespace of the thread that created it).
// Not thread-safe per socket; open one per thread.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/error.h"
#include "berth/common/ip.h"

struct nl_sock;

namespace berth::netns::detail {

// Routes Berth installs carry this rtm_protocol, so Reconcile can find them
// (0-4 are the kernel's; iproute2's rt_protos names 8-192 sparsely, 77 is
// not among them). `ip route` shows it as "proto 77".
inline constexpr int kBerthRouteProtocol = 77;

using Mac = std::array<uint8_t, 6>;

class NlSocket {
 public:
  // Connects a NETLINK_ROUTE socket in the calling thread's namespace.
  static Result<NlSocket> Open();
  nl_sock* get() const { return sock_.get(); }

 private:
  struct Deleter {
    void operator()(nl_sock* s) const;
  };
  std::unique_ptr<nl_sock, Deleter> sock_;
};

struct LinkInfo {
  int index = 0;
  std::string name;
  std::string kind;  // "veth", "bridge", ... (empty when unknown)
  int master = 0;
  bool up = false;
  std::optional<Mac> mac;  // Ethernet links
};

// ENOENT when there is no such link.
Result<int> LinkIndex(const NlSocket& nl, const std::string& name);
Result<std::vector<LinkInfo>> ListLinks(const NlSocket& nl);

struct VethSpec {
  std::string host_name;
  std::string peer_name;  // created directly in peer_ns_fd under this name
  int peer_ns_fd = -1;
  int mtu = 1500;
  int master = 0;  // bridge ifindex for the host end, 0 for none
  bool host_up = false;
  std::optional<Mac> host_mac;
};
Status CreateVeth(const NlSocket& nl, const VethSpec& spec);
// With a random locally administered MAC set explicitly: a bridge left to
// itself takes the lowest MAC among its ports and changes it as pods come
// and go, and every pod's ARP entry for the gateway then points nowhere
// until it is probed again (seconds of lost packets).
Status CreateBridge(const NlSocket& nl, const std::string& name, int mtu);
Status SetLinkUp(const NlSocket& nl, int index);
// ENOENT when absent.
Status DeleteLink(const NlSocket& nl, const std::string& name);

// EEXIST when the address is already there.
Status AddAddress(const NlSocket& nl, int ifindex, const IpPrefix& address, bool nodad);
// ENOENT or EADDRNOTAVAIL when absent.
Status DeleteAddress(const NlSocket& nl, int ifindex, const IpPrefix& address);
Result<std::vector<IpPrefix>> ListAddresses(const NlSocket& nl, int ifindex);

struct RouteSpec {
  IpPrefix dst;  // length 0: default route
  std::optional<IpAddress> gateway;
  int ifindex = 0;
  bool link_scope = false;
  bool onlink = false;
  int protocol = kBerthRouteProtocol;
};
// replace: NLM_F_REPLACE (idempotent); otherwise EEXIST when present.
Status AddRoute(const NlSocket& nl, const RouteSpec& route, bool replace);
// ENOENT (ESRCH from the kernel) when absent.
Status DeleteRoute(const NlSocket& nl, const RouteSpec& route);
// Main-table routes with the given protocol.
Result<std::vector<RouteSpec>> ListRoutes(const NlSocket& nl, int family, int protocol);

Status AddPermanentNeighbor(const NlSocket& nl, int ifindex, const IpAddress& ip, const Mac& mac);

}  // namespace berth::netns::detail
