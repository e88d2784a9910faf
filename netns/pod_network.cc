#include "berth/netns/pod_network.h"

#include <fcntl.h>

#include <sys/socket.h>

#include <net/if.h>

#include "pod_network_impl.h"

#include "berth/common/file.h"
#include "berth/common/log.h"
#include "berth/netns/namespace.h"

namespace berth::netns {
namespace {

namespace fs = std::filesystem;
using detail::NlSocket;

IpPrefix HostPrefix(const IpAddress& a) { return IpPrefix{a, a.is_v4() ? 32 : 128}; }

IpPrefix DefaultRoute(int family) {
  IpPrefix p;
  p.address.family = family;
  return p;
}

Status IgnoreExists(Status s) {
  if (!s.ok() && s.error().err() == EEXIST) return {};
  return s;
}

Status IgnoreMissing(Status s) {
  if (!s.ok() && s.error().err() == ENOENT) return {};
  return s;
}

}  // namespace

Status PodNetwork::Impl::InNode(const std::function<Status(const NlSocket&)>& fn) const {
  return InNetns(node_ns.get(), [&]() -> Status {
    BERTH_ASSIGN_OR_RETURN(NlSocket nl, NlSocket::Open());
    return fn(nl);
  });
}

Status PodNetwork::Impl::InPod(int pod_ns_fd, const std::function<Status(const NlSocket&)>& fn) {
  return InNetns(pod_ns_fd, [&]() -> Status {
    BERTH_ASSIGN_OR_RETURN(NlSocket nl, NlSocket::Open());
    return fn(nl);
  });
}

Status PodNetwork::Impl::EnsureNode() const {
  return InNode([&](const NlSocket& nl) -> Status {
    if (config.set_sysctls) {
      BERTH_TRY(WriteSysctl("net.ipv4.ip_forward", "1"));
      // Loose reverse-path filtering: replies from pods on other nodes come
      // back on the fabric link, never on a veth.
      BERTH_TRY(WriteSysctl("net.ipv4.conf.all.rp_filter", "2"));
      if (config.pod_cidr_v6) BERTH_TRY(WriteSysctl("net.ipv6.conf.all.forwarding", "1"));
    }
    if (config.mode != NodeMode::kBridge) return {};
    auto index = detail::LinkIndex(nl, config.bridge);
    if (!index.ok()) {
      if (index.error().err() != ENOENT) return std::move(index).error();
      BERTH_TRY(detail::CreateBridge(nl, config.bridge, config.mtu));
      BERTH_ASSIGN_OR_RETURN(index, detail::LinkIndex(nl, config.bridge));
    }
    for (Ipam* ipam : Ipams()) {
      const IpPrefix gw{ipam->Gateway(), ipam->range().length};
      BERTH_TRY(IgnoreExists(detail::AddAddress(nl, *index, gw, !gw.address.is_v4())));
    }
    return detail::SetLinkUp(nl, *index);
  });
}

Status PodNetwork::Impl::AddHostRoutes(const NlSocket& nl, const PodRecord& rec,
                                       int host_index) const {
  for (const IpPrefix& a : rec.info.addresses) {
    detail::RouteSpec r;
    r.dst = HostPrefix(a.address);
    r.ifindex = host_index;
    r.link_scope = a.address.is_v4();
    BERTH_TRY(detail::AddRoute(nl, r, /*replace=*/true));
  }
  return {};
}

Status PodNetwork::Impl::Wire(const PodRecord& rec) const {
  const bool routed = config.mode == NodeMode::kRouted;
  const bool v6 = std::any_of(rec.info.addresses.begin(), rec.info.addresses.end(),
                              [](const IpPrefix& p) { return !p.address.is_v4(); });
  BERTH_ASSIGN_OR_RETURN(UniqueFd pod_ns, OpenNetns(rec.info.netns));
  // Announce the pod's addresses when eth0 comes up (gratuitous ARP,
  // unsolicited NA), so neighbours forget whoever held them before.
  // Addresses added below skip DAD; the link-local ones of eth0 must not
  // hold traffic up either.
  BERTH_TRY(InNetns(pod_ns.get(), [v6]() -> Status {
    BERTH_TRY(WriteSysctl("net.ipv4.conf.default.arp_notify", "1"));
    if (!v6) return {};
    BERTH_TRY(WriteSysctl("net.ipv6.conf.default.ndisc_notify", "1"));
    return WriteSysctl("net.ipv6.conf.default.accept_dad", "0");
  }));
  BERTH_TRY(InNode([&](const NlSocket& nl) -> Status {
    detail::VethSpec spec;
    spec.host_name = rec.info.host_interface;
    spec.peer_name = rec.info.interface;
    spec.peer_ns_fd = pod_ns.get();
    spec.mtu = rec.mtu;
    if (routed) {
      spec.host_mac = kRoutedGatewayMac;
    } else {
      BERTH_ASSIGN_OR_RETURN(spec.master, detail::LinkIndex(nl, config.bridge));
      spec.host_up = true;
    }
    Status created = detail::CreateVeth(nl, spec);
    if (!created.ok() && created.error().err() == EEXIST) {
      // The host end of this pod's previous namespace, which the kernel is
      // still tearing down: remove it now and try once more.
      BERTH_TRY(IgnoreMissing(detail::DeleteLink(nl, spec.host_name)));
      created = detail::CreateVeth(nl, spec);
    }
    BERTH_TRY(std::move(created));
    if (!routed) return {};
    const std::string conf = ".conf." + rec.info.host_interface;
    BERTH_TRY(WriteSysctl("net.ipv4" + conf + ".proxy_arp", "1"));
    if (v6) BERTH_TRY(WriteSysctl("net.ipv6" + conf + ".accept_dad", "0"));
    BERTH_ASSIGN_OR_RETURN(int host_index, detail::LinkIndex(nl, rec.info.host_interface));
    BERTH_TRY(detail::SetLinkUp(nl, host_index));
    return AddHostRoutes(nl, rec, host_index);
  }));
  return InPod(pod_ns.get(), [&](const NlSocket& nl) -> Status {
    BERTH_ASSIGN_OR_RETURN(int lo, detail::LinkIndex(nl, "lo"));
    BERTH_TRY(detail::SetLinkUp(nl, lo));
    BERTH_ASSIGN_OR_RETURN(int eth, detail::LinkIndex(nl, rec.info.interface));
    for (const IpPrefix& a : rec.info.addresses) {
      BERTH_TRY(IgnoreExists(detail::AddAddress(nl, eth, a, !a.address.is_v4())));
    }
    BERTH_TRY(detail::SetLinkUp(nl, eth));
    for (const IpAddress& gw : rec.info.gateways) {
      if (routed) {
        // The host end answers for the gateway; a permanent entry saves
        // the first packet an ARP or NDP round trip.
        BERTH_TRY(detail::AddPermanentNeighbor(nl, eth, gw, kRoutedGatewayMac));
        if (gw.is_v4()) {
          detail::RouteSpec link;
          link.dst = HostPrefix(gw);
          link.ifindex = eth;
          link.link_scope = true;
          BERTH_TRY(detail::AddRoute(nl, link, true));
        }
      }
      detail::RouteSpec def;
      def.dst = DefaultRoute(gw.family);
      def.gateway = gw;
      def.ifindex = eth;
      BERTH_TRY(detail::AddRoute(nl, def, true));
    }
    return {};
  });
}

Status PodNetwork::Impl::Remove(const std::string& pod) const {
  const fs::path ns = NetnsPath(pod);
  if (IsNetns(ns)) {
    // Take the pod's addresses off eth0 first, so they can be handed out
    // again at once, then release the namespace: when its last user goes,
    // the kernel unregisters eth0 and with it the host end and routed mode's
    // host routes, batched in its netns cleanup work. Deleting the link here
    // instead would cost an RCU grace period (~20 ms) per pod.
    BERTH_ASSIGN_OR_RETURN(std::optional<PodRecord> rec, LoadRecord(pod));
    if (rec) {
      BERTH_ASSIGN_OR_RETURN(UniqueFd pod_ns, OpenNetns(ns));
      BERTH_TRY(InPod(pod_ns.get(), [&](const NlSocket& nl) -> Status {
        auto eth = detail::LinkIndex(nl, rec->info.interface);
        if (!eth.ok()) return IgnoreMissing(std::move(eth).error());
        for (const IpPrefix& a : rec->info.addresses) {
          Status s = detail::DeleteAddress(nl, *eth, a);
          if (!s.ok() && s.error().err() != ENOENT && s.error().err() != EADDRNOTAVAIL) return s;
        }
        return {};
      }));
    }
    BERTH_TRY(DeleteNetns(ns));
  } else {
    // No namespace to release (gone already, or never made): remove the
    // host end by hand in case something else keeps the namespace alive.
    BERTH_TRY(DeleteNetns(ns));
    BERTH_TRY(InNode([&](const NlSocket& nl) {
      return IgnoreMissing(detail::DeleteLink(nl, HostLinkName(pod)));
    }));
  }
  for (Ipam* ipam : Ipams()) BERTH_TRY(ipam->Release(pod));
  return RemoveRecord(pod);
}

PodNetwork::PodNetwork(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PodNetwork::~PodNetwork() = default;

Result<std::unique_ptr<PodNetwork>> PodNetwork::Open(NodeConfig config) {
  if (!config.pod_cidr_v4 && !config.pod_cidr_v6) {
    return Error::Invalid("node config: give a pod CIDR (IPv4, IPv6 or both)");
  }
  if (config.pod_cidr_v4 && !config.pod_cidr_v4->address.is_v4()) {
    return Error::Invalid("node config: pod_cidr_v4 " + config.pod_cidr_v4->String() +
                          " is not IPv4");
  }
  if (config.pod_cidr_v6 && config.pod_cidr_v6->address.is_v4()) {
    return Error::Invalid("node config: pod_cidr_v6 " + config.pod_cidr_v6->String() +
                          " is not IPv6");
  }
  if (config.link_prefix.empty() || config.link_prefix.size() > 4) {
    return Error::Invalid("node config: link_prefix \"" + config.link_prefix +
                          "\" must be 1-4 characters");
  }
  if (config.bridge.empty() || config.bridge.size() >= IFNAMSIZ) {
    return Error::Invalid("node config: bridge name \"" + config.bridge +
                          "\" must be 1-15 characters");
  }
  if (config.mtu < 576 || config.mtu > 65535) {
    return Error::Invalid("node config: mtu " + std::to_string(config.mtu) + " is out of range");
  }
  auto impl = std::make_unique<Impl>();
  BERTH_TRY(MakeDirs(config.state_dir / "pods", 0700));
  BERTH_TRY(MakeDirs(config.netns_dir, 0755));
  if (config.pod_cidr_v4) {
    BERTH_ASSIGN_OR_RETURN(Ipam ipam, Ipam::Open(config.state_dir / "ipam", *config.pod_cidr_v4));
    impl->ipam_v4.emplace(std::move(ipam));
  }
  if (config.pod_cidr_v6) {
    BERTH_ASSIGN_OR_RETURN(Ipam ipam, Ipam::Open(config.state_dir / "ipam", *config.pod_cidr_v6));
    impl->ipam_v6.emplace(std::move(ipam));
  }
  if (config.node_netns.empty()) {
    BERTH_ASSIGN_OR_RETURN(impl->node_ns,
                           OpenFile("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  } else {
    BERTH_ASSIGN_OR_RETURN(impl->node_ns, OpenNetns(config.node_netns));
  }
  impl->config = std::move(config);
  BERTH_TRY(impl->EnsureNode().Wrap("set up the node side"));
  return std::unique_ptr<PodNetwork>(new PodNetwork(std::move(impl)));
}

Result<PodNetworkInfo> PodNetwork::SetUpPod(const std::string& pod, const PodOptions& options) {
  if (!IsValidPodId(pod)) {
    return Error::Invalid("pod id \"" + pod + "\": use [A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
  }
  if (options.interface.empty() || options.interface.size() >= IFNAMSIZ) {
    return Error::Invalid("pod " + pod + ": interface name \"" + options.interface + "\"");
  }
  const std::string ctx = "set up network of pod " + pod;
  Impl& d = *impl_;
  BERTH_ASSIGN_OR_RETURN(std::optional<PodRecord> existing, d.LoadRecord(pod).Wrap(ctx));
  if (existing && IsNetns(existing->info.netns)) {
    bool linked = false;
    BERTH_TRY(d.InNode([&](const NlSocket& nl) -> Status {
      linked = detail::LinkIndex(nl, existing->info.host_interface).ok();
      return {};
    }));
    if (!linked) BERTH_TRY(d.Wire(*existing).Wrap(ctx + ": repair"));
    return existing->info;
  }
  // A record without its namespace: start over, keeping the addresses.
  if (existing) BERTH_TRY(DeleteNetns(d.NetnsPath(pod)));
  PodRecord rec;
  rec.info.pod = pod;
  rec.info.netns = d.NetnsPath(pod);
  rec.info.interface = options.interface;
  rec.info.host_interface = d.HostLinkName(pod);
  rec.mtu = options.mtu.value_or(d.config.mtu);
  auto undo = [&](Error e) -> Error {
    IgnoreError(d.Remove(pod), "rollback of a failed set-up; the original error matters");
    return std::move(e).Wrap(ctx);
  };
  for (Ipam* ipam : d.Ipams()) {
    auto addr = ipam->Allocate(pod);
    if (!addr.ok()) return undo(std::move(addr).error());
    // Routed mode gives a host prefix (/32, /128, as Calico does): every
    // destination, the pod next door included, goes through the gateway.
    const bool routed = d.config.mode == NodeMode::kRouted;
    rec.info.addresses.push_back(
        IpPrefix{*addr, routed ? (addr->is_v4() ? 32 : 128) : ipam->range().length});
    if (d.config.mode == NodeMode::kRouted) {
      rec.info.gateways.push_back(addr->is_v4() ? RoutedGatewayV4() : RoutedGatewayV6());
    } else {
      rec.info.gateways.push_back(ipam->Gateway());
    }
  }
  if (Status s = d.SaveRecord(rec); !s.ok()) return undo(std::move(s).error());
  if (Status s = CreateNetns(rec.info.netns); !s.ok()) return undo(std::move(s).error());
  if (Status s = d.Wire(rec); !s.ok()) return undo(std::move(s).error());
  log::Debug("pod network set up", {{"pod", pod}, {"host", rec.info.host_interface}});
  return rec.info;
}

Status PodNetwork::TearDownPod(const std::string& pod) {
  if (!IsValidPodId(pod)) return Error::Invalid("pod id \"" + pod + "\"");
  return impl_->Remove(pod).Wrap("tear down network of pod " + pod);
}

Result<std::vector<PodNetworkInfo>> PodNetwork::ListPods() const {
  BERTH_ASSIGN_OR_RETURN(std::vector<PodRecord> recs, impl_->LoadRecords());
  std::vector<PodNetworkInfo> out;
  out.reserve(recs.size());
  for (auto& r : recs) out.push_back(std::move(r.info));
  return out;
}

}  // namespace berth::netns
