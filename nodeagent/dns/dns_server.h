// DnsServer: the per-node cluster DNS server (the part of CoreDNS /
// NodeLocal DNSCache a node needs). It answers names under the cluster
// domain from a DnsTable and forwards every other name to upstream
// resolvers.
//
// Serving: UDP and TCP (RFC 1035 4.2.2 length prefix, RFC 7766 pipelining)
// on one address and port, from one thread of its own running a poll(2) loop
// woken by an eventfd to stop. With `netns` set, the listening sockets are
// created inside that network namespace (a socket keeps the namespace it was
// created in), so the thread itself stays where Start was called; upstream
// queries therefore leave from the caller's namespace, normally the host's,
// where the node's resolv.conf nameservers are reachable.
//
// Answers (see DnsTable for the records): authoritative, TTL 5; NXDOMAIN and
// NODATA carry the domain's SOA in the authority section (negative TTL 5,
// RFC 2308). Over UDP a reply larger than the client allows (512 bytes, or
// its EDNS size up to 4096) is sent truncated (TC, question only) and the
// client retries over TCP.
//
// Forwarding: a name outside the domain goes to each upstream in turn over
// the client's transport (UDP or TCP) with a fresh random id, `upstream_timeout`
// each; the first reply that matches the query (id, question) is relayed with
// the client's id and flags as the upstream set them, TC included. SERVFAIL
// when every upstream failed or timed out.
//
// Untrusted input: a packet shorter than a DNS header or with QR set is
// dropped; one that ldns cannot parse gets FORMERR; an opcode other than
// QUERY gets NOTIMP; zone transfers and non-IN classes in the domain get
// REFUSED. Queries are handled by the pure functions below, which the fuzz
// target drives directly.
//
// Thread-safety: Start, Stop and port() from one owner thread. The DnsTable
// must outlive the server; it is only read (under its own lock).
// Errors from Start: EINVAL for bad options (upstream syntax, domain
// mismatch, no listen address), errno of socket/bind/listen/eventfd (e.g.
// EADDRINUSE, EACCES for port 53 without CAP_NET_BIND_SERVICE), of
// OpenNetns/setns for `netns`.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns_table.h"

#include "berth/common/error.h"
#include "berth/common/ip.h"

namespace berth::nodeagent::dns {

struct DnsServerOptions {
  IpAddress listen_address;
  uint16_t port = 53;  // 0: an ephemeral port (the same for UDP and TCP), see port()
  // Empty: the current network namespace.
  std::filesystem::path netns;
  // "ip", "ip:port", "[ipv6]:port"; port 53 when absent. Tried in order.
  std::vector<std::string> upstreams;
  // Empty: the table's domain. Otherwise it must name the table's domain
  // (EINVAL): the records come from the table.
  std::string domain;
  std::chrono::milliseconds upstream_timeout{2000};
};

class DnsServer {
 public:
  static Result<std::unique_ptr<DnsServer>> Start(const DnsServerOptions& options,
                                                  const DnsTable& table);
  ~DnsServer();  // Stop()
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  // Stops serving, closes every socket and joins the thread; idempotent.
  void Stop();
  // The port listened on (the chosen one when options.port was 0).
  uint16_t port() const;

 private:
  struct Impl;
  explicit DnsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class Transport { kUdp, kTcp };

struct QueryResult {
  enum Kind { kDrop, kReply, kForward };
  Kind kind = kDrop;
  // kReply: the reply to send. kForward: the query re-encoded, to send
  // upstream (still with the client's id).
  std::vector<uint8_t> wire;
};

// One query received over `transport`: the reply, or the decision to drop or
// forward it. Never fails; any input is safe.
QueryResult HandleQuery(const DnsTable& table, Transport transport, const uint8_t* data,
                        size_t size);

// Checks an upstream's `reply` against the `query` sent to it (same id, QR
// set, same question) and re-encodes it with `client_id`, truncated when it
// does not fit a UDP reply to that query. nullopt: not the reply to `query`
// or malformed (keep waiting, or try the next upstream).
std::optional<std::vector<uint8_t>> RelayReply(const uint8_t* query, size_t query_size,
                                               const uint8_t* reply, size_t reply_size,
                                               uint16_t client_id, Transport transport);

// SERVFAIL for `query` (the forward failed); empty when it does not parse.
std::vector<uint8_t> ServFailReply(const uint8_t* query, size_t size);

struct HostPort {
  IpAddress address;
  uint16_t port = 53;
};

// "10.0.0.10", "10.0.0.10:5353", "fd00::a", "[fd00::a]:5353". EINVAL naming
// the text otherwise.
Result<HostPort> ParseUpstream(std::string_view text);

// The `nameserver` addresses of resolv.conf(5) text, in order. Entries that
// are not plain IP addresses (an IPv6 zone such as fe80::1%eth0) are skipped.
std::vector<std::string> ParseResolvConf(std::string_view text);

// The largest DNS message (TCP's two-byte length prefix).
inline constexpr size_t kMaxTcpMessage = 65535;

// `wire` re-encoded with another id (a forwarded query's id towards the
// upstream); nullopt when it does not parse.
std::optional<std::vector<uint8_t>> WithId(const std::vector<uint8_t>& wire, uint16_t id);

}  // namespace berth::nodeagent::dns
