#include "nl.h"

#include <linux/rtnetlink.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

namespace berth::netns::detail {
namespace {

// libnl answers with its own NLE_* codes; map the ones callers branch on.
int ToErrno(int nl_err) {
  switch (-nl_err < 0 ? nl_err : -nl_err) {
    case NLE_EXIST:
      return EEXIST;
    case NLE_OBJ_NOTFOUND:
    case NLE_NODEV:
      return ENOENT;
    case NLE_PERM:
      return EPERM;
    case NLE_BUSY:
      return EBUSY;
    case NLE_INVAL:
      return EINVAL;
    case NLE_NOMEM:
      return ENOMEM;
    case NLE_RANGE:
      return ERANGE;
    case NLE_NOADDR:
      return EADDRNOTAVAIL;
    case NLE_OPNOTSUPP:
      return EOPNOTSUPP;
    default:
      return EIO;
  }
}

Error NlError(int err, const std::string& what) {
  return Error::Sys(ToErrno(err), what + ": " + nl_geterror(err));
}

template <typename T, void (*Free)(T*)>
struct Put {
  void operator()(T* p) const {
    if (p) Free(p);
  }
};
using Link = std::unique_ptr<rtnl_link, Put<rtnl_link, rtnl_link_put>>;
using Addr = std::unique_ptr<nl_addr, Put<nl_addr, nl_addr_put>>;
using RtAddr = std::unique_ptr<rtnl_addr, Put<rtnl_addr, rtnl_addr_put>>;
using Route = std::unique_ptr<rtnl_route, Put<rtnl_route, rtnl_route_put>>;
using Neigh = std::unique_ptr<rtnl_neigh, Put<rtnl_neigh, rtnl_neigh_put>>;
using Cache = std::unique_ptr<nl_cache, Put<nl_cache, nl_cache_free>>;

Addr ToNl(const IpAddress& a, int prefix) {
  Addr out(nl_addr_build(a.family, a.bytes.data(), a.size()));
  if (out) nl_addr_set_prefixlen(out.get(), prefix);
  return out;
}

std::optional<IpAddress> FromNl(const nl_addr* a) {
  if (!a) return std::nullopt;
  IpAddress ip;
  ip.family = nl_addr_get_family(a);
  const unsigned len = nl_addr_get_len(a);
  if ((ip.family != AF_INET && ip.family != AF_INET6) || len > 16) return std::nullopt;
  const auto* bytes = static_cast<const uint8_t*>(nl_addr_get_binary_addr(a));
  std::copy(bytes, bytes + len, ip.bytes.begin());
  return ip;
}

Route BuildRoute(const RouteSpec& r) {
  Route route(rtnl_route_alloc());
  const int family = r.dst.address.family;
  rtnl_route_set_family(route.get(), static_cast<uint8_t>(family));
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(route.get(), static_cast<uint8_t>(r.protocol));
  rtnl_route_set_scope(route.get(), r.link_scope ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);
  Addr dst = ToNl(r.dst.Network().address, r.dst.length);
  rtnl_route_set_dst(route.get(), dst.get());
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (r.ifindex > 0) rtnl_route_nh_set_ifindex(nh, r.ifindex);
  if (r.gateway) {
    Addr gw = ToNl(*r.gateway, r.gateway->is_v4() ? 32 : 128);
    rtnl_route_nh_set_gateway(nh, gw.get());
  }
  if (r.onlink) rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns nh now
  return route;
}

}  // namespace

void NlSocket::Deleter::operator()(nl_sock* s) const { nl_socket_free(s); }

Result<NlSocket> NlSocket::Open() {
  NlSocket s;
  s.sock_.reset(nl_socket_alloc());
  if (!s.sock_) return Error::Sys(ENOMEM, "nl_socket_alloc");
  if (int err = nl_connect(s.get(), NETLINK_ROUTE); err < 0) {
    return NlError(err, "connect NETLINK_ROUTE");
  }
  return s;
}

Result<int> LinkIndex(const NlSocket& nl, const std::string& name) {
  rtnl_link* raw = nullptr;
  if (int err = rtnl_link_get_kernel(nl.get(), 0, name.c_str(), &raw); err < 0) {
    return NlError(err, "link " + name);
  }
  Link link(raw);
  return rtnl_link_get_ifindex(link.get());
}

Result<std::vector<LinkInfo>> ListLinks(const NlSocket& nl) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(nl.get(), AF_UNSPEC, &raw); err < 0) {
    return NlError(err, "list links");
  }
  Cache cache(raw);
  std::vector<LinkInfo> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* l = reinterpret_cast<rtnl_link*>(o);
    LinkInfo info;
    info.index = rtnl_link_get_ifindex(l);
    info.name = rtnl_link_get_name(l) ? rtnl_link_get_name(l) : "";
    const char* kind = rtnl_link_get_type(l);
    info.kind = kind ? kind : "";
    info.master = rtnl_link_get_master(l);
    info.up = (rtnl_link_get_flags(l) & IFF_UP) != 0;
    if (nl_addr* a = rtnl_link_get_addr(l); a != nullptr && nl_addr_get_len(a) == 6) {
      Mac mac;
      std::memcpy(mac.data(), nl_addr_get_binary_addr(a), mac.size());
      info.mac = mac;
    }
    out.push_back(std::move(info));
  }
  return out;
}

Status CreateVeth(const NlSocket& nl, const VethSpec& spec) {
  Link link(rtnl_link_veth_alloc());
  if (!link) return Error::Sys(ENOMEM, "rtnl_link_veth_alloc");
  rtnl_link_set_name(link.get(), spec.host_name.c_str());
  rtnl_link_set_mtu(link.get(), static_cast<unsigned>(spec.mtu));
  if (spec.master > 0) rtnl_link_set_master(link.get(), spec.master);
  if (spec.host_up) rtnl_link_set_flags(link.get(), IFF_UP);
  if (spec.host_mac) {
    Addr mac(nl_addr_build(AF_LLC, spec.host_mac->data(), spec.host_mac->size()));
    rtnl_link_set_addr(link.get(), mac.get());
  }
  rtnl_link* peer = rtnl_link_veth_get_peer(link.get());
  rtnl_link_set_name(peer, spec.peer_name.c_str());
  rtnl_link_set_mtu(peer, static_cast<unsigned>(spec.mtu));
  rtnl_link_set_ns_fd(peer, spec.peer_ns_fd);
  rtnl_link_put(peer);
  if (int err = rtnl_link_add(nl.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    return NlError(err, "create veth " + spec.host_name + " <-> " + spec.peer_name);
  }
  return {};
}

Status CreateBridge(const NlSocket& nl, const std::string& name, int mtu) {
  Link link(rtnl_link_bridge_alloc());
  if (!link) return Error::Sys(ENOMEM, "rtnl_link_bridge_alloc");
  rtnl_link_set_name(link.get(), name.c_str());
  rtnl_link_set_mtu(link.get(), static_cast<unsigned>(mtu));
  rtnl_link_set_flags(link.get(), IFF_UP);
  // An address given at creation is one the kernel keeps (NET_ADDR_SET):
  // ports joining or leaving no longer change it.
  Mac mac;
  if (::getrandom(mac.data(), mac.size(), 0) != static_cast<ssize_t>(mac.size())) {
    return Error::FromErrno("getrandom");
  }
  mac[0] = static_cast<uint8_t>((mac[0] & 0xfe) | 0x02);  // unicast, locally administered
  Addr addr(nl_addr_build(AF_LLC, mac.data(), mac.size()));
  rtnl_link_set_addr(link.get(), addr.get());
  if (int err = rtnl_link_add(nl.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    return NlError(err, "create bridge " + name);
  }
  return {};
}

Status SetLinkUp(const NlSocket& nl, int index) {
  rtnl_link* raw = nullptr;
  if (int err = rtnl_link_get_kernel(nl.get(), index, nullptr, &raw); err < 0) {
    return NlError(err, "link #" + std::to_string(index));
  }
  Link orig(raw);
  Link change(rtnl_link_alloc());
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (int err = rtnl_link_change(nl.get(), orig.get(), change.get(), 0); err < 0) {
    return NlError(err, std::string("set ") + rtnl_link_get_name(orig.get()) + " up");
  }
  return {};
}

Status DeleteLink(const NlSocket& nl, const std::string& name) {
  Link link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  if (int err = rtnl_link_delete(nl.get(), link.get()); err < 0) {
    return NlError(err, "delete link " + name);
  }
  return {};
}

Status AddAddress(const NlSocket& nl, int ifindex, const IpPrefix& address, bool nodad) {
  RtAddr addr(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  rtnl_addr_set_family(addr.get(), address.address.family);
  Addr local = ToNl(address.address, address.length);
  rtnl_addr_set_local(addr.get(), local.get());
  rtnl_addr_set_prefixlen(addr.get(), address.length);
  if (nodad) rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);
  if (int err = rtnl_addr_add(nl.get(), addr.get(), NLM_F_EXCL); err < 0) {
    return NlError(err, "add address " + address.String());
  }
  return {};
}

Status DeleteAddress(const NlSocket& nl, int ifindex, const IpPrefix& address) {
  RtAddr addr(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  rtnl_addr_set_family(addr.get(), address.address.family);
  Addr local = ToNl(address.address, address.length);
  rtnl_addr_set_local(addr.get(), local.get());
  rtnl_addr_set_prefixlen(addr.get(), address.length);
  if (int err = rtnl_addr_delete(nl.get(), addr.get(), 0); err < 0) {
    return NlError(err, "delete address " + address.String());
  }
  return {};
}

Result<std::vector<IpPrefix>> ListAddresses(const NlSocket& nl, int ifindex) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_addr_alloc_cache(nl.get(), &raw); err < 0) {
    return NlError(err, "list addresses");
  }
  Cache cache(raw);
  std::vector<IpPrefix> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(a) != ifindex) continue;
    auto ip = FromNl(rtnl_addr_get_local(a));
    if (ip) out.push_back(IpPrefix{*ip, rtnl_addr_get_prefixlen(a)});
  }
  return out;
}

Status AddRoute(const NlSocket& nl, const RouteSpec& r, bool replace) {
  Route route = BuildRoute(r);
  const int flags = NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL);
  if (int err = rtnl_route_add(nl.get(), route.get(), flags); err < 0) {
    return NlError(err, "add route " + r.dst.String() +
                            (r.gateway ? " via " + r.gateway->String() : std::string()));
  }
  return {};
}

Status DeleteRoute(const NlSocket& nl, const RouteSpec& r) {
  Route route = BuildRoute(r);
  if (int err = rtnl_route_delete(nl.get(), route.get(), 0); err < 0) {
    return NlError(err, "delete route " + r.dst.String());
  }
  return {};
}

Result<std::vector<RouteSpec>> ListRoutes(const NlSocket& nl, int family, int protocol) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_route_alloc_cache(nl.get(), family, 0, &raw); err < 0) {
    return NlError(err, "list routes");
  }
  Cache cache(raw);
  std::vector<RouteSpec> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_protocol(r) != protocol) {
      continue;
    }
    nl_addr* dst = rtnl_route_get_dst(r);
    auto ip = FromNl(dst);
    RouteSpec spec;
    spec.protocol = protocol;
    if (ip) {
      spec.dst = IpPrefix{*ip, static_cast<int>(nl_addr_get_prefixlen(dst))};
    } else {
      spec.dst.address.family = rtnl_route_get_family(r);
      spec.dst.length = 0;
    }
    spec.link_scope = rtnl_route_get_scope(r) == RT_SCOPE_LINK;
    if (rtnl_route_get_nnexthops(r) > 0) {
      rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
      spec.ifindex = rtnl_route_nh_get_ifindex(nh);
      spec.gateway = FromNl(rtnl_route_nh_get_gateway(nh));
    }
    out.push_back(spec);
  }
  return out;
}

Status AddPermanentNeighbor(const NlSocket& nl, int ifindex, const IpAddress& ip, const Mac& mac) {
  Neigh neigh(rtnl_neigh_alloc());
  rtnl_neigh_set_ifindex(neigh.get(), ifindex);
  rtnl_neigh_set_family(neigh.get(), ip.family);
  Addr dst = ToNl(ip, ip.is_v4() ? 32 : 128);
  rtnl_neigh_set_dst(neigh.get(), dst.get());
  Addr ll(nl_addr_build(AF_LLC, mac.data(), mac.size()));
  rtnl_neigh_set_lladdr(neigh.get(), ll.get());
  rtnl_neigh_set_state(neigh.get(), NUD_PERMANENT);
  if (int err = rtnl_neigh_add(nl.get(), neigh.get(), NLM_F_CREATE | NLM_F_REPLACE); err < 0) {
    return NlError(err, "add neighbour " + ip.String());
  }
  return {};
}

}  // namespace berth::netns::detail
