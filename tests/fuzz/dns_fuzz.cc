// DNS packets from pods (queries) and from upstream resolvers (replies): the
// cluster DNS server's pure message path. The first byte picks the path;
// whatever comes out must itself be a message ldns can parse.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

// ldns/common.h defines bool, true and false as macros unless stdbool.h
// came first; those macros break C++ headers included after it.
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)

#include <ldns/ldns.h>

#include "dns_server.h"
#include "dns_table.h"

namespace {

using berth::nodeagent::dns::DnsTable;
using berth::nodeagent::dns::Transport;

const DnsTable& Table() {
  static const DnsTable* table = [] {
    auto* t = new DnsTable();
    berth::v1::Service web;
    web.mutable_metadata()->set_name("web");
    web.mutable_metadata()->set_namespace_("default");
    web.mutable_spec()->add_cluster_ips("10.96.0.10");
    web.mutable_spec()->add_cluster_ips("fd00::10");
    auto* port = web.mutable_spec()->add_ports();
    port->set_name("http");
    port->set_port(80);
    t->SetService(web);

    berth::v1::Service db;
    db.mutable_metadata()->set_name("db");
    db.mutable_metadata()->set_namespace_("data");
    db.mutable_spec()->set_cluster_ip("None");
    t->SetService(db);
    berth::v1::Endpoints eps;
    eps.mutable_metadata()->set_name("db");
    eps.mutable_metadata()->set_namespace_("data");
    auto* subset = eps.add_subsets();
    for (int i = 1; i <= 40; ++i) {
      auto* a = subset->add_addresses();
      a->set_ip("10.1.0." + std::to_string(i));
      if (i % 2 == 0) a->set_hostname("db-" + std::to_string(i));
    }
    auto* eport = subset->add_ports();
    eport->set_name("pg");
    eport->set_port(5432);
    t->SetEndpoints(eps);

    berth::v1::Service ext;
    ext.mutable_metadata()->set_name("ext");
    ext.mutable_metadata()->set_namespace_("default");
    ext.mutable_spec()->set_type("ExternalName");
    ext.mutable_spec()->set_external_name("web.default.svc.cluster.local");
    t->SetService(ext);
    return t;
  }();
  return *table;
}

// A query for example.com A with id 0x1234, built once through ldns.
const std::vector<uint8_t>& UpstreamQuery() {
  static const std::vector<uint8_t> wire = [] {
    ldns_pkt* q = ldns_pkt_query_new(ldns_dname_new_frm_str("example.com."), LDNS_RR_TYPE_A,
                                     LDNS_RR_CLASS_IN, LDNS_RD);
    ldns_pkt_set_id(q, 0x1234);
    uint8_t* buf = nullptr;
    size_t size = 0;
    if (ldns_pkt2wire(&buf, q, &size) != LDNS_STATUS_OK) std::abort();
    std::vector<uint8_t> out(buf, buf + size);
    free(buf);  // NOLINT: ldns allocates with malloc
    ldns_pkt_free(q);
    return out;
  }();
  return wire;
}

// Everything we send must parse back.
void CheckParses(const std::vector<uint8_t>& wire) {
  if (wire.empty()) return;
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, wire.data(), wire.size()) != LDNS_STATUS_OK) std::abort();
  ldns_pkt_free(p);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0] % 4;
  ++data;
  --size;
  using namespace berth::nodeagent::dns;
  switch (mode) {
    case 0:
    case 1: {
      QueryResult r =
          HandleQuery(Table(), mode == 0 ? Transport::kUdp : Transport::kTcp, data, size);
      if (r.kind != QueryResult::kDrop) CheckParses(r.wire);
      if (mode == 0 && r.kind == QueryResult::kReply && r.wire.size() > 4096) std::abort();
      if (r.kind == QueryResult::kForward) CheckParses(ServFailReply(r.wire.data(), r.wire.size()));
      break;
    }
    case 2: {
      const auto& q = UpstreamQuery();
      auto relayed = RelayReply(q.data(), q.size(), data, size, 0x9999, Transport::kUdp);
      if (relayed) CheckParses(*relayed);
      break;
    }
    case 3: {
      CheckParses(ServFailReply(data, size));
      std::string_view text(reinterpret_cast<const char*>(data), size);
      for (const auto& ns : ParseResolvConf(text)) {
        if (!ParseUpstream(ns).ok()) std::abort();
      }
      (void)ParseUpstream(text);
      break;
    }
  }
  return 0;
}
