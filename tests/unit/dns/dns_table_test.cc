#include "dns_table.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/api/codec.h"

namespace berth::nodeagent::dns {
namespace {

v1::Service ServiceFrom(std::string_view json) {
  auto object = api::DecodeJson(json, "test service");
  if (!object.ok()) {
    ADD_FAILURE() << object.error().ToString();
    return {};
  }
  return object->service();
}

v1::Endpoints EndpointsFrom(std::string_view json) {
  auto object = api::DecodeJson(json, "test endpoints");
  if (!object.ok()) {
    ADD_FAILURE() << object.error().ToString();
    return {};
  }
  return object->endpoints();
}

constexpr std::string_view kWeb = R"({
  "apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "web", "namespace": "default"},
  "spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10", "fd00::10"],
           "ports": [{"name": "http", "port": 80, "protocol": "TCP"},
                     {"name": "dns", "port": 53, "protocol": "UDP"},
                     {"port": 8080}]}})";

constexpr std::string_view kDb = R"({
  "apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "db", "namespace": "data"},
  "spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]}})";

constexpr std::string_view kDbPublishNotReady = R"({
  "apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "db", "namespace": "data"},
  "spec": {"clusterIP": "None", "publishNotReadyAddresses": true,
           "ports": [{"name": "pg", "port": 5432}]}})";

constexpr std::string_view kDbEndpoints = R"({
  "apiVersion": "v1", "kind": "Endpoints",
  "metadata": {"name": "db", "namespace": "data"},
  "subsets": [{
    "addresses": [{"ip": "10.1.0.1", "hostname": "db-0"}, {"ip": "10.1.0.2"},
                  {"ip": "fd00:1::2", "hostname": "db-6"}],
    "notReadyAddresses": [{"ip": "10.1.0.3", "hostname": "db-2"}],
    "ports": [{"name": "pg", "port": 15432, "protocol": "TCP"}]}]})";

constexpr std::string_view kExt = R"({
  "apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "ext", "namespace": "default"},
  "spec": {"type": "ExternalName", "externalName": "DB.Example.COM"}})";

std::vector<std::string> Addresses(const Answer& a) {
  std::vector<std::string> out;
  for (const Record& r : a.answers) {
    if (r.type == kTypeA || r.type == kTypeAaaa) out.push_back(r.address.String());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> SrvTargets(const Answer& a) {
  std::vector<std::string> out;
  for (const Record& r : a.answers) {
    if (r.type == kTypeSrv) out.push_back(r.target + ":" + std::to_string(r.port));
  }
  std::sort(out.begin(), out.end());
  return out;
}

using Strings = std::vector<std::string>;

TEST(DnsTableTest, NormalServiceAnswersItsClusterIps) {
  DnsTable table;
  table.SetService(ServiceFrom(kWeb));

  Answer a = table.Lookup("web.default.svc.cluster.local", kTypeA);
  EXPECT_EQ(a.rcode, Answer::kNoError);
  ASSERT_EQ(a.answers.size(), 1u);
  EXPECT_EQ(a.answers[0].name, "web.default.svc.cluster.local.");
  EXPECT_EQ(a.answers[0].type, kTypeA);
  EXPECT_EQ(a.answers[0].ttl, 5u);
  EXPECT_EQ(a.answers[0].address.String(), "10.96.0.10");

  Answer aaaa = table.Lookup("web.default.svc.cluster.local.", kTypeAaaa);
  EXPECT_EQ(aaaa.rcode, Answer::kNoError);
  EXPECT_EQ(Addresses(aaaa), Strings{"fd00::10"});
  EXPECT_EQ(aaaa.answers[0].type, kTypeAaaa);

  EXPECT_EQ(Addresses(table.Lookup("web.default.svc.cluster.local", kTypeAny)),
            (Strings{"10.96.0.10", "fd00::10"}));
}

TEST(DnsTableTest, ClusterIpIsTheFallbackForClusterIps) {
  DnsTable table;
  table.SetService(ServiceFrom(R"({"apiVersion": "v1", "kind": "Service",
      "metadata": {"name": "one", "namespace": "ns1"}, "spec": {"clusterIP": "10.96.1.1"}})"));
  EXPECT_EQ(Addresses(table.Lookup("one.ns1.svc.cluster.local", kTypeA)), Strings{"10.96.1.1"});
  // A single-stack service exists for AAAA too: NODATA.
  Answer aaaa = table.Lookup("one.ns1.svc.cluster.local", kTypeAaaa);
  EXPECT_EQ(aaaa.rcode, Answer::kNoError);
  EXPECT_TRUE(aaaa.answers.empty());
}

TEST(DnsTableTest, NamesAreCaseInsensitive) {
  DnsTable table("Cluster.LOCAL.");
  EXPECT_EQ(table.domain(), "cluster.local");
  table.SetService(ServiceFrom(kWeb));
  EXPECT_EQ(Addresses(table.Lookup("WEB.Default.SVC.cluster.LOCAL.", kTypeA)),
            Strings{"10.96.0.10"});
  EXPECT_EQ(SrvTargets(table.Lookup("_HTTP._Tcp.web.DEFAULT.svc.cluster.local", kTypeSrv)),
            Strings{"web.default.svc.cluster.local.:80"});
  EXPECT_EQ(table.Lookup("Example.COM", kTypeA).rcode, Answer::kNotOurs);
}

TEST(DnsTableTest, NormalServiceSrvPerNamedPort) {
  DnsTable table;
  table.SetService(ServiceFrom(kWeb));

  Answer srv = table.Lookup("_http._tcp.web.default.svc.cluster.local", kTypeSrv);
  EXPECT_EQ(srv.rcode, Answer::kNoError);
  ASSERT_EQ(srv.answers.size(), 1u);
  const Record& r = srv.answers[0];
  EXPECT_EQ(r.name, "_http._tcp.web.default.svc.cluster.local.");
  EXPECT_EQ(r.priority, 0);
  EXPECT_EQ(r.weight, 100);
  EXPECT_EQ(r.port, 80);
  EXPECT_EQ(r.target, "web.default.svc.cluster.local.");
  // The target's addresses ride along.
  Strings extra;
  for (const Record& x : srv.additional) extra.push_back(x.address.String());
  std::sort(extra.begin(), extra.end());
  EXPECT_EQ(extra, (Strings{"10.96.0.10", "fd00::10"}));

  EXPECT_EQ(SrvTargets(table.Lookup("_dns._udp.web.default.svc.cluster.local", kTypeSrv)),
            Strings{"web.default.svc.cluster.local.:53"});
  // Wrong protocol, or the unnamed port: no such name.
  EXPECT_EQ(table.Lookup("_dns._tcp.web.default.svc.cluster.local", kTypeSrv).rcode,
            Answer::kNxDomain);
  EXPECT_EQ(table.Lookup("_http._udp.web.default.svc.cluster.local", kTypeSrv).rcode,
            Answer::kNxDomain);
  // "_tcp.web..." is an empty non-terminal: it exists.
  Answer ent = table.Lookup("_tcp.web.default.svc.cluster.local", kTypeSrv);
  EXPECT_EQ(ent.rcode, Answer::kNoError);
  EXPECT_TRUE(ent.answers.empty());
  // An SRV name has no address records: NODATA.
  Answer a = table.Lookup("_http._tcp.web.default.svc.cluster.local", kTypeA);
  EXPECT_EQ(a.rcode, Answer::kNoError);
  EXPECT_TRUE(a.answers.empty());
}

TEST(DnsTableTest, HeadlessServiceAnswersReadyEndpoints) {
  DnsTable table;
  table.SetService(ServiceFrom(kDb));
  table.SetEndpoints(EndpointsFrom(kDbEndpoints));

  EXPECT_EQ(Addresses(table.Lookup("db.data.svc.cluster.local", kTypeA)),
            (Strings{"10.1.0.1", "10.1.0.2"}));
  EXPECT_EQ(Addresses(table.Lookup("db.data.svc.cluster.local", kTypeAaaa)), Strings{"fd00:1::2"});
  // Per-endpoint names: the hostname, else the dashed address.
  EXPECT_EQ(Addresses(table.Lookup("db-0.db.data.svc.cluster.local", kTypeA)), Strings{"10.1.0.1"});
  EXPECT_EQ(Addresses(table.Lookup("10-1-0-2.db.data.svc.cluster.local", kTypeA)),
            Strings{"10.1.0.2"});
  EXPECT_EQ(Addresses(table.Lookup("db-6.db.data.svc.cluster.local", kTypeAaaa)),
            Strings{"fd00:1::2"});
  // Not ready, not published.
  EXPECT_EQ(table.Lookup("db-2.db.data.svc.cluster.local", kTypeA).rcode, Answer::kNxDomain);

  Answer srv = table.Lookup("_pg._tcp.db.data.svc.cluster.local", kTypeSrv);
  EXPECT_EQ(srv.rcode, Answer::kNoError);
  // The endpoints' port, one record per ready address.
  EXPECT_EQ(SrvTargets(srv), (Strings{"10-1-0-2.db.data.svc.cluster.local.:15432",
                                      "db-0.db.data.svc.cluster.local.:15432",
                                      "db-6.db.data.svc.cluster.local.:15432"}));
  for (const Record& r : srv.answers) {
    EXPECT_EQ(r.priority, 0);
    EXPECT_EQ(r.weight, 100);
  }
  Strings extra;
  for (const Record& x : srv.additional) extra.push_back(x.name + " " + x.address.String());
  std::sort(extra.begin(), extra.end());
  EXPECT_EQ(extra, (Strings{"10-1-0-2.db.data.svc.cluster.local. 10.1.0.2",
                            "db-0.db.data.svc.cluster.local. 10.1.0.1",
                            "db-6.db.data.svc.cluster.local. fd00:1::2"}));
}

TEST(DnsTableTest, HeadlessPublishNotReadyAddresses) {
  DnsTable table;
  table.SetService(ServiceFrom(kDbPublishNotReady));
  table.SetEndpoints(EndpointsFrom(kDbEndpoints));
  EXPECT_EQ(Addresses(table.Lookup("db.data.svc.cluster.local", kTypeA)),
            (Strings{"10.1.0.1", "10.1.0.2", "10.1.0.3"}));
  EXPECT_EQ(Addresses(table.Lookup("db-2.db.data.svc.cluster.local", kTypeA)), Strings{"10.1.0.3"});
  EXPECT_EQ(SrvTargets(table.Lookup("_pg._tcp.db.data.svc.cluster.local", kTypeSrv)).size(), 4u);
}

TEST(DnsTableTest, HeadlessWithoutEndpointsExistsButIsEmpty) {
  DnsTable table;
  table.SetService(ServiceFrom(kDb));
  Answer a = table.Lookup("db.data.svc.cluster.local", kTypeA);
  EXPECT_EQ(a.rcode, Answer::kNoError);
  EXPECT_TRUE(a.answers.empty());
  Answer srv = table.Lookup("_pg._tcp.db.data.svc.cluster.local", kTypeSrv);
  EXPECT_EQ(srv.rcode, Answer::kNoError);
  EXPECT_TRUE(srv.answers.empty());
}

TEST(DnsTableTest, ExternalNameIsACname) {
  DnsTable table;
  table.SetService(ServiceFrom(kExt));
  for (uint16_t type : {kTypeCname, kTypeA, kTypeAaaa, kTypeAny}) {
    Answer a = table.Lookup("ext.default.svc.cluster.local", type);
    EXPECT_EQ(a.rcode, Answer::kNoError);
    ASSERT_EQ(a.answers.size(), 1u) << type;
    EXPECT_EQ(a.answers[0].type, kTypeCname);
    EXPECT_EQ(a.answers[0].target, "db.example.com.");
    EXPECT_EQ(a.answers[0].ttl, 5u);
  }
}

TEST(DnsTableTest, ExternalNameInsideTheDomainIsChased) {
  DnsTable table;
  table.SetService(ServiceFrom(kWeb));
  table.SetService(ServiceFrom(R"({"apiVersion": "v1", "kind": "Service",
      "metadata": {"name": "alias", "namespace": "default"},
      "spec": {"type": "ExternalName", "externalName": "web.default.svc.cluster.local."}})"));
  Answer a = table.Lookup("alias.default.svc.cluster.local", kTypeA);
  ASSERT_EQ(a.answers.size(), 2u);
  EXPECT_EQ(a.answers[0].type, kTypeCname);
  EXPECT_EQ(a.answers[1].type, kTypeA);
  EXPECT_EQ(a.answers[1].address.String(), "10.96.0.10");
}

TEST(DnsTableTest, NxDomainNoDataAndNotOurs) {
  DnsTable table;
  table.SetService(ServiceFrom(kWeb));

  EXPECT_EQ(table.Lookup("nope.default.svc.cluster.local", kTypeA).rcode, Answer::kNxDomain);
  EXPECT_EQ(table.Lookup("web.other.svc.cluster.local", kTypeA).rcode, Answer::kNxDomain);
  EXPECT_EQ(table.Lookup("x.web.default.svc.cluster.local", kTypeA).rcode, Answer::kNxDomain);
  EXPECT_EQ(table.Lookup("web.default.pod.cluster.local", kTypeA).rcode, Answer::kNxDomain);

  // Existing name, type it lacks (MX = 15).
  Answer mx = table.Lookup("web.default.svc.cluster.local", 15);
  EXPECT_EQ(mx.rcode, Answer::kNoError);
  EXPECT_TRUE(mx.answers.empty());
  // Empty non-terminals and the apex exist.
  for (const char* name : {"default.svc.cluster.local", "svc.cluster.local", "cluster.local"}) {
    Answer a = table.Lookup(name, kTypeA);
    EXPECT_EQ(a.rcode, Answer::kNoError) << name;
    EXPECT_TRUE(a.answers.empty()) << name;
  }

  for (const char* name : {"example.com", "cluster.local.example.com", "xcluster.local", "local",
                           "web.default.svc.cluster", ""}) {
    Answer a = table.Lookup(name, kTypeA);
    EXPECT_EQ(a.rcode, Answer::kNotOurs) << name;
    EXPECT_TRUE(a.answers.empty());
  }
}

TEST(DnsTableTest, UpdatesReplaceRecords) {
  DnsTable table;
  table.SetService(ServiceFrom(kWeb));
  table.SetService(ServiceFrom(R"({"apiVersion": "v1", "kind": "Service",
      "metadata": {"name": "web", "namespace": "default"},
      "spec": {"clusterIP": "10.96.0.99", "ports": [{"name": "https", "port": 443}]}})"));
  EXPECT_EQ(Addresses(table.Lookup("web.default.svc.cluster.local", kTypeA)),
            Strings{"10.96.0.99"});
  EXPECT_TRUE(table.Lookup("web.default.svc.cluster.local", kTypeAaaa).answers.empty());
  EXPECT_EQ(table.Lookup("_http._tcp.web.default.svc.cluster.local", kTypeSrv).rcode,
            Answer::kNxDomain);
  EXPECT_EQ(SrvTargets(table.Lookup("_https._tcp.web.default.svc.cluster.local", kTypeSrv)),
            Strings{"web.default.svc.cluster.local.:443"});

  table.RemoveService("default", "web");
  EXPECT_EQ(table.Lookup("web.default.svc.cluster.local", kTypeA).rcode, Answer::kNxDomain);
  EXPECT_EQ(table.Lookup("_https._tcp.web.default.svc.cluster.local", kTypeSrv).rcode,
            Answer::kNxDomain);
  // Its namespace has nothing left: no longer an empty non-terminal.
  EXPECT_EQ(table.Lookup("default.svc.cluster.local", kTypeA).rcode, Answer::kNxDomain);
  EXPECT_EQ(table.Lookup("svc.cluster.local", kTypeA).rcode, Answer::kNxDomain);
  EXPECT_EQ(table.Lookup("cluster.local", kTypeA).rcode, Answer::kNoError);
}

TEST(DnsTableTest, EndpointsBeforeAndAfterTheirService) {
  DnsTable table;
  table.SetEndpoints(EndpointsFrom(kDbEndpoints));
  EXPECT_EQ(table.Lookup("db.data.svc.cluster.local", kTypeA).rcode, Answer::kNxDomain);

  table.SetService(ServiceFrom(kDb));
  EXPECT_EQ(Addresses(table.Lookup("db.data.svc.cluster.local", kTypeA)),
            (Strings{"10.1.0.1", "10.1.0.2"}));

  table.SetEndpoints(EndpointsFrom(R"({"apiVersion": "v1", "kind": "Endpoints",
      "metadata": {"name": "db", "namespace": "data"},
      "subsets": [{"addresses": [{"ip": "10.1.0.9"}], "ports": [{"name": "pg", "port": 1}]}]})"));
  EXPECT_EQ(Addresses(table.Lookup("db.data.svc.cluster.local", kTypeA)), Strings{"10.1.0.9"});
  EXPECT_EQ(table.Lookup("db-0.db.data.svc.cluster.local", kTypeA).rcode, Answer::kNxDomain);

  table.RemoveEndpoints("data", "db");
  Answer a = table.Lookup("db.data.svc.cluster.local", kTypeA);
  EXPECT_EQ(a.rcode, Answer::kNoError);
  EXPECT_TRUE(a.answers.empty());
  EXPECT_EQ(table.Lookup("10-1-0-9.db.data.svc.cluster.local", kTypeA).rcode, Answer::kNxDomain);
}

TEST(DnsTableTest, ReplaceDropsWhatIsNotListed) {
  DnsTable table;
  table.SetService(ServiceFrom(kWeb));
  table.SetService(ServiceFrom(kExt));
  table.Replace({ServiceFrom(kDb)}, {EndpointsFrom(kDbEndpoints)});
  EXPECT_EQ(table.Lookup("web.default.svc.cluster.local", kTypeA).rcode, Answer::kNxDomain);
  EXPECT_EQ(table.Lookup("ext.default.svc.cluster.local", kTypeCname).rcode, Answer::kNxDomain);
  EXPECT_EQ(Addresses(table.Lookup("db.data.svc.cluster.local", kTypeA)),
            (Strings{"10.1.0.1", "10.1.0.2"}));
  // And later updates still work on the new state.
  table.RemoveService("data", "db");
  EXPECT_EQ(table.Lookup("db.data.svc.cluster.local", kTypeA).rcode, Answer::kNxDomain);
}

TEST(DnsTableTest, CustomDomainAndDefaultNamespace) {
  DnsTable table("berth.internal");
  table.SetService(ServiceFrom(R"({"apiVersion": "v1", "kind": "Service",
      "metadata": {"name": "api"}, "spec": {"clusterIP": "10.96.0.1"}})"));
  EXPECT_EQ(Addresses(table.Lookup("api.default.svc.berth.internal", kTypeA)),
            Strings{"10.96.0.1"});
  EXPECT_EQ(table.Lookup("api.default.svc.cluster.local", kTypeA).rcode, Answer::kNotOurs);
  table.RemoveService("", "api");
  EXPECT_EQ(table.Lookup("api.default.svc.berth.internal", kTypeA).rcode, Answer::kNxDomain);
}

TEST(DnsTableTest, InvalidInputProducesNothing) {
  DnsTable table;
  // A dot in the name would collide with other names: ignored.
  table.SetService(ServiceFrom(R"({"apiVersion": "v1", "kind": "Service",
      "metadata": {"name": "a.b", "namespace": "default"}, "spec": {"clusterIP": "10.0.0.1"}})"));
  EXPECT_EQ(table.Lookup("a.b.default.svc.cluster.local", kTypeA).rcode, Answer::kNxDomain);
  EXPECT_EQ(table.Lookup("b.default.svc.cluster.local", kTypeA).rcode, Answer::kNxDomain);
  // Bad addresses and an ExternalName that is not a host name.
  table.SetService(ServiceFrom(R"({"apiVersion": "v1", "kind": "Service",
      "metadata": {"name": "bad", "namespace": "default"},
      "spec": {"clusterIP": "not-an-ip", "ports": [{"name": "x", "port": 0}]}})"));
  Answer a = table.Lookup("bad.default.svc.cluster.local", kTypeA);
  EXPECT_EQ(a.rcode, Answer::kNoError);
  EXPECT_TRUE(a.answers.empty());
  EXPECT_TRUE(table.Lookup("_x._tcp.bad.default.svc.cluster.local", kTypeSrv).answers.empty());
  table.SetService(ServiceFrom(R"({"apiVersion": "v1", "kind": "Service",
      "metadata": {"name": "ext", "namespace": "default"},
      "spec": {"type": "ExternalName", "externalName": "bad name..com"}})"));
  EXPECT_TRUE(table.Lookup("ext.default.svc.cluster.local", kTypeCname).answers.empty());
}

TEST(DnsTableTest, DashedAddress) {
  EXPECT_EQ(DashedAddress(*IpAddress::Parse("10.0.0.1")), "10-0-0-1");
  EXPECT_EQ(DashedAddress(*IpAddress::Parse("fd00::1")), "fd00--1");
}

}  // namespace
}  // namespace berth::nodeagent::dns
