#include "dns_server.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>

// ldns/common.h defines bool, true and false as macros unless stdbool.h
// came first; those macros break C++ headers included after it.
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)

#include <ldns/ldns.h>

#include "berth/common/log.h"
#include "berth/common/unique_fd.h"
#include "berth/netns/namespace.h"

namespace berth::nodeagent::dns {
namespace {

using Clock = std::chrono::steady_clock;

// RFC 1035 4.2.1: without EDNS a UDP message is at most 512 bytes; with it,
// the client's advertised size, capped where fragmentation starts to bite.
constexpr size_t kClassicUdpSize = 512;
constexpr size_t kMaxUdpSize = 4096;
// What we advertise (DNS flag day 2020).
constexpr uint16_t kEdnsUdpSize = 1232;
constexpr size_t kMaxTcpMessage = 65535;

// Serving limits: beyond them new work waits (TCP backlog) or gets SERVFAIL.
constexpr size_t kMaxTcpConnections = 256;
constexpr size_t kMaxForwards = 1024;
constexpr size_t kMaxTcpBacklogBytes = size_t{256} * 1024;
constexpr auto kTcpIdleTimeout = std::chrono::seconds(10);
constexpr int kUdpReadsPerWakeup = 64;

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

namespace {

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  uint16_t port() const {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
};

SockAddr ToSockAddr(const IpAddress& address, uint16_t port) {
  SockAddr s;
  if (address.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&s.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, address.bytes.data(), 4);
    s.len = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&s.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, address.bytes.data(), 16);
    s.len = sizeof(sockaddr_in6);
  }
  return s;
}

std::string Where(const IpAddress& address, uint16_t port) {
  return address.is_v4() ? address.String() + ":" + std::to_string(port)
                         : "[" + address.String() + "]:" + std::to_string(port);
}

bool WouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

// The forwarded query re-encoded with the id used towards the upstream.
std::optional<std::vector<uint8_t>> WithId(const std::vector<uint8_t>& wire, uint16_t id) {
  PktPtr p = ParsePacket(wire.data(), wire.size());
  if (!p) return std::nullopt;
  ldns_pkt_set_id(p.get(), id);
  return ToWire(p.get());
}

// RFC 1035 4.2.2: over TCP each message is preceded by its length.
void AppendFramed(std::vector<uint8_t>& out, const std::vector<uint8_t>& message) {
  const size_t at = out.size();
  out.resize(at + 2 + message.size());
  ldns_write_uint16(out.data() + at, static_cast<uint16_t>(message.size()));
  std::memcpy(out.data() + at + 2, message.data(), message.size());
}

}  // namespace

struct DnsServer::Impl {
  // A TCP client connection.
  struct Conn {
    UniqueFd fd;
    std::vector<uint8_t> in;   // received, not yet a whole message
    std::vector<uint8_t> out;  // framed replies not yet written
    size_t out_sent = 0;
    bool read_closed = false;  // the client shut down its side
    bool dead = false;         // write failed or error: close at the next chance
    int pending = 0;           // forwards that will answer on this connection
    Clock::time_point idle_deadline;
  };

  // A query being forwarded, on its current upstream.
  struct Forward {
    Transport transport = Transport::kUdp;
    SockAddr client;    // kUdp
    uint64_t conn = 0;  // kTcp
    uint16_t client_id = 0;
    std::vector<uint8_t> query;  // as the client sent it (re-encoded)
    size_t next_upstream = 0;
    UniqueFd sock;
    std::vector<uint8_t> sent;  // the query with the upstream id
    std::vector<uint8_t> out;   // kTcp: framed query not yet written
    size_t out_sent = 0;
    std::vector<uint8_t> in;  // kTcp: reply so far
    bool connecting = false;
    Clock::time_point deadline;
  };

  Impl(const DnsTable& t, std::vector<SockAddr> u, std::chrono::milliseconds timeout)
      : table(t), upstreams(std::move(u)), upstream_timeout(timeout) {}

  Status Listen(const IpAddress& address, uint16_t wanted);
  void Run();
  void ReadUdp(Clock::time_point now);
  void Accept(Clock::time_point now);
  void OnConn(uint64_t id, short revents, Clock::time_point now);
  void OnForward(uint64_t id, short revents, Clock::time_point now);
  void Expire(Clock::time_point now);
  void Serve(Transport transport, const uint8_t* data, size_t size, const SockAddr* client,
             uint64_t conn, Clock::time_point now);
  void StartForward(Forward f, Clock::time_point now);
  bool TryNextUpstream(Forward& f, Clock::time_point now);
  void Retry(uint64_t id, const char* why, int err, Clock::time_point now);
  void Finish(uint64_t id, const std::vector<uint8_t>& wire);
  void Deliver(const Forward& f, const std::vector<uint8_t>& wire);
  void SendUdp(const SockAddr& client, const std::vector<uint8_t>& wire);
  void QueueTcp(uint64_t conn, const std::vector<uint8_t>& wire);
  void Flush(Conn& c, Clock::time_point now);
  void MaybeClose(uint64_t id);
  void NoteUnanswered(Clock::time_point now);

  const DnsTable& table;
  const std::vector<SockAddr> upstreams;
  const std::chrono::milliseconds upstream_timeout;
  UniqueFd udp;
  UniqueFd tcp;
  UniqueFd wake;
  uint16_t port = 0;
  std::thread thread;

  // Owned by the serving thread from here on.
  std::map<uint64_t, Conn> conns;
  std::map<uint64_t, Forward> forwards;
  uint64_t next_id = 1;
  std::mt19937 rng{std::random_device{}()};
  std::vector<uint8_t> buf = std::vector<uint8_t>(kMaxTcpMessage + 1);
  // Queries no upstream answered since the last warning (rate-limited).
  uint64_t unanswered = 0;
  Clock::time_point last_warning;
};

Status DnsServer::Impl::Listen(const IpAddress& address, uint16_t wanted) {
  // Port 0: the kernel picks the UDP port; TCP must get the same one, which
  // may be taken, so try a few.
  const int attempts = wanted == 0 ? 16 : 1;
  for (int attempt = 1;; ++attempt) {
    SockAddr want = ToSockAddr(address, wanted);
    UniqueFd u(::socket(want.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!u) return Error::FromErrno("dns server: socket(udp)");
    if (::bind(u.get(), want.get(), want.len) != 0) {
      int err = errno;
      return Error::Sys(err, "dns server: bind udp " + Where(address, wanted));
    }
    SockAddr bound;
    bound.len = sizeof(bound.storage);
    if (::getsockname(u.get(), bound.get(), &bound.len) != 0) {
      return Error::FromErrno("dns server: getsockname");
    }
    const uint16_t actual = bound.port();

    UniqueFd t(::socket(want.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!t) return Error::FromErrno("dns server: socket(tcp)");
    int one = 1;
    if (::setsockopt(t.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
      return Error::FromErrno("dns server: setsockopt SO_REUSEADDR");
    }
    SockAddr tcp_addr = ToSockAddr(address, actual);
    if (::bind(t.get(), tcp_addr.get(), tcp_addr.len) != 0) {
      int err = errno;
      if (err == EADDRINUSE && attempt < attempts) continue;
      return Error::Sys(err, "dns server: bind tcp " + Where(address, actual));
    }
    if (::listen(t.get(), SOMAXCONN) != 0) {
      int err = errno;
      return Error::Sys(err, "dns server: listen " + Where(address, actual));
    }
    udp = std::move(u);
    tcp = std::move(t);
    port = actual;
    return Ok();
  }
}

void DnsServer::Impl::Run() {
  enum Kind { kWake, kUdp, kListen, kConn, kForward };
  std::vector<pollfd> fds;
  std::vector<std::pair<Kind, uint64_t>> who;
  for (;;) {
    fds.clear();
    who.clear();
    auto add = [&](int fd, short events, Kind kind, uint64_t id) {
      fds.push_back(pollfd{fd, events, 0});
      who.emplace_back(kind, id);
    };
    add(wake.get(), POLLIN, kWake, 0);
    add(udp.get(), POLLIN, kUdp, 0);
    if (conns.size() < kMaxTcpConnections) add(tcp.get(), POLLIN, kListen, 0);
    Clock::time_point next = Clock::time_point::max();
    for (const auto& [id, c] : conns) {
      short events = 0;
      if (!c.read_closed && c.out.size() - c.out_sent < kMaxTcpBacklogBytes) events |= POLLIN;
      if (c.out_sent < c.out.size()) events |= POLLOUT;
      add(c.fd.get(), events, kConn, id);
      if (c.pending == 0) next = std::min(next, c.idle_deadline);
    }
    for (const auto& [id, f] : forwards) {
      add(f.sock.get(), f.connecting || f.out_sent < f.out.size() ? POLLOUT : POLLIN, kForward, id);
      next = std::min(next, f.deadline);
    }
    int timeout = -1;
    if (next != Clock::time_point::max()) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()).count();
      timeout = static_cast<int>(std::clamp<int64_t>(left, 0, 60'000));
    }
    if (::poll(fds.data(), fds.size(), timeout) < 0) {
      int err = errno;
      if (err == EINTR) continue;
      log::Error("dns server: poll failed, stopping", {{"error", ErrnoName(err)}});
      return;
    }
    const Clock::time_point now = Clock::now();
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      switch (who[i].first) {
        case kWake:
          return;
        case kUdp:
          ReadUdp(now);
          break;
        case kListen:
          Accept(now);
          break;
        case kConn:
          OnConn(who[i].second, fds[i].revents, now);
          break;
        case kForward:
          OnForward(who[i].second, fds[i].revents, now);
          break;
      }
    }
    Expire(Clock::now());
  }
}

void DnsServer::Impl::ReadUdp(Clock::time_point now) {
  for (int i = 0; i < kUdpReadsPerWakeup; ++i) {
    SockAddr from;
    from.len = sizeof(from.storage);
    ssize_t n = ::recvfrom(udp.get(), buf.data(), buf.size(), MSG_DONTWAIT, from.get(), &from.len);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      // EAGAIN: drained. Anything else (ICMP errors queued on the socket)
      // concerns one earlier datagram, not the socket.
      return;
    }
    Serve(Transport::kUdp, buf.data(), static_cast<size_t>(n), &from, 0, now);
  }
}

void DnsServer::Impl::Accept(Clock::time_point now) {
  while (conns.size() < kMaxTcpConnections) {
    int fd = ::accept4(tcp.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EINTR || err == ECONNABORTED) continue;
      if (!WouldBlock(err)) log::Warn("dns server: accept failed", {{"error", ErrnoName(err)}});
      return;
    }
    Conn c;
    c.fd.reset(fd);
    c.idle_deadline = now + kTcpIdleTimeout;
    conns.emplace(next_id++, std::move(c));
  }
}

void DnsServer::Impl::OnConn(uint64_t id, short revents, Clock::time_point now) {
  auto it = conns.find(id);
  if (it == conns.end()) return;
  Conn& c = it->second;
  if ((revents & POLLNVAL) != 0) c.dead = true;
  if (!c.dead && (revents & POLLOUT) != 0) Flush(c, now);
  if (!c.dead && !c.read_closed && (revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
    ssize_t n;
    do {
      n = ::recv(c.fd.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (!WouldBlock(errno)) c.dead = true;
    } else if (n == 0) {
      c.read_closed = true;  // replies still owed are written before closing
    } else {
      c.in.insert(c.in.end(), buf.begin(), buf.begin() + n);
      c.idle_deadline = now + kTcpIdleTimeout;
      size_t off = 0;
      while (!c.dead && c.in.size() - off >= 2) {
        const size_t len = ldns_read_uint16(c.in.data() + off);
        if (c.in.size() - off - 2 < len) break;
        // Serve never touches conns' input buffers nor erases connections.
        Serve(Transport::kTcp, c.in.data() + off + 2, len, nullptr, id, now);
        off += 2 + len;
      }
      c.in.erase(c.in.begin(), c.in.begin() + static_cast<ptrdiff_t>(off));
    }
  }
  // POLLHUP: both directions are shut (a half-close by the client only
  // shows as EOF); nothing more can be written, and poll would keep
  // reporting it.
  if ((revents & (POLLERR | POLLHUP)) != 0) c.dead = true;
  MaybeClose(id);
}

void DnsServer::Impl::Serve(Transport transport, const uint8_t* data, size_t size,
                            const SockAddr* client, uint64_t conn, Clock::time_point now) {
  QueryResult r = HandleQuery(table, transport, data, size);
  switch (r.kind) {
    case QueryResult::kDrop:
      return;
    case QueryResult::kReply:
      if (transport == Transport::kUdp) {
        SendUdp(*client, r.wire);
      } else {
        QueueTcp(conn, r.wire);
      }
      return;
    case QueryResult::kForward: {
      Forward f;
      f.transport = transport;
      if (client != nullptr) f.client = *client;
      f.conn = conn;
      f.client_id = LDNS_ID_WIRE(r.wire.data());  // ldns wrote it: a whole header
      f.query = std::move(r.wire);
      StartForward(std::move(f), now);
      return;
    }
  }
}

void DnsServer::Impl::StartForward(Forward f, Clock::time_point now) {
  if (forwards.size() >= kMaxForwards || !TryNextUpstream(f, now)) {
    NoteUnanswered(now);
    Deliver(f, ServFailReply(f.query.data(), f.query.size()));
    return;
  }
  if (f.transport == Transport::kTcp) {
    auto c = conns.find(f.conn);
    if (c == conns.end()) return;
    ++c->second.pending;
  }
  forwards.emplace(next_id++, std::move(f));
}

bool DnsServer::Impl::TryNextUpstream(Forward& f, Clock::time_point now) {
  f.sock.reset();
  f.out.clear();
  f.out_sent = 0;
  f.in.clear();
  f.connecting = false;
  const bool tcp_transport = f.transport == Transport::kTcp;
  while (f.next_upstream < upstreams.size()) {
    const SockAddr& upstream = upstreams[f.next_upstream++];
    // A fresh id and socket (so a fresh source port) per attempt, RFC 5452.
    auto sent = WithId(f.query, static_cast<uint16_t>(rng()));
    if (!sent) return false;
    f.sent = std::move(*sent);
    UniqueFd s(::socket(upstream.family(),
                        (tcp_transport ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        0));
    if (!s) {
      int err = errno;
      log::Warn("dns forward: socket failed", {{"error", ErrnoName(err)}});
      continue;
    }
    if (::connect(s.get(), upstream.get(), upstream.len) != 0) {
      int err = errno;
      if (!tcp_transport || err != EINPROGRESS) {
        log::Debug("dns forward: connect failed", {{"error", ErrnoName(err)}});
        continue;
      }
      f.connecting = true;
    }
    if (tcp_transport) {
      AppendFramed(f.out, f.sent);
    } else if (::send(s.get(), f.sent.data(), f.sent.size(), MSG_DONTWAIT) < 0) {
      int err = errno;
      log::Debug("dns forward: send failed", {{"error", ErrnoName(err)}});
      continue;
    }
    f.sock = std::move(s);
    f.deadline = now + upstream_timeout;
    return true;
  }
  return false;
}

void DnsServer::Impl::OnForward(uint64_t id, short revents, Clock::time_point now) {
  auto it = forwards.find(id);
  if (it == forwards.end()) return;
  Forward& f = it->second;

  if (f.transport == Transport::kUdp) {
    // Datagrams that are not the reply (stale, spoofed) are ignored; the
    // deadline still runs (RFC 5452 9.1).
    for (int i = 0; i < 8; ++i) {
      ssize_t n = ::recv(f.sock.get(), buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (!WouldBlock(err)) Retry(id, "recv", err, now);  // ECONNREFUSED: nobody there
        return;
      }
      auto relayed = RelayReply(f.sent.data(), f.sent.size(), buf.data(), static_cast<size_t>(n),
                                f.client_id, Transport::kUdp);
      if (relayed) {
        Finish(id, *relayed);
        return;
      }
    }
    return;
  }

  if (f.connecting) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(f.sock.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      Retry(id, "connect", err, now);
      return;
    }
    if ((revents & POLLOUT) == 0) return;
    f.connecting = false;
  }
  if (f.out_sent < f.out.size()) {
    ssize_t n = ::send(f.sock.get(), f.out.data() + f.out_sent, f.out.size() - f.out_sent,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      int err = errno;
      if (err != EINTR && !WouldBlock(err)) Retry(id, "send", err, now);
      return;
    }
    f.out_sent += static_cast<size_t>(n);
    return;
  }
  ssize_t n = ::recv(f.sock.get(), buf.data(), buf.size(), MSG_DONTWAIT);
  if (n < 0) {
    int err = errno;
    if (err != EINTR && !WouldBlock(err)) Retry(id, "recv", err, now);
    return;
  }
  if (n == 0) {
    Retry(id, "closed before replying", 0, now);
    return;
  }
  f.in.insert(f.in.end(), buf.begin(), buf.begin() + n);
  if (f.in.size() < 2) return;
  const size_t len = ldns_read_uint16(f.in.data());
  if (f.in.size() < 2 + len) return;
  auto relayed =
      RelayReply(f.sent.data(), f.sent.size(), f.in.data() + 2, len, f.client_id, Transport::kTcp);
  if (relayed) {
    Finish(id, *relayed);
  } else {
    Retry(id, "reply does not match the query", 0, now);
  }
}

void DnsServer::Impl::Retry(uint64_t id, const char* why, int err, Clock::time_point now) {
  auto it = forwards.find(id);
  if (it == forwards.end()) return;
  Forward& f = it->second;
  log::Debug("dns forward: upstream failed, trying the next",
             {{"why", why}, {"error", err != 0 ? ErrnoName(err) : "-"}});
  if (TryNextUpstream(f, now)) return;
  NoteUnanswered(now);
  Finish(id, ServFailReply(f.query.data(), f.query.size()));
}

void DnsServer::Impl::Finish(uint64_t id, const std::vector<uint8_t>& wire) {
  auto it = forwards.find(id);
  if (it == forwards.end()) return;
  Deliver(it->second, wire);
  const bool tcp_client = it->second.transport == Transport::kTcp;
  const uint64_t conn = it->second.conn;
  forwards.erase(it);
  if (!tcp_client) return;
  auto c = conns.find(conn);
  if (c == conns.end()) return;
  --c->second.pending;
  MaybeClose(conn);
}

void DnsServer::Impl::Deliver(const Forward& f, const std::vector<uint8_t>& wire) {
  if (wire.empty()) return;
  if (f.transport == Transport::kUdp) {
    SendUdp(f.client, wire);
  } else {
    QueueTcp(f.conn, wire);
  }
}

void DnsServer::Impl::SendUdp(const SockAddr& client, const std::vector<uint8_t>& wire) {
  // sendto(2) failing (EAGAIN with a full socket buffer, EPERM from a
  // firewall) loses one reply; the client's retry is UDP DNS's recovery.
  (void)::sendto(udp.get(), wire.data(), wire.size(), MSG_DONTWAIT, client.get(), client.len);
}

void DnsServer::Impl::QueueTcp(uint64_t conn, const std::vector<uint8_t>& wire) {
  auto it = conns.find(conn);
  if (it == conns.end() || it->second.dead || wire.size() > kMaxTcpMessage) return;
  AppendFramed(it->second.out, wire);
  Flush(it->second, Clock::now());
}

void DnsServer::Impl::Flush(Conn& c, Clock::time_point now) {
  while (c.out_sent < c.out.size()) {
    ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_sent, c.out.size() - c.out_sent,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (!WouldBlock(err)) c.dead = true;  // EPIPE, ECONNRESET: the client is gone
      return;
    }
    c.out_sent += static_cast<size_t>(n);
    c.idle_deadline = now + kTcpIdleTimeout;
  }
  c.out.clear();
  c.out_sent = 0;
}

void DnsServer::Impl::MaybeClose(uint64_t id) {
  auto it = conns.find(id);
  if (it == conns.end()) return;
  const Conn& c = it->second;
  if (c.dead || (c.read_closed && c.pending == 0 && c.out.empty())) conns.erase(it);
}

void DnsServer::Impl::Expire(Clock::time_point now) {
  std::vector<uint64_t> late;
  for (const auto& [id, f] : forwards) {
    if (f.deadline <= now) late.push_back(id);
  }
  for (uint64_t id : late) Retry(id, "timeout", ETIMEDOUT, now);
  for (auto it = conns.begin(); it != conns.end();) {
    const Conn& c = it->second;
    // RFC 7766 6.2.3: idle connections are closed by the server.
    if (c.dead || (c.pending == 0 && c.idle_deadline <= now)) {
      it = conns.erase(it);
    } else {
      ++it;
    }
  }
}

void DnsServer::Impl::NoteUnanswered(Clock::time_point now) {
  ++unanswered;
  if (now - last_warning < std::chrono::seconds(10)) return;
  log::Warn("dns forward: no upstream answered", {{"queries", unanswered}});
  unanswered = 0;
  last_warning = now;
}

DnsServer::DnsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DnsServer::~DnsServer() { Stop(); }

Result<std::unique_ptr<DnsServer>> DnsServer::Start(const DnsServerOptions& options,
                                                    const DnsTable& table) {
  if (table.domain().empty()) return Error::Invalid("dns server: empty cluster domain");
  if (!options.domain.empty()) {
    DnsTable spelled(options.domain);  // the table's normalization, nothing more
    if (spelled.domain() != table.domain()) {
      return Error::Invalid("dns server: domain \"" + options.domain + "\" is not the table's \"" +
                            table.domain() + "\"");
    }
  }
  const int family = options.listen_address.family;
  if (family != AF_INET && family != AF_INET6) {
    return Error::Invalid("dns server: no listen address");
  }
  if (options.upstream_timeout.count() <= 0) {
    return Error::Invalid("dns server: upstream timeout must be positive");
  }
  std::vector<SockAddr> upstreams;
  for (const std::string& text : options.upstreams) {
    BERTH_ASSIGN_OR_RETURN(HostPort upstream, ParseUpstream(text));
    upstreams.push_back(ToSockAddr(upstream.address, upstream.port));
  }

  auto impl = std::make_unique<Impl>(table, std::move(upstreams), options.upstream_timeout);
  auto listen = [&]() -> Status { return impl->Listen(options.listen_address, options.port); };
  if (options.netns.empty()) {
    BERTH_TRY(listen());
  } else {
    BERTH_ASSIGN_OR_RETURN(UniqueFd ns, netns::OpenNetns(options.netns));
    BERTH_TRY_CTX(netns::InNetns(ns.get(), listen), "in netns " + options.netns.string());
  }
  int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) return Error::FromErrno("dns server: eventfd");
  impl->wake.reset(wake);

  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Run(); });
  log::Info("dns server listening",
            {{"address", Where(options.listen_address, impl->port)},
             {"netns", options.netns.empty() ? std::string("-") : options.netns.string()},
             {"domain", table.domain()}});
  return std::unique_ptr<DnsServer>(new DnsServer(std::move(impl)));
}

void DnsServer::Stop() {
  if (impl_->thread.joinable()) {
    uint64_t one = 1;
    // eventfd(2): write fails only with EAGAIN when the counter is at its
    // maximum, i.e. a wakeup is already pending.
    (void)::write(impl_->wake.get(), &one, sizeof(one));
    impl_->thread.join();
  }
  impl_->forwards.clear();
  impl_->conns.clear();
  impl_->udp.reset();
  impl_->tcp.reset();
}

uint16_t DnsServer::port() const { return impl_->port; }

}  // namespace berth::nodeagent::dns
