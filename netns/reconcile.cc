// Peer routes (host-gw) and Reconcile: make the node match the state.
#include <sys/socket.h>

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "pod_network_impl.h"

#include "berth/common/file.h"
#include "berth/common/log.h"
#include "berth/netns/namespace.h"
#include "berth/netns/pod_network.h"

namespace berth::netns {
namespace {

namespace fs = std::filesystem;
using detail::NlSocket;
using detail::RouteSpec;
using Json = nlohmann::json;

fs::path PeersPath(const NodeConfig& c) { return c.state_dir / "peers.json"; }

Status SavePeers(const NodeConfig& c, const std::vector<Peer>& peers) {
  Json out = Json::array();
  for (const Peer& p : peers) {
    Json addrs = Json::array();
    for (const auto& a : p.node_addresses) addrs.push_back(a.String());
    Json cidrs = Json::array();
    for (const auto& c2 : p.pod_cidrs) cidrs.push_back(c2.String());
    out.push_back({{"name", p.name}, {"nodeAddresses", addrs}, {"podCIDRs", cidrs}});
  }
  return WriteFileAtomic(PeersPath(c), out.dump() + "\n", 0600);
}

Result<std::vector<Peer>> LoadPeers(const NodeConfig& c) {
  auto text = ReadFile(PeersPath(c));
  if (!text.ok()) {
    if (text.error().err() == ENOENT) return std::vector<Peer>();
    return std::move(text).error();
  }
  auto j = Json::parse(*text, nullptr, false);
  if (!j.is_array()) return Error::Invalid(PeersPath(c).string() + ": not a JSON array");
  std::vector<Peer> peers;
  try {
    for (const auto& p : j) {
      Peer peer;
      peer.name = p.at("name").get<std::string>();
      for (const auto& a : p.at("nodeAddresses")) {
        BERTH_ASSIGN_OR_RETURN(IpAddress ip, IpAddress::Parse(a.get<std::string>()));
        peer.node_addresses.push_back(ip);
      }
      for (const auto& c2 : p.at("podCIDRs")) {
        BERTH_ASSIGN_OR_RETURN(IpPrefix cidr, IpPrefix::Parse(c2.get<std::string>()));
        peer.pod_cidrs.push_back(cidr.Network());
      }
      peers.push_back(std::move(peer));
    }
  } catch (const Json::exception& e) {
    return Error::Invalid(PeersPath(c).string() + ": " + e.what());
  }
  return peers;
}

std::string Key(const RouteSpec& r) {
  return r.dst.Network().String() + " via " + (r.gateway ? r.gateway->String() : "-");
}

}  // namespace

Result<int> PodNetwork::Impl::ApplyPeers(const std::vector<Peer>& peers) const {
  std::map<std::string, RouteSpec> want;
  for (const Peer& p : peers) {
    for (const IpPrefix& cidr : p.pod_cidrs) {
      auto via = std::find_if(p.node_addresses.begin(), p.node_addresses.end(),
                              [&](const IpAddress& a) { return a.family == cidr.address.family; });
      if (via == p.node_addresses.end()) {
        return Error::Invalid("peer " + p.name + ": no node address of the family of " +
                              cidr.String());
      }
      RouteSpec r;
      r.dst = cidr.Network();
      r.gateway = *via;
      want[Key(r)] = r;
    }
  }
  int changed = 0;
  BERTH_TRY(InNode([&](const NlSocket& nl) -> Status {
    std::set<std::string> have;
    for (int family : {AF_INET, AF_INET6}) {
      BERTH_ASSIGN_OR_RETURN(auto routes,
                             detail::ListRoutes(nl, family, detail::kBerthRouteProtocol));
      for (const RouteSpec& r : routes) {
        if (!r.gateway) continue;  // routed mode's pod routes
        if (want.count(Key(r))) {
          have.insert(Key(r));
          continue;
        }
        auto s = detail::DeleteRoute(nl, r);
        if (!s.ok() && s.error().err() != ENOENT) return s;
        ++changed;
      }
    }
    for (const auto& [key, r] : want) {
      if (have.count(key)) continue;
      BERTH_TRY(detail::AddRoute(nl, r, /*replace=*/true));
      ++changed;
    }
    return {};
  }));
  return changed;
}

Status PodNetwork::SetPeers(const std::vector<Peer>& peers) {
  std::lock_guard lock(impl_->peers_mu);
  BERTH_TRY(SavePeers(impl_->config, peers));
  return StatusOf(impl_->ApplyPeers(peers)).Wrap("set peer routes");
}

Result<ReconcileReport> PodNetwork::Reconcile() {
  Impl& d = *impl_;
  ReconcileReport report;
  BERTH_TRY(d.EnsureNode().Wrap("reconcile the node side"));
  BERTH_ASSIGN_OR_RETURN(std::vector<PodRecord> records, d.LoadRecords());
  std::set<std::string> pods, host_links;
  for (const PodRecord& rec : records) {
    const std::string& pod = rec.info.pod;
    if (!IsNetns(rec.info.netns)) {
      // The pod's namespace is gone (a node reboot, or removed by hand):
      // nothing can run in it any more.
      BERTH_TRY(d.Remove(pod).Wrap("drop pod " + pod));
      ++report.pods_dropped;
      continue;
    }
    pods.insert(pod);
    host_links.insert(rec.info.host_interface);
    bool repaired = false;
    BERTH_TRY(d.InNode([&](const NlSocket& nl) -> Status {
      auto index = detail::LinkIndex(nl, rec.info.host_interface);
      if (!index.ok()) {
        repaired = true;
        return {};
      }
      if (d.config.mode == NodeMode::kRouted) {
        // Missing host routes come back; present ones are replaced in place.
        BERTH_ASSIGN_OR_RETURN(auto routes,
                               detail::ListRoutes(nl, AF_UNSPEC, detail::kBerthRouteProtocol));
        for (const IpPrefix& a : rec.info.addresses) {
          const bool present = std::any_of(routes.begin(), routes.end(), [&](const RouteSpec& r) {
            return !r.gateway && r.dst.address == a.address && r.ifindex == *index;
          });
          if (!present) {
            BERTH_TRY(d.AddHostRoutes(nl, rec, *index));
            ++report.routes_fixed;
            break;
          }
        }
      }
      return {};
    }));
    if (repaired) {
      BERTH_TRY(d.Wire(rec).Wrap("repair pod " + pod));
      ++report.pods_repaired;
    }
  }
  // Host ends with our prefix that no pod owns.
  BERTH_TRY(d.InNode([&](const NlSocket& nl) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto links, detail::ListLinks(nl));
    for (const auto& l : links) {
      if (l.kind != "veth" || l.name.rfind(d.config.link_prefix, 0) != 0) continue;
      if (host_links.count(l.name)) continue;
      auto s = detail::DeleteLink(nl, l.name);
      if (!s.ok() && s.error().err() != ENOENT) return s;
      ++report.links_removed;
    }
    return {};
  }));
  // Namespaces under netns_dir that no pod owns.
  std::error_code ec;
  for (auto it = fs::directory_iterator(d.config.netns_dir, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (pods.count(name)) continue;
    BERTH_TRY(DeleteNetns(it->path()));
    ++report.namespaces_removed;
  }
  // Address allocations that no pod owns.
  for (Ipam* ipam : d.Ipams()) {
    BERTH_ASSIGN_OR_RETURN(auto allocations, ipam->List());
    for (const auto& [addr, owner] : allocations) {
      if (pods.count(owner)) continue;
      BERTH_TRY(ipam->Release(owner));
      ++report.addresses_released;
    }
  }
  {
    std::lock_guard lock(d.peers_mu);
    BERTH_ASSIGN_OR_RETURN(std::vector<Peer> peers, LoadPeers(d.config));
    BERTH_ASSIGN_OR_RETURN(int changed, d.ApplyPeers(peers));
    report.routes_fixed += changed;
  }
  log::Info("pod network reconciled", {{"repaired", report.pods_repaired},
                                       {"dropped", report.pods_dropped},
                                       {"links_removed", report.links_removed},
                                       {"netns_removed", report.namespaces_removed},
                                       {"addresses_released", report.addresses_released},
                                       {"routes_fixed", report.routes_fixed}});
  return report;
}

}  // namespace berth::netns
