#include "service_table.h"

#include <sys/socket.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

#include "berth/api/codec.h"

namespace berth::nodeagent {
namespace {

using ebpf::Protocol;
using json = nlohmann::json;

// A Service named web with this spec, decoded as the agent receives it.
v1::Service MakeService(std::string_view spec) {
  json value = {{"apiVersion", "v1"},
                {"kind", "Service"},
                {"metadata", {{"name", "web"}, {"namespace", "default"}}},
                {"spec", json::parse(spec)}};
  Result<v1::Object> object = api::DecodeObject(value, "service");
  EXPECT_TRUE(object.ok()) << object.error().ToString();
  return object.ok() ? object->service() : v1::Service{};
}

v1::Endpoints MakeEndpoints(std::string_view subsets) {
  json value = {{"apiVersion", "v1"},
                {"kind", "Endpoints"},
                {"metadata", {{"name", "web"}, {"namespace", "default"}}},
                {"subsets", json::parse(subsets)}};
  Result<v1::Object> object = api::DecodeObject(value, "endpoints");
  EXPECT_TRUE(object.ok()) << object.error().ToString();
  return object.ok() ? object->endpoints() : v1::Endpoints{};
}

std::string KeyOf(const ebpf::ServiceKey& key) {
  return key.address.String() + ":" + std::to_string(key.port) +
         (key.protocol == Protocol::kTcp ? "/TCP" : "/UDP");
}

std::vector<std::string> Keys(const ServiceTable& table) {
  std::vector<std::string> out;
  for (const ebpf::Service& s : table.cluster_ips) out.push_back(KeyOf(s.key));
  return out;
}

std::vector<std::string> Backends(const ebpf::Service& service) {
  std::vector<std::string> out;
  for (const ebpf::Backend& b : service.backends) {
    out.push_back(b.address.String() + ":" + std::to_string(b.port));
  }
  return out;
}

// "10.1.0.1:8080 local" for local backends.
std::vector<std::string> Backends(const ebpf::NodePortService& service) {
  std::vector<std::string> out;
  for (const ebpf::NodePortBackend& b : service.backends) {
    out.push_back(b.address.String() + ":" + std::to_string(b.port) + (b.local ? " local" : ""));
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(ServiceTable, NamedPortsMatchByName) {
  v1::Service svc = MakeService(R"({"clusterIP": "10.96.0.10", "ports": [
      {"name": "http", "port": 80, "targetPort": "web"},
      {"name": "metrics", "port": 9090}]})");
  v1::Endpoints ep = MakeEndpoints(R"([{
      "addresses": [{"ip": "10.1.0.1"}, {"ip": "10.1.0.2"}],
      "ports": [{"name": "metrics", "port": 9100}, {"name": "http", "port": 8080}]}])");
  ServiceTable t = BuildServiceTable(svc, &ep, "node-a");
  ASSERT_EQ(Keys(t), (Strings{"10.96.0.10:80/TCP", "10.96.0.10:9090/TCP"}));
  EXPECT_EQ(Backends(t.cluster_ips[0]), (Strings{"10.1.0.1:8080", "10.1.0.2:8080"}));
  EXPECT_EQ(Backends(t.cluster_ips[1]), (Strings{"10.1.0.1:9100", "10.1.0.2:9100"}));
  EXPECT_FALSE(t.cluster_ips[0].affinity_timeout_seconds);
  EXPECT_TRUE(t.node_ports.empty());
}

TEST(ServiceTable, SubsetsWithDifferentPortsEachServeTheirPort) {
  v1::Service svc = MakeService(R"({"clusterIP": "10.96.0.10", "ports": [
      {"name": "http", "port": 80}]})");
  v1::Endpoints ep = MakeEndpoints(R"([
      {"addresses": [{"ip": "10.1.0.1"}], "ports": [{"name": "http", "port": 8080}]},
      {"addresses": [{"ip": "10.1.0.2"}], "ports": [{"name": "http", "port": 8081}]},
      {"addresses": [{"ip": "10.1.0.3"}], "ports": [{"name": "other", "port": 8082}]}])");
  ServiceTable t = BuildServiceTable(svc, &ep, "node-a");
  ASSERT_EQ(t.cluster_ips.size(), 1u);
  EXPECT_EQ(Backends(t.cluster_ips[0]), (Strings{"10.1.0.1:8080", "10.1.0.2:8081"}));
}

TEST(ServiceTable, UnnamedSinglePortMatchesTheOnlyEndpointPort) {
  v1::Service svc = MakeService(R"({"clusterIP": "10.96.0.10", "ports": [{"port": 80}]})");
  v1::Endpoints unnamed = MakeEndpoints(R"([{
      "addresses": [{"ip": "10.1.0.1"}], "ports": [{"port": 8080}]}])");
  ServiceTable t = BuildServiceTable(svc, &unnamed, "node-a");
  ASSERT_EQ(Keys(t), (Strings{"10.96.0.10:80/TCP"}));
  EXPECT_EQ(Backends(t.cluster_ips[0]), (Strings{"10.1.0.1:8080"}));

  // A hand-written Endpoints that names its only port still serves it.
  v1::Endpoints named = MakeEndpoints(R"([{
      "addresses": [{"ip": "10.1.0.1"}], "ports": [{"name": "web", "port": 8080}]}])");
  t = BuildServiceTable(svc, &named, "node-a");
  ASSERT_EQ(t.cluster_ips.size(), 1u);
  EXPECT_EQ(Backends(t.cluster_ips[0]), (Strings{"10.1.0.1:8080"}));

  // ...but not one of several named ports.
  v1::Endpoints several = MakeEndpoints(R"([{
      "addresses": [{"ip": "10.1.0.1"}],
      "ports": [{"name": "a", "port": 8080}, {"name": "b", "port": 8081}]}])");
  t = BuildServiceTable(svc, &several, "node-a");
  ASSERT_EQ(t.cluster_ips.size(), 1u);
  EXPECT_TRUE(t.cluster_ips[0].backends.empty());
}

TEST(ServiceTable, ProtocolsMustMatchAndSctpIsSkipped) {
  v1::Service svc = MakeService(R"({"clusterIP": "10.96.0.10", "ports": [
      {"name": "dns", "port": 53, "protocol": "UDP"},
      {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
      {"name": "plain", "port": 80},
      {"name": "mismatch", "port": 81, "protocol": "TCP"},
      {"name": "sctp", "port": 82, "protocol": "SCTP"}]})");
  v1::Endpoints ep = MakeEndpoints(R"([{
      "addresses": [{"ip": "10.1.0.1"}],
      "ports": [{"name": "dns", "port": 5353, "protocol": "UDP"},
                {"name": "dns-tcp", "port": 5354, "protocol": "TCP"},
                {"name": "plain", "port": 8080},
                {"name": "mismatch", "port": 8081, "protocol": "UDP"},
                {"name": "sctp", "port": 8082, "protocol": "SCTP"}]}])");
  ServiceTable t = BuildServiceTable(svc, &ep, "node-a");
  ASSERT_EQ(Keys(t), (Strings{"10.96.0.10:53/UDP", "10.96.0.10:53/TCP", "10.96.0.10:80/TCP",
                              "10.96.0.10:81/TCP"}));
  EXPECT_EQ(Backends(t.cluster_ips[0]), (Strings{"10.1.0.1:5353"}));
  EXPECT_EQ(Backends(t.cluster_ips[1]), (Strings{"10.1.0.1:5354"}));
  EXPECT_EQ(Backends(t.cluster_ips[2]), (Strings{"10.1.0.1:8080"}));
  EXPECT_TRUE(t.cluster_ips[3].backends.empty());
}

TEST(ServiceTable, NotReadyAddressesOnlyWhenPublished) {
  constexpr const char* kSubsets = R"([{
      "addresses": [{"ip": "10.1.0.1"}],
      "notReadyAddresses": [{"ip": "10.1.0.2"}, {"ip": "10.1.0.1"}],
      "ports": [{"port": 8080}]}])";
  v1::Endpoints ep = MakeEndpoints(kSubsets);

  v1::Service svc = MakeService(R"({"clusterIP": "10.96.0.10", "ports": [{"port": 80}]})");
  ServiceTable t = BuildServiceTable(svc, &ep, "node-a");
  ASSERT_EQ(t.cluster_ips.size(), 1u);
  EXPECT_EQ(Backends(t.cluster_ips[0]), (Strings{"10.1.0.1:8080"}));

  svc = MakeService(R"({"clusterIP": "10.96.0.10", "publishNotReadyAddresses": true,
                        "ports": [{"port": 80}]})");
  t = BuildServiceTable(svc, &ep, "node-a");
  ASSERT_EQ(t.cluster_ips.size(), 1u);
  // 10.1.0.1 listed twice is one backend.
  EXPECT_EQ(Backends(t.cluster_ips[0]), (Strings{"10.1.0.1:8080", "10.1.0.2:8080"}));
}

TEST(ServiceTable, HeadlessUnallocatedAndExternalNameHaveNoEntries) {
  v1::Endpoints ep = MakeEndpoints(R"([{
      "addresses": [{"ip": "10.1.0.1"}], "ports": [{"port": 8080}]}])");
  for (const char* spec : {
           R"({"clusterIP": "None", "ports": [{"port": 80}]})",
           R"({"clusterIP": "None", "clusterIPs": ["None"], "ports": [{"port": 80}]})",
           R"({"ports": [{"port": 80}]})",
           R"({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]})",
           R"({"type": "ExternalName", "externalName": "db.example.com",
               "ports": [{"port": 80}]})",
       }) {
    SCOPED_TRACE(spec);
    ServiceTable t = BuildServiceTable(MakeService(spec), &ep, "node-a");
    EXPECT_TRUE(t.cluster_ips.empty());
    EXPECT_TRUE(t.node_ports.empty());
  }
}

TEST(ServiceTable, DualStackKeepsBackendsOfEachFamily) {
  v1::Service svc = MakeService(R"({"clusterIP": "10.96.0.10",
      "clusterIPs": ["10.96.0.10", "fd00:96::10"], "ports": [{"name": "http", "port": 80}]})");
  v1::Endpoints ep = MakeEndpoints(R"([
      {"addresses": [{"ip": "10.1.0.1"}, {"ip": "fd00:1::1"}],
       "ports": [{"name": "http", "port": 8080}]},
      {"addresses": [{"ip": "fd00:1::2"}], "ports": [{"name": "http", "port": 8080}]}])");
  ServiceTable t = BuildServiceTable(svc, &ep, "node-a");
  ASSERT_EQ(Keys(t), (Strings{"10.96.0.10:80/TCP", "fd00:96::10:80/TCP"}));
  EXPECT_EQ(t.cluster_ips[1].key.address.family, AF_INET6);
  EXPECT_EQ(Backends(t.cluster_ips[0]), (Strings{"10.1.0.1:8080"}));
  EXPECT_EQ(Backends(t.cluster_ips[1]), (Strings{"fd00:1::1:8080", "fd00:1::2:8080"}));

  // An IPv6-only service without clusterIPs (before dual-stack).
  svc = MakeService(R"({"clusterIP": "fd00:96::10", "ports": [{"name": "http", "port": 80}]})");
  t = BuildServiceTable(svc, &ep, "node-a");
  ASSERT_EQ(Keys(t), (Strings{"fd00:96::10:80/TCP"}));
  EXPECT_EQ(Backends(t.cluster_ips[0]), (Strings{"fd00:1::1:8080", "fd00:1::2:8080"}));
}

TEST(ServiceTable, ClientIpAffinity) {
  v1::Service svc = MakeService(R"({"clusterIP": "10.96.0.10", "sessionAffinity": "ClientIP",
      "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
      "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]})");
  ServiceTable t = BuildServiceTable(svc, nullptr, "node-a");
  ASSERT_EQ(t.cluster_ips.size(), 2u);
  EXPECT_EQ(t.cluster_ips[0].affinity_timeout_seconds, 60u);
  EXPECT_EQ(t.cluster_ips[1].affinity_timeout_seconds, 60u);

  svc = MakeService(R"({"clusterIP": "10.96.0.10", "sessionAffinity": "ClientIP",
                        "ports": [{"port": 80}]})");
  t = BuildServiceTable(svc, nullptr, "node-a");
  ASSERT_EQ(t.cluster_ips.size(), 1u);
  EXPECT_EQ(t.cluster_ips[0].affinity_timeout_seconds, 10800u);

  svc = MakeService(R"({"clusterIP": "10.96.0.10", "sessionAffinity": "None",
                        "ports": [{"port": 80}]})");
  t = BuildServiceTable(svc, nullptr, "node-a");
  ASSERT_EQ(t.cluster_ips.size(), 1u);
  EXPECT_FALSE(t.cluster_ips[0].affinity_timeout_seconds);
}

TEST(ServiceTable, NodePortMarksLocalBackendsAndKeepsIpv4) {
  v1::Service svc = MakeService(R"({"type": "NodePort", "clusterIP": "10.96.0.10",
      "clusterIPs": ["10.96.0.10", "fd00:96::10"], "ports": [
        {"name": "http", "port": 80, "nodePort": 30080},
        {"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053},
        {"name": "metrics", "port": 9090}]})");
  v1::Endpoints ep = MakeEndpoints(R"([{
      "addresses": [{"ip": "10.1.0.1", "nodeName": "node-a"},
                    {"ip": "10.2.0.1", "nodeName": "node-b"},
                    {"ip": "fd00:1::1", "nodeName": "node-a"},
                    {"ip": "10.1.0.2"}],
      "ports": [{"name": "http", "port": 8080}, {"name": "dns", "port": 5353, "protocol": "UDP"},
                {"name": "metrics", "port": 9100}]}])");
  ServiceTable t = BuildServiceTable(svc, &ep, "node-a");
  EXPECT_EQ(t.cluster_ips.size(), 6u);
  ASSERT_EQ(t.node_ports.size(), 2u);
  EXPECT_EQ(t.node_ports[0].node_port, 30080);
  EXPECT_EQ(t.node_ports[0].protocol, Protocol::kTcp);
  EXPECT_EQ(t.node_ports[0].policy, ebpf::ExternalTrafficPolicy::kCluster);
  EXPECT_EQ(Backends(t.node_ports[0]),
            (Strings{"10.1.0.1:8080 local", "10.2.0.1:8080", "10.1.0.2:8080"}));
  EXPECT_EQ(t.node_ports[1].node_port, 30053);
  EXPECT_EQ(t.node_ports[1].protocol, Protocol::kUdp);
  EXPECT_EQ(Backends(t.node_ports[1]),
            (Strings{"10.1.0.1:5353 local", "10.2.0.1:5353", "10.1.0.2:5353"}));

  // Without a node name nothing is local (an address without nodeName
  // must not match it).
  t = BuildServiceTable(svc, &ep, "");
  ASSERT_EQ(t.node_ports.size(), 2u);
  EXPECT_EQ(Backends(t.node_ports[0]),
            (Strings{"10.1.0.1:8080", "10.2.0.1:8080", "10.1.0.2:8080"}));

  // No endpoints: the node port exists and refuses connections.
  t = BuildServiceTable(svc, nullptr, "node-a");
  ASSERT_EQ(t.node_ports.size(), 2u);
  EXPECT_TRUE(t.node_ports[0].backends.empty());
}

TEST(ServiceTable, NodePortsOnlyForTypeNodePort) {
  v1::Service svc = MakeService(R"({"clusterIP": "10.96.0.10",
      "ports": [{"port": 80, "nodePort": 30080}]})");
  ServiceTable t = BuildServiceTable(svc, nullptr, "node-a");
  EXPECT_EQ(t.cluster_ips.size(), 1u);
  EXPECT_TRUE(t.node_ports.empty());
}

TEST(ServiceTable, InvalidAddressesAndPortsAreSkipped) {
  v1::Service svc = MakeService(R"({"type": "NodePort", "clusterIP": "10.96.0.300",
      "clusterIPs": ["10.96.0.300", "fd00:96::10", "fd00:96::10"], "ports": [
        {"name": "http", "port": 80, "nodePort": 70000},
        {"name": "zero", "port": 0},
        {"name": "huge", "port": 65536},
        {"name": "odd", "port": 81, "protocol": "QUIC", "nodePort": 30081}]})");
  v1::Endpoints ep = MakeEndpoints(R"([
      {"addresses": [{"ip": "bogus"}, {"ip": ""}, {"ip": "fd00:1::zz"}, {"ip": "fd00:1::1"},
                     {"ip": "10.1.0.1"}],
       "ports": [{"name": "http", "port": 8080}]},
      {"addresses": [{"ip": "fd00:1::2"}], "ports": [{"name": "http", "port": 0}]},
      {"addresses": [{"ip": "fd00:1::3"}], "ports": [{"name": "http", "port": 99999}]}])");
  ServiceTable t = BuildServiceTable(svc, &ep, "node-a");
  // The bad IPv4 cluster IP is dropped, the repeated IPv6 one counted once.
  ASSERT_EQ(Keys(t), (Strings{"fd00:96::10:80/TCP"}));
  EXPECT_EQ(Backends(t.cluster_ips[0]), (Strings{"fd00:1::1:8080"}));
  EXPECT_TRUE(t.node_ports.empty());
}

TEST(ServiceTable, MissingEndpointsGiveEmptyBackends) {
  v1::Service svc = MakeService(R"({"clusterIP": "10.96.0.10", "ports": [{"port": 80}]})");
  ServiceTable t = BuildServiceTable(svc, nullptr, "node-a");
  ASSERT_EQ(Keys(t), (Strings{"10.96.0.10:80/TCP"}));
  EXPECT_TRUE(t.cluster_ips[0].backends.empty());

  v1::Endpoints none = MakeEndpoints("[]");
  t = BuildServiceTable(svc, &none, "node-a");
  ASSERT_EQ(t.cluster_ips.size(), 1u);
  EXPECT_TRUE(t.cluster_ips[0].backends.empty());
}

TEST(ServiceTable, RemovedListsWhatTheNewTableDropped) {
  v1::Service before = MakeService(R"({"type": "NodePort", "clusterIP": "10.96.0.10",
      "clusterIPs": ["10.96.0.10", "fd00:96::10"], "ports": [
        {"name": "http", "port": 80, "nodePort": 30080},
        {"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053}]})");
  v1::Service after = MakeService(R"({"type": "NodePort", "clusterIP": "10.96.0.10",
      "ports": [{"name": "http", "port": 80, "nodePort": 30080},
                {"name": "dns", "port": 53, "protocol": "TCP", "nodePort": 30053}]})");
  const ServiceTable old_table = BuildServiceTable(before, nullptr, "node-a");
  const ServiceTable new_table = BuildServiceTable(after, nullptr, "node-a");

  RemovedEntries removed = Removed(old_table, new_table);
  Strings keys;
  for (const ebpf::ServiceKey& k : removed.cluster_ips) keys.push_back(KeyOf(k));
  EXPECT_EQ(keys, (Strings{"fd00:96::10:80/TCP", "10.96.0.10:53/UDP", "fd00:96::10:53/UDP"}));
  ASSERT_EQ(removed.node_ports.size(), 1u);
  EXPECT_EQ(removed.node_ports[0].node_port, 30053);
  EXPECT_EQ(removed.node_ports[0].protocol, Protocol::kUdp);

  removed = Removed(new_table, new_table);
  EXPECT_TRUE(removed.cluster_ips.empty());
  EXPECT_TRUE(removed.node_ports.empty());

  // Everything goes when the service is deleted.
  removed = Removed(old_table, ServiceTable{});
  EXPECT_EQ(removed.cluster_ips.size(), old_table.cluster_ips.size());
  EXPECT_EQ(removed.node_ports.size(), 2u);
}

}  // namespace
}  // namespace berth::nodeagent
