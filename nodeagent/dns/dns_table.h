// DnsTable: the cluster DNS records of one node, derived from Services and
// Endpoints the way the Kubernetes DNS specification defines them
// (github.com/kubernetes/dns docs/specification.md, schema version 1.1.0):
//
//   <svc>.<ns>.svc.<domain>              A/AAAA: the ClusterIPs (spec.clusterIPs,
//                                        else spec.clusterIP); headless
//                                        (clusterIP "None"): the ready endpoint
//                                        addresses (+ notReadyAddresses when
//                                        spec.publishNotReadyAddresses)
//                                        CNAME: spec.externalName (ExternalName)
//   <host>.<svc>.<ns>.svc.<domain>       A/AAAA of one headless endpoint; <host>
//                                        is its hostname, else its IP with '.'
//                                        or ':' replaced by '-' (as CoreDNS)
//   _<port>._<proto>.<svc>.<ns>.svc.<domain>
//                                        SRV per named port: normal service ->
//                                        0 100 <port> <svc>.<ns>.svc.<domain>.;
//                                        headless -> one per endpoint address,
//                                        target <host>.<svc>.<ns>.svc.<domain>.
//
// Every record has TTL 5. Names compare case-insensitively. Lookup tells a
// name that does not exist (kNxDomain) from an existing name, or an empty
// non-terminal such as <ns>.svc.<domain>, without records of the asked type
// (kNoError with no answers, "NODATA"), and names outside the domain
// (kNotOurs: the caller forwards them). A Service whose name or namespace is
// not a DNS label, an address that is not an IP, and an ExternalName that is
// not a host name produce no records (the API should have rejected them).
// An empty metadata.namespace means "default". Endpoints without their
// Service are kept but produce nothing until the Service arrives.
//
// Pure logic, no I/O. Thread-safe: updates take a writer lock, Lookup a
// reader lock, so the DNS server can answer while the agent feeds updates.
// Nothing here fails.
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core.pb.h"

#include "berth/common/ip.h"

namespace berth::nodeagent::dns {

// RR types (RFC 1035 3.2.2, RFC 3596, RFC 2782) and QTYPE ANY.
inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeSoa = 6;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeSrv = 33;
inline constexpr uint16_t kTypeAny = 255;

inline constexpr uint32_t kRecordTtl = 5;
inline constexpr std::string_view kDefaultDomain = "cluster.local";

struct Record {
  std::string name;  // owner: lower case, absolute ("web.default.svc.cluster.local.")
  uint16_t type = 0;
  uint32_t ttl = kRecordTtl;
  IpAddress address;   // A, AAAA
  std::string target;  // CNAME, SRV: absolute, with the trailing dot
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;

  friend bool operator==(const Record&, const Record&) = default;
};

struct Answer {
  enum Rcode { kNoError, kNxDomain, kNotOurs };
  Rcode rcode = kNotOurs;
  std::vector<Record> answers;
  // A/AAAA of SRV targets known to the table.
  std::vector<Record> additional;
};

class DnsTable {
 public:
  // `domain` is the cluster domain; case and a trailing dot are ignored.
  explicit DnsTable(std::string_view domain = kDefaultDomain);
  ~DnsTable();
  DnsTable(const DnsTable&) = delete;
  DnsTable& operator=(const DnsTable&) = delete;

  // Lower case, without the trailing dot ("cluster.local").
  const std::string& domain() const { return domain_; }

  // Adds or replaces the Service/Endpoints named by the object's metadata.
  void SetService(const v1::Service& service);
  void RemoveService(std::string_view ns, std::string_view name);
  void SetEndpoints(const v1::Endpoints& endpoints);
  void RemoveEndpoints(std::string_view ns, std::string_view name);
  // Everything at once, after a relist: objects not given are dropped.
  void Replace(std::vector<v1::Service> services, std::vector<v1::Endpoints> endpoints);

  // `qname` in presentation form, with or without the trailing dot, any case.
  // For a CNAME owner asked for another type, answers the CNAME (and, when
  // the target is in the domain, the target's records of that type).
  // qtype kTypeAny answers every record of the name.
  Answer Lookup(std::string_view qname, uint16_t qtype) const;

 private:
  struct State;

  const std::string domain_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<State> state_;  // guarded by mu_
};

// "10.0.0.1" -> "10-0-0-1", "fd00::1" -> "fd00--1": an endpoint's name
// when it has no hostname.
std::string DashedAddress(const IpAddress& address);

}  // namespace berth::nodeagent::dns
