// DNS messages for the cluster domain: answers from the DnsTable, replies
// relayed from upstream resolvers, and the resolver configuration.

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <map>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "dns_server.h"

// ldns/common.h defines bool, true and false as macros unless stdbool.h
// came first; those macros break C++ headers included after it.
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)

#include <ldns/ldns.h>

#include "berth/common/log.h"

namespace berth::nodeagent::dns {
namespace {

// RFC 1035 4.2.1: without EDNS a UDP message is at most 512 bytes; with it,
// the client's advertised size, capped where fragmentation starts to bite.
constexpr size_t kClassicUdpSize = 512;
constexpr size_t kMaxUdpSize = 4096;
// What we advertise (DNS flag day 2020).
constexpr uint16_t kEdnsUdpSize = 1232;

// SOA of the cluster domain, as CoreDNS's kubernetes plugin writes it.
constexpr uint32_t kSoaSerial = 1;
constexpr uint32_t kSoaRefresh = 7200;
constexpr uint32_t kSoaRetry = 1800;
constexpr uint32_t kSoaExpire = 86400;

struct LdnsFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
  void operator()(ldns_rr* r) const { ldns_rr_free(r); }
  void operator()(ldns_rdf* d) const { ldns_rdf_deep_free(d); }
};
using PktPtr = std::unique_ptr<ldns_pkt, LdnsFree>;
using RrPtr = std::unique_ptr<ldns_rr, LdnsFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, LdnsFree>;

PktPtr ParsePacket(const uint8_t* data, size_t size) {
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, data, size) != LDNS_STATUS_OK) {
    if (p != nullptr) ldns_pkt_free(p);
    return nullptr;
  }
  return PktPtr(p);
}

std::optional<std::vector<uint8_t>> ToWire(const ldns_pkt* p) {
  uint8_t* buf = nullptr;
  size_t size = 0;
  if (ldns_pkt2wire(&buf, p, &size) != LDNS_STATUS_OK || buf == nullptr) {
    free(buf);  // NOLINT: allocated by ldns with malloc
    return std::nullopt;
  }
  std::vector<uint8_t> out(buf, buf + size);
  free(buf);  // NOLINT: allocated by ldns with malloc
  return out;
}

RdfPtr Dname(const std::string& name) { return RdfPtr(ldns_dname_new_frm_str(name.c_str())); }

// Takes ownership of `rr` whatever happens.
bool Push(ldns_pkt* pkt, ldns_pkt_section section, RrPtr rr) {
  if (!rr) return false;
  if (!ldns_pkt_push_rr(pkt, section, rr.get())) return false;
  (void)rr.release();  // now owned by the packet
  return true;
}

// Takes ownership of `rdf` whatever happens.
bool PushRdf(ldns_rr* rr, ldns_rdf* rdf) {
  if (rdf == nullptr) return false;
  if (!ldns_rr_push_rdf(rr, rdf)) {
    ldns_rdf_deep_free(rdf);
    return false;
  }
  return true;
}

RrPtr NewRr(RdfPtr owner, uint16_t type, uint32_t ttl) {
  if (!owner) return nullptr;
  RrPtr rr(ldns_rr_new());
  if (!rr) return nullptr;
  ldns_rr_set_owner(rr.get(), owner.release());
  ldns_rr_set_type(rr.get(), static_cast<ldns_rr_type>(type));
  ldns_rr_set_class(rr.get(), LDNS_RR_CLASS_IN);
  ldns_rr_set_ttl(rr.get(), ttl);
  return rr;
}

// The record as an ldns RR. When its owner is the question's name, the
// question's spelling is kept (RFC 4343; resolvers using 0x20 case
// randomization compare it).
RrPtr ToRr(const Record& r, const ldns_rdf* qname) {
  RdfPtr owner = Dname(r.name);
  if (!owner) return nullptr;
  if (qname != nullptr && ldns_dname_compare(owner.get(), qname) == 0) {
    owner.reset(ldns_rdf_clone(qname));
  }
  RrPtr rr = NewRr(std::move(owner), r.type, r.ttl);
  if (!rr) return nullptr;
  bool ok = false;
  switch (r.type) {
    case kTypeA:
    case kTypeAaaa:
      ok = (r.type == kTypeA) == r.address.is_v4() &&
           PushRdf(rr.get(),
                   ldns_rdf_new_frm_data(r.type == kTypeA ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA,
                                         r.address.size(), r.address.bytes.data()));
      break;
    case kTypeCname:
      ok = PushRdf(rr.get(), Dname(r.target).release());
      break;
    case kTypeSrv:
      ok = PushRdf(rr.get(), ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, r.priority)) &&
           PushRdf(rr.get(), ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, r.weight)) &&
           PushRdf(rr.get(), ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, r.port)) &&
           PushRdf(rr.get(), Dname(r.target).release());
      break;
    default:
      break;
  }
  return ok ? std::move(rr) : nullptr;
}

// The domain's SOA; `owner` is the domain's name as the client spelled it.
RrPtr SoaRr(const std::string& domain, const ldns_rdf* owner) {
  RrPtr rr = NewRr(RdfPtr(ldns_rdf_clone(owner)), kTypeSoa, kRecordTtl);
  if (!rr) return nullptr;
  bool ok = PushRdf(rr.get(), Dname("ns.dns." + domain + ".").release()) &&
            PushRdf(rr.get(), Dname("hostmaster." + domain + ".").release()) &&
            PushRdf(rr.get(), ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, kSoaSerial)) &&
            PushRdf(rr.get(), ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, kSoaRefresh)) &&
            PushRdf(rr.get(), ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, kSoaRetry)) &&
            PushRdf(rr.get(), ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, kSoaExpire)) &&
            PushRdf(rr.get(), ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, kRecordTtl));
  return ok ? std::move(rr) : nullptr;
}

bool CopyQuestion(const ldns_pkt* from, ldns_pkt* to) {
  const ldns_rr_list* question = ldns_pkt_question(from);
  for (size_t i = 0; i < ldns_rr_list_rr_count(question); ++i) {
    if (!Push(to, LDNS_SECTION_QUESTION, RrPtr(ldns_rr_clone(ldns_rr_list_rr(question, i))))) {
      return false;
    }
  }
  return true;
}

// A reply to `query` with its id, question, RD and CD, and EDNS when the
// query had it; no records yet.
PktPtr NewReply(const ldns_pkt* query, ldns_pkt_opcode opcode, uint8_t rcode) {
  PktPtr reply(ldns_pkt_new());
  if (!reply) return nullptr;
  ldns_pkt_set_id(reply.get(), ldns_pkt_id(query));
  ldns_pkt_set_qr(reply.get(), true);
  ldns_pkt_set_opcode(reply.get(), opcode);
  ldns_pkt_set_rd(reply.get(), ldns_pkt_rd(query));
  ldns_pkt_set_cd(reply.get(), ldns_pkt_cd(query));
  ldns_pkt_set_ra(reply.get(), true);
  ldns_pkt_set_rcode(reply.get(), rcode);
  if (!CopyQuestion(query, reply.get())) return nullptr;
  if (ldns_pkt_edns(query)) {
    ldns_pkt_set_edns_udp_size(reply.get(), kEdnsUdpSize);
    ldns_pkt_set_edns_do(reply.get(), ldns_pkt_edns_do(query));  // RFC 3225 3: copied
  }
  return reply;
}

// How large a UDP reply to `query` may be.
size_t UdpLimit(const ldns_pkt* query) {
  if (!ldns_pkt_edns(query)) return kClassicUdpSize;
  return std::clamp<size_t>(ldns_pkt_edns_udp_size(query), kClassicUdpSize, kMaxUdpSize);
}

// RFC 2181 9: a reply that does not fit is sent with TC and without the
// records, so the client retries over TCP.
std::optional<std::vector<uint8_t>> TruncatedWire(const ldns_pkt* reply) {
  PktPtr t(ldns_pkt_new());
  if (!t) return std::nullopt;
  ldns_pkt_set_id(t.get(), ldns_pkt_id(reply));
  ldns_pkt_set_qr(t.get(), true);
  ldns_pkt_set_opcode(t.get(), LDNS_PACKET_QUERY);  // we only answer or forward QUERY
  ldns_pkt_set_aa(t.get(), ldns_pkt_aa(reply));
  ldns_pkt_set_rd(t.get(), ldns_pkt_rd(reply));
  ldns_pkt_set_ra(t.get(), ldns_pkt_ra(reply));
  ldns_pkt_set_cd(t.get(), ldns_pkt_cd(reply));
  ldns_pkt_set_ad(t.get(), ldns_pkt_ad(reply));
  ldns_pkt_set_rcode(t.get(), ldns_pkt_get_rcode(reply));
  ldns_pkt_set_tc(t.get(), true);
  if (!CopyQuestion(reply, t.get())) return std::nullopt;
  if (ldns_pkt_edns(reply)) ldns_pkt_set_edns_udp_size(t.get(), kEdnsUdpSize);
  return ToWire(t.get());
}

// The wire form of `reply`, truncated when it exceeds `limit`.
std::optional<std::vector<uint8_t>> FittedWire(const ldns_pkt* reply, size_t limit) {
  auto wire = ToWire(reply);
  if (wire && wire->size() > limit) return TruncatedWire(reply);
  return wire;
}

QueryResult Reply(std::optional<std::vector<uint8_t>> wire) {
  QueryResult r;
  if (wire) {
    r.kind = QueryResult::kReply;
    r.wire = std::move(*wire);
  }
  return r;
}

QueryResult ErrorReply(const ldns_pkt* query, ldns_pkt_opcode opcode, uint8_t rcode) {
  PktPtr reply = NewReply(query, opcode, rcode);
  if (!reply) return {};
  return Reply(ToWire(reply.get()));
}

// FORMERR for a query ldns could not parse: only the header is known.
QueryResult FormErr(const uint8_t* data) {
  PktPtr reply(ldns_pkt_new());
  if (!reply) return {};
  ldns_pkt_set_id(reply.get(), LDNS_ID_WIRE(data));
  ldns_pkt_set_qr(reply.get(), true);
  ldns_pkt_set_opcode(reply.get(), LDNS_PACKET_QUERY);
  ldns_pkt_set_rd(reply.get(), LDNS_RD_WIRE(data) != 0);
  ldns_pkt_set_rcode(reply.get(), LDNS_RCODE_FORMERR);
  return Reply(ToWire(reply.get()));
}

std::string RdfText(const ldns_rdf* rdf) {
  char* text = ldns_rdf2str(rdf);
  if (text == nullptr) return {};
  std::string out(text);
  free(text);  // NOLINT: allocated by ldns with malloc
  return out;
}

// The authoritative answer to a question in the cluster domain (`domain`
// is its name as an rdf).
QueryResult AnswerLocally(const DnsTable& table, Transport transport, const ldns_pkt* query,
                          const ldns_rr* question, const ldns_rdf* domain) {
  const ldns_rdf* qname = ldns_rr_owner(question);
  const auto qtype = static_cast<uint16_t>(ldns_rr_get_type(question));
  const auto qclass = static_cast<uint16_t>(ldns_rr_get_class(question));
  if ((qclass != LDNS_RR_CLASS_IN && qclass != LDNS_RR_CLASS_ANY) || qtype == LDNS_RR_TYPE_AXFR ||
      qtype == LDNS_RR_TYPE_IXFR) {
    return ErrorReply(query, LDNS_PACKET_QUERY, LDNS_RCODE_REFUSED);
  }

  const std::string name = RdfText(qname);
  Answer answer;
  // A name needing escapes (a dot or odd byte inside a label) can't be one
  // of ours, which are plain host names.
  if (name.empty() || name.find('\\') != std::string::npos) {
    answer.rcode = Answer::kNxDomain;
  } else {
    answer = table.Lookup(name, qtype);
    // In the domain by ldns's comparison but not by the table's: an odd
    // name, and not one to send elsewhere.
    if (answer.rcode == Answer::kNotOurs) answer.rcode = Answer::kNxDomain;
  }

  PktPtr reply =
      NewReply(query, LDNS_PACKET_QUERY,
               answer.rcode == Answer::kNxDomain ? LDNS_RCODE_NXDOMAIN : LDNS_RCODE_NOERROR);
  if (!reply) return {};
  ldns_pkt_set_aa(reply.get(), true);
  for (const Record& r : answer.answers) {
    if (!Push(reply.get(), LDNS_SECTION_ANSWER, ToRr(r, qname))) return {};
  }
  const bool apex = ldns_dname_compare(qname, domain) == 0;
  if (apex && answer.rcode == Answer::kNoError && (qtype == kTypeSoa || qtype == kTypeAny)) {
    if (!Push(reply.get(), LDNS_SECTION_ANSWER, SoaRr(table.domain(), qname))) return {};
  }
  if (ldns_pkt_ancount(reply.get()) == 0) {
    // RFC 2308 3: negative answers carry the SOA, whose minimum is their TTL.
    if (!Push(reply.get(), LDNS_SECTION_AUTHORITY, SoaRr(table.domain(), domain))) return {};
  }
  for (const Record& r : answer.additional) {
    if (!Push(reply.get(), LDNS_SECTION_ADDITIONAL, ToRr(r, nullptr))) return {};
  }
  return Reply(transport == Transport::kUdp ? FittedWire(reply.get(), UdpLimit(query))
                                            : FittedWire(reply.get(), kMaxTcpMessage));
}

}  // namespace

QueryResult HandleQuery(const DnsTable& table, Transport transport, const uint8_t* data,
                        size_t size) {
  // Without a full header we cannot tell a query from a reply; replies are
  // never answered (that would let two servers bounce packets forever).
  if (data == nullptr || size < LDNS_HEADER_SIZE || LDNS_QR_WIRE(data) != 0) return {};
  const int opcode = LDNS_OPCODE_WIRE(data);
  PktPtr query = ParsePacket(data, size);
  if (!query) return FormErr(data);
  if (opcode != LDNS_PACKET_QUERY) {
    // Opcodes 0-7 are the ones ldns_pkt_opcode can hold; the rest are
    // unassigned and dropped.
    if (opcode > 7) return {};
    return ErrorReply(query.get(), static_cast<ldns_pkt_opcode>(opcode), LDNS_RCODE_NOTIMPL);
  }
  if (ldns_pkt_edns(query.get()) && ldns_pkt_edns_version(query.get()) != 0) {
    // RFC 6891 6.1.3: only EDNS version 0 is spoken here. BADVERS is 16, of
    // which the OPT record carries the upper 8 bits.
    PktPtr reply = NewReply(query.get(), LDNS_PACKET_QUERY, LDNS_RCODE_NOERROR);
    if (!reply) return {};
    ldns_pkt_set_edns_extended_rcode(reply.get(), 1);
    return Reply(ToWire(reply.get()));
  }
  const ldns_rr_list* questions = ldns_pkt_question(query.get());
  if (ldns_rr_list_rr_count(questions) != 1) {
    return ErrorReply(query.get(), LDNS_PACKET_QUERY, LDNS_RCODE_FORMERR);
  }
  const ldns_rr* question = ldns_rr_list_rr(questions, 0);
  RdfPtr domain = Dname(table.domain() + ".");
  const ldns_rdf* qname = ldns_rr_owner(question);
  if (domain && qname != nullptr &&
      (ldns_dname_compare(qname, domain.get()) == 0 ||
       ldns_dname_is_subdomain(qname, domain.get()))) {
    return AnswerLocally(table, transport, query.get(), question, domain.get());
  }
  auto wire = ToWire(query.get());
  if (!wire) return ErrorReply(query.get(), LDNS_PACKET_QUERY, LDNS_RCODE_SERVFAIL);
  QueryResult r;
  r.kind = QueryResult::kForward;
  r.wire = std::move(*wire);
  return r;
}

std::optional<std::vector<uint8_t>> RelayReply(const uint8_t* query, size_t query_size,
                                               const uint8_t* reply, size_t reply_size,
                                               uint16_t client_id, Transport transport) {
  if (reply == nullptr || reply_size < LDNS_HEADER_SIZE || LDNS_QR_WIRE(reply) == 0) {
    return std::nullopt;
  }
  PktPtr q = ParsePacket(query, query_size);
  PktPtr r = ParsePacket(reply, reply_size);
  if (!q || !r || ldns_pkt_id(q.get()) != ldns_pkt_id(r.get())) return std::nullopt;
  if (LDNS_OPCODE_WIRE(reply) != LDNS_PACKET_QUERY) return std::nullopt;

  // RFC 5452 9.1: the question must be the one asked. An error reply may
  // leave it out (RFC 1035 does not require it there).
  const ldns_rr_list* asked = ldns_pkt_question(q.get());
  const ldns_rr_list* answered = ldns_pkt_question(r.get());
  if (ldns_rr_list_rr_count(asked) != 1) return std::nullopt;
  const size_t count = ldns_rr_list_rr_count(answered);
  if (count == 0) {
    if (ldns_pkt_get_rcode(r.get()) == LDNS_RCODE_NOERROR) return std::nullopt;
  } else {
    const ldns_rr* a = ldns_rr_list_rr(asked, 0);
    const ldns_rr* b = ldns_rr_list_rr(answered, 0);
    if (count != 1 || ldns_rr_owner(b) == nullptr ||
        ldns_dname_compare(ldns_rr_owner(a), ldns_rr_owner(b)) != 0 ||
        ldns_rr_get_type(a) != ldns_rr_get_type(b) ||
        ldns_rr_get_class(a) != ldns_rr_get_class(b)) {
      return std::nullopt;
    }
  }
  ldns_pkt_set_id(r.get(), client_id);
  return FittedWire(r.get(), transport == Transport::kUdp ? UdpLimit(q.get()) : kMaxTcpMessage);
}

std::vector<uint8_t> ServFailReply(const uint8_t* query, size_t size) {
  PktPtr q = ParsePacket(query, size);
  if (!q) return {};
  QueryResult r = ErrorReply(q.get(), LDNS_PACKET_QUERY, LDNS_RCODE_SERVFAIL);
  return std::move(r.wire);
}

Result<HostPort> ParseUpstream(std::string_view text) {
  // inet_pton reads a C string: "10.0.0.1\0junk" would pass for 10.0.0.1.
  if (text.find('\0') != std::string_view::npos) {
    return Error::Invalid("dns upstream: NUL byte in the address");
  }
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Error::Invalid("dns upstream \"" + std::string(text) + "\": missing ']'");
    }
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return Error::Invalid("dns upstream \"" + std::string(text) + "\": junk after ']'");
      }
      port = rest.substr(1);
      if (port.empty()) {
        return Error::Invalid("dns upstream \"" + std::string(text) + "\": empty port");
      }
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    size_t colon = text.find(':');
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) {
      return Error::Invalid("dns upstream \"" + std::string(text) + "\": empty port");
    }
  }
  HostPort out;
  auto address = IpAddress::Parse(host);
  if (!address.ok()) {
    return std::move(address).error().Wrap("dns upstream \"" + std::string(text) + "\"");
  }
  out.address = *address;
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return Error::Invalid("dns upstream \"" + std::string(text) + "\": bad port");
    }
    out.port = static_cast<uint16_t>(value);
  }
  return out;
}

std::vector<std::string> ParseResolvConf(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    // resolv.conf(5): '#' or ';' in the first column starts a comment; be
    // lenient and cut anywhere.
    line = line.substr(0, line.find_first_of("#;"));
    std::vector<std::string_view> words;
    size_t pos = 0;
    while (true) {
      size_t start = line.find_first_not_of(" \t\r", pos);
      if (start == std::string_view::npos) break;
      size_t end = line.find_first_of(" \t\r", start);
      words.push_back(line.substr(start, end - start));
      if (end == std::string_view::npos) break;
      pos = end;
    }
    if (words.size() >= 2 && words[0] == "nameserver" &&
        words[1].find('\0') == std::string_view::npos && IpAddress::Parse(words[1]).ok()) {
      out.emplace_back(words[1]);
    }
  }
  return out;
}

std::optional<std::vector<uint8_t>> WithId(const std::vector<uint8_t>& wire, uint16_t id) {
  PktPtr p = ParsePacket(wire.data(), wire.size());
  if (!p) return std::nullopt;
  ldns_pkt_set_id(p.get(), id);
  return ToWire(p.get());
}

}  // namespace berth::nodeagent::dns
