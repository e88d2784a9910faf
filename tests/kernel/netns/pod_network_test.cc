// Pod networking in a world of namespaces: traffic pod-to-pod on one node and
// across nodes and pod-to-node, TCP and UDP, IPv4 and IPv6, in bridge and
// routed mode; IPAM exhaustion, reuse and restart; Reconcile repairing and
// cleaning; nothing left behind.
#include <fcntl.h>

#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "netns_world.h"
#include "nl.h"
#include "test_support.h"

#include "berth/common/file.h"
#include "berth/netns/ipam.h"
#include "berth/netns/namespace.h"

namespace berth::netns::testing {
namespace {

namespace fs = std::filesystem;

size_t CountEntries(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); ++it) ++n;
  return n;
}

IpAddress AddressOf(const PodNetworkInfo& p, int family) {
  for (const auto& a : p.addresses) {
    if (a.address.family == family) return a.address;
  }
  return {};
}

// Every link of the node's namespace.
std::vector<detail::LinkInfo> NodeLinkInfos(const Node& n) {
  std::vector<detail::LinkInfo> links;
  auto fd = OpenNetns(n.netns);
  EXPECT_OK(fd);
  EXPECT_OK(InNetns(fd->get(), [&]() -> Status {
    BERTH_ASSIGN_OR_RETURN(auto nl, detail::NlSocket::Open());
    BERTH_ASSIGN_OR_RETURN(links, detail::ListLinks(nl));
    return {};
  }));
  return links;
}

// The node's links whose names start with `prefix`.
std::vector<std::string> NodeLinks(const Node& n, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& l : NodeLinkInfos(n)) {
    if (l.name.rfind(prefix, 0) == 0) out.push_back(l.name);
  }
  return out;
}

// The kernel frees a torn-down pod's veth pair with its namespace, shortly
// after TearDownPod returns: wait up to two seconds for that.
std::vector<std::string> LinksAfterCleanup(const Node& n, const std::string& prefix) {
  std::vector<std::string> links;
  for (int i = 0; i < 200; ++i) {
    links = NodeLinks(n, prefix);
    if (links.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return links;
}

class PodNetworkTest : public ::testing::TestWithParam<NodeMode> {
 protected:
  void SetUp() override { REQUIRE_ROOT(); }
};

TEST_P(PodNetworkTest, TrafficOnOneNodeAcrossNodesAndToTheNode) {
  auto world = World::Build(2, GetParam());
  ASSERT_OK(world);
  World& w = **world;
  ASSERT_OK(w.ConnectPeers());
  auto a1 = w.node(0).net->SetUpPod("a1");
  auto a2 = w.node(0).net->SetUpPod("a2");
  auto b1 = w.node(1).net->SetUpPod("b1");
  ASSERT_OK(a1);
  ASSERT_OK(a2);
  ASSERT_OK(b1);
  ASSERT_EQ(a1->addresses.size(), 2u) << "one address of each family";
  EXPECT_TRUE(w.node(0).pod_cidr_v4.Contains(AddressOf(*a1, AF_INET)));
  EXPECT_TRUE(w.node(0).pod_cidr_v6.Contains(AddressOf(*a1, AF_INET6)));
  EXPECT_TRUE(w.node(1).pod_cidr_v4.Contains(AddressOf(*b1, AF_INET)));
  int port = 7000;
  for (int family : {AF_INET, AF_INET6}) {
    SCOPED_TRACE(family == AF_INET ? "IPv4" : "IPv6");
    // same node
    EXPECT_OK(TcpRoundTrip(a2->netns, a1->netns, AddressOf(*a2, family), ++port));
    EXPECT_OK(UdpRoundTrip(a2->netns, a1->netns, AddressOf(*a2, family), ++port));
    // across nodes, both ways
    EXPECT_OK(TcpRoundTrip(b1->netns, a1->netns, AddressOf(*b1, family), ++port));
    EXPECT_OK(UdpRoundTrip(b1->netns, a1->netns, AddressOf(*b1, family), ++port));
    EXPECT_OK(TcpRoundTrip(a2->netns, b1->netns, AddressOf(*a2, family), ++port));
    // pod to its node (the node's uplink address) and node to pod
    const IpAddress node = family == AF_INET ? w.node(0).address_v4 : w.node(0).address_v6;
    EXPECT_OK(TcpRoundTrip(w.node(0).netns, a1->netns, node, ++port));
    EXPECT_OK(UdpRoundTrip(w.node(0).netns, a1->netns, node, ++port));
    EXPECT_OK(TcpRoundTrip(a1->netns, w.node(0).netns, AddressOf(*a1, family), ++port));
  }
}

TEST_P(PodNetworkTest, TeardownLeavesNothingAndSetUpIsIdempotent) {
  auto world = World::Build(1, GetParam());
  ASSERT_OK(world);
  Node& n = (*world)->node(0);
  auto p = n.net->SetUpPod("web-1");
  ASSERT_OK(p);
  auto again = n.net->SetUpPod("web-1");
  ASSERT_OK(again);
  EXPECT_EQ(again->addresses, p->addresses);
  EXPECT_EQ(NodeLinks(n, "bth").size(), 1u);
  ASSERT_OK(n.net->TearDownPod("web-1"));
  ASSERT_OK(n.net->TearDownPod("web-1"));  // idempotent
  EXPECT_TRUE(LinksAfterCleanup(n, "bth").empty());
  EXPECT_EQ(CountEntries(n.config.netns_dir), 0u);
  EXPECT_EQ(CountEntries(n.config.state_dir / "pods"), 0u);
  auto pods = n.net->ListPods();
  ASSERT_OK(pods);
  EXPECT_TRUE(pods->empty());
  EXPECT_FALSE(n.net->SetUpPod("../etc").ok());
}

// The bridge's MAC is set once: pods joining and leaving do not change it
// (a changed gateway MAC blackholes every pod's traffic until ARP probes).
TEST(PodNetworkBridgeTest, BridgeMacStaysAsPodsComeAndGo) {
  REQUIRE_ROOT();
  auto world = World::Build(1, NodeMode::kBridge);
  ASSERT_OK(world);
  Node& n = (*world)->node(0);
  auto bridge_mac = [&]() -> std::optional<detail::Mac> {
    for (const auto& l : NodeLinkInfos(n)) {
      if (l.name == n.config.bridge) return l.mac;
    }
    return std::nullopt;
  };
  ASSERT_OK(n.net->SetUpPod("first"));
  const auto mac = bridge_mac();
  ASSERT_TRUE(mac.has_value());
  EXPECT_EQ((*mac)[0] & 0x03, 0x02) << "unicast and locally administered";
  // Enough veths that one almost surely has a lower MAC than the bridge.
  for (int i = 0; i < 8; ++i) ASSERT_OK(n.net->SetUpPod("pod-" + std::to_string(i)));
  EXPECT_EQ(bridge_mac(), mac);
  ASSERT_OK(n.net->TearDownPod("first"));
  for (int i = 0; i < 4; ++i) ASSERT_OK(n.net->TearDownPod("pod-" + std::to_string(i)));
  EXPECT_EQ(bridge_mac(), mac);
}

INSTANTIATE_TEST_SUITE_P(Modes, PodNetworkTest,
                         ::testing::Values(NodeMode::kBridge, NodeMode::kRouted),
                         [](const auto& info) {
                           return info.param == NodeMode::kBridge ? "Bridge" : "Routed";
                         });

TEST(PodNetworkIpamTest, ExhaustionReuseAndRestart) {
  REQUIRE_ROOT();
  auto world = World::Build(1, NodeMode::kBridge, /*dual_stack=*/false, /*v4_prefix_len=*/29);
  ASSERT_OK(world);
  World& w = **world;
  Node& n = w.node(0);
  std::vector<PodNetworkInfo> pods;
  for (int i = 0; i < 5; ++i) {
    auto p = n.net->SetUpPod("p" + std::to_string(i));
    ASSERT_OK(p);
    pods.push_back(*p);
  }
  auto full = n.net->SetUpPod("p5");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().err(), ENOSPC);
  EXPECT_NE(full.error().ToString().find("exhausted"), std::string::npos)
      << full.error().ToString();
  EXPECT_EQ(CountEntries(n.config.netns_dir), 5u) << "the failed pod left a namespace";
  ASSERT_OK(n.net->TearDownPod("p2"));
  auto p5 = n.net->SetUpPod("p5");
  ASSERT_OK(p5);
  EXPECT_EQ(p5->addresses[0], pods[2].addresses[0]) << "the freed address is reused";
  // An agent restart keeps every pod's address.
  ASSERT_OK(w.Restart(0));
  auto listed = n.net->ListPods();
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 5u);
  auto p0 = n.net->SetUpPod("p0");
  ASSERT_OK(p0);
  EXPECT_EQ(p0->addresses, pods[0].addresses);
  EXPECT_OK(TcpRoundTrip(p5->netns, p0->netns, p5->addresses[0].address, 7100));
}

TEST(PodNetworkReconcileTest, RepairsDeletedVethRemovesStraysAndIsIdempotent) {
  REQUIRE_ROOT();
  auto world = World::Build(2, NodeMode::kRouted);
  ASSERT_OK(world);
  World& w = **world;
  ASSERT_OK(w.ConnectPeers());
  Node& n = w.node(0);
  auto a = n.net->SetUpPod("a");
  auto b = w.node(1).net->SetUpPod("b");
  ASSERT_OK(a);
  ASSERT_OK(b);
  auto node_fd = OpenNetns(n.netns);
  ASSERT_OK(node_fd);
  // Damage: delete a's host end, add a stray veth with Berth's prefix, a
  // stray namespace and allocation, a stale peer route; drop a peer route.
  ASSERT_OK(InNetns(node_fd->get(), [&]() -> Status {
    BERTH_ASSIGN_OR_RETURN(auto nl, detail::NlSocket::Open());
    BERTH_TRY(detail::DeleteLink(nl, a->host_interface));
    BERTH_ASSIGN_OR_RETURN(UniqueFd self, OpenFile("/proc/thread-self/ns/net", O_RDONLY));
    detail::VethSpec stray;
    stray.host_name = "bthdeadbeef0001";
    stray.peer_name = "bthdeadbeef0002";
    stray.peer_ns_fd = self.get();
    BERTH_TRY(detail::CreateVeth(nl, stray));
    detail::RouteSpec stale;
    stale.dst = *IpPrefix::Parse("10.250.0.0/24");
    stale.gateway = w.node(1).address_v4;
    BERTH_TRY(detail::AddRoute(nl, stale, false));
    detail::RouteSpec peer;
    peer.dst = w.node(1).pod_cidr_v4;
    peer.gateway = w.node(1).address_v4;
    return detail::DeleteRoute(nl, peer);
  }));
  ASSERT_OK(CreateNetns(n.config.netns_dir / "ghost"));
  {
    auto ipam = Ipam::Open(n.config.state_dir / "ipam", n.pod_cidr_v4);
    ASSERT_OK(ipam);
    ASSERT_OK(ipam->Allocate("ghost"));
  }
  EXPECT_FALSE(TcpRoundTrip(a->netns, b->netns, AddressOf(*a, AF_INET), 7200).ok());
  auto report = n.net->Reconcile();
  ASSERT_OK(report);
  EXPECT_EQ(report->pods_repaired, 1);
  EXPECT_EQ(report->links_removed, 2);  // both ends of the stray pair
  EXPECT_EQ(report->namespaces_removed, 1);
  EXPECT_EQ(report->addresses_released, 1);
  EXPECT_EQ(report->routes_fixed, 2);  // stale route removed, peer route back
  EXPECT_OK(TcpRoundTrip(a->netns, b->netns, AddressOf(*a, AF_INET), 7201));
  EXPECT_OK(TcpRoundTrip(a->netns, b->netns, AddressOf(*a, AF_INET6), 7202));
  auto second = n.net->Reconcile();
  ASSERT_OK(second);
  EXPECT_EQ(second->pods_repaired + second->links_removed + second->namespaces_removed +
                second->addresses_released + second->routes_fixed + second->pods_dropped,
            0)
      << "a second Reconcile changed something";
  // A pod whose namespace vanished is dropped with its address and link.
  ASSERT_OK(DeleteNetns(a->netns));
  report = n.net->Reconcile();
  ASSERT_OK(report);
  EXPECT_EQ(report->pods_dropped, 1);
  EXPECT_TRUE(NodeLinks(n, "bth").empty());
}

TEST(PodNetworkPeersTest, DepartedPeersLoseTheirRoutes) {
  REQUIRE_ROOT();
  auto world = World::Build(2, NodeMode::kBridge);
  ASSERT_OK(world);
  World& w = **world;
  ASSERT_OK(w.ConnectPeers());
  auto a = w.node(0).net->SetUpPod("a");
  auto b = w.node(1).net->SetUpPod("b");
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_OK(TcpRoundTrip(b->netns, a->netns, AddressOf(*b, AF_INET), 7300));
  ASSERT_OK(w.node(0).net->SetPeers({}));
  EXPECT_FALSE(TcpRoundTrip(b->netns, a->netns, AddressOf(*b, AF_INET), 7301).ok());
  ASSERT_OK(w.ConnectPeers());
  EXPECT_OK(TcpRoundTrip(b->netns, a->netns, AddressOf(*b, AF_INET), 7302));
}

}  // namespace
}  // namespace berth::netns::testing
