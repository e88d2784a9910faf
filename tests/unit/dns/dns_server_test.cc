#include "dns_server.h"

#include <poll.h>
#include <unistd.h>

#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>

// ldns/common.h defines bool, true and false as macros unless stdbool.h
// came first; those macros break C++ headers included after it.
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)

#include <ldns/ldns.h>

#include "test_support.h"

#include "berth/api/codec.h"
#include "berth/common/unique_fd.h"
#include "berth/netns/namespace.h"

namespace berth::nodeagent::dns {
namespace {

using namespace std::chrono_literals;

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

Pkt Parse(const std::vector<uint8_t>& wire) {
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, wire.data(), wire.size()) != LDNS_STATUS_OK) return nullptr;
  return Pkt(p);
}

std::vector<uint8_t> Wire(const ldns_pkt* p) {
  uint8_t* buf = nullptr;
  size_t size = 0;
  EXPECT_EQ(ldns_pkt2wire(&buf, p, &size), LDNS_STATUS_OK);
  std::vector<uint8_t> out(buf, buf + size);
  free(buf);  // NOLINT: ldns allocates with malloc
  return out;
}

std::vector<uint8_t> MakeQuery(const std::string& name, ldns_rr_type type, uint16_t id = 0x4242,
                               uint16_t edns_size = 0) {
  Pkt q(ldns_pkt_query_new(ldns_dname_new_frm_str(name.c_str()), type, LDNS_RR_CLASS_IN, LDNS_RD));
  EXPECT_TRUE(q);
  ldns_pkt_set_id(q.get(), id);
  if (edns_size != 0) ldns_pkt_set_edns_udp_size(q.get(), edns_size);
  return Wire(q.get());
}

std::string Text(const ldns_rdf* rdf) {
  char* s = ldns_rdf2str(rdf);
  std::string out = s != nullptr ? s : "";
  free(s);  // NOLINT: ldns allocates with malloc
  return out;
}

// "owner type rdata..." of every RR in a section, in order.
std::vector<std::string> Section(const ldns_pkt* p, ldns_pkt_section section) {
  ldns_rr_list* list = ldns_pkt_get_section_clone(p, section);
  std::vector<std::string> out;
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(list, i);
    char* type = ldns_rr_type2str(ldns_rr_get_type(rr));
    std::string line = Text(ldns_rr_owner(rr)) + " " + type;
    free(type);  // NOLINT
    for (size_t j = 0; j < ldns_rr_rd_count(rr); ++j) line += " " + Text(ldns_rr_rdf(rr, j));
    out.push_back(line);
  }
  ldns_rr_list_deep_free(list);
  return out;
}

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

bool WaitReadable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

// Sends `wire` over UDP; the reply, or empty after `timeout`.
std::vector<uint8_t> ExchangeUdp(uint16_t port, const std::vector<uint8_t>& wire,
                                 std::chrono::milliseconds timeout = 3000ms) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in to = Loopback(port);
  EXPECT_EQ(
      ::sendto(s.get(), wire.data(), wire.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
      static_cast<ssize_t>(wire.size()));
  if (!WaitReadable(s.get(), timeout)) return {};
  std::vector<uint8_t> buf(65536);
  ssize_t n = ::recv(s.get(), buf.data(), buf.size(), 0);
  if (n < 0) return {};
  buf.resize(static_cast<size_t>(n));
  return buf;
}

// As a stub resolver does: resend on silence. For checks after a flood,
// which may have filled the server's socket buffer (UDP drops, by design).
std::vector<uint8_t> ExchangeUdpWithRetries(uint16_t port, const std::vector<uint8_t>& wire) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto reply = ExchangeUdp(port, wire, 1000ms);
    if (!reply.empty()) return reply;
  }
  return {};
}

bool ReadFull(int fd, uint8_t* out, size_t size) {
  size_t got = 0;
  while (got < size) {
    if (!WaitReadable(fd, 3000ms)) return false;
    ssize_t n = ::recv(fd, out + got, size - got, 0);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

UniqueFd ConnectTcp(uint16_t port) {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in to = Loopback(port);
  EXPECT_EQ(::connect(s.get(), reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
  return s;
}

std::vector<uint8_t> Framed(const std::vector<uint8_t>& wire) {
  std::vector<uint8_t> out(2 + wire.size());
  ldns_write_uint16(out.data(), static_cast<uint16_t>(wire.size()));
  std::memcpy(out.data() + 2, wire.data(), wire.size());
  return out;
}

std::vector<uint8_t> ReadFramed(int fd) {
  uint8_t len[2];
  if (!ReadFull(fd, len, 2)) return {};
  std::vector<uint8_t> out(ldns_read_uint16(len));
  if (!ReadFull(fd, out.data(), out.size())) return {};
  return out;
}

std::vector<uint8_t> ExchangeTcp(uint16_t port, const std::vector<uint8_t>& wire) {
  UniqueFd s = ConnectTcp(port);
  std::vector<uint8_t> framed = Framed(wire);
  EXPECT_EQ(::send(s.get(), framed.data(), framed.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(framed.size()));
  return ReadFramed(s.get());
}

// A resolver on 127.0.0.1 (UDP and TCP, one port) answering every A query
// with 192.0.2.1; names starting with "big." get a truncated reply over UDP
// and the full one over TCP, like a real server with a large answer.
class FakeUpstream {
 public:
  FakeUpstream() {
    for (int attempt = 0; attempt < 16; ++attempt) {
      UniqueFd u(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      sockaddr_in any = Loopback(0);
      if (::bind(u.get(), reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0) continue;
      socklen_t len = sizeof(any);
      ::getsockname(u.get(), reinterpret_cast<sockaddr*>(&any), &len);
      UniqueFd t(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (::bind(t.get(), reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0) continue;
      ::listen(t.get(), 16);
      port_ = ntohs(any.sin_port);
      udp_ = std::move(u);
      tcp_ = std::move(t);
      break;
    }
    stop_.reset(::eventfd(0, EFD_CLOEXEC));
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeUpstream() {
    uint64_t one = 1;
    (void)::write(stop_.get(), &one, sizeof(one));
    thread_.join();
  }

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int udp_queries() const { return udp_queries_; }
  int tcp_queries() const { return tcp_queries_; }
  uint16_t last_id() const { return last_id_; }

 private:
  std::vector<uint8_t> Answer(const std::vector<uint8_t>& query, bool tcp) {
    Pkt q = Parse(query);
    if (!q) return {};
    last_id_ = ldns_pkt_id(q.get());
    Pkt r(ldns_pkt_new());
    ldns_pkt_set_id(r.get(), ldns_pkt_id(q.get()));
    ldns_pkt_set_qr(r.get(), true);
    ldns_pkt_set_rd(r.get(), ldns_pkt_rd(q.get()));
    ldns_pkt_set_ra(r.get(), true);
    const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(q.get()), 0);
    ldns_pkt_push_rr(r.get(), LDNS_SECTION_QUESTION, ldns_rr_clone(question));
    const std::string name = Text(ldns_rr_owner(question));
    const bool big = name.rfind("big.", 0) == 0;
    if (big && !tcp) {
      ldns_pkt_set_tc(r.get(), true);
    } else if (ldns_rr_get_type(question) == LDNS_RR_TYPE_A) {
      for (int i = 1; i <= (big ? 100 : 1); ++i) {
        ldns_rr* rr = nullptr;
        std::string text = name + " 60 IN A 192.0.2." + std::to_string(i);
        if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK) {
          ldns_pkt_push_rr(r.get(), LDNS_SECTION_ANSWER, rr);
        }
      }
    }
    return Wire(r.get());
  }

  void Run() {
    std::vector<uint8_t> buf(65536);
    for (;;) {
      pollfd fds[3] = {{stop_.get(), POLLIN, 0}, {udp_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}};
      if (::poll(fds, 3, -1) < 0) continue;
      if (fds[0].revents != 0) return;
      if (fds[1].revents != 0) {
        sockaddr_in from{};
        socklen_t len = sizeof(from);
        ssize_t n = ::recvfrom(udp_.get(), buf.data(), buf.size(), 0,
                               reinterpret_cast<sockaddr*>(&from), &len);
        if (n > 0) {
          ++udp_queries_;
          auto reply = Answer({buf.begin(), buf.begin() + n}, false);
          ::sendto(udp_.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from),
                   len);
        }
      }
      if (fds[2].revents != 0) {
        UniqueFd c(::accept4(tcp_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        std::vector<uint8_t> query = ReadFramed(c.get());
        if (!query.empty()) {
          ++tcp_queries_;
          auto reply = Framed(Answer(query, true));
          ::send(c.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
        }
      }
    }
  }

  UniqueFd udp_;
  UniqueFd tcp_;
  UniqueFd stop_;
  uint16_t port_ = 0;
  std::atomic<int> udp_queries_{0};
  std::atomic<int> tcp_queries_{0};
  std::atomic<uint16_t> last_id_{0};
  std::thread thread_;
};

// A UDP port nothing listens on: queries to it get ICMP port unreachable.
uint16_t DeadPort() {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = Loopback(0);
  ::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

template <typename T>
T Decode(std::string_view json) {
  auto object = api::DecodeJson(json, "test");
  if (!object.ok()) {
    ADD_FAILURE() << object.error().ToString();
    return {};
  }
  if constexpr (std::is_same_v<T, v1::Service>) {
    return object->service();
  } else {
    return object->endpoints();
  }
}

class DnsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    table_.SetService(Decode<v1::Service>(R"({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"clusterIPs": ["10.96.0.10", "fd00::10"],
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})"));
    table_.SetService(Decode<v1::Service>(R"({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "ext", "namespace": "default"},
        "spec": {"type": "ExternalName", "externalName": "db.example.com"}})"));
    table_.SetService(Decode<v1::Service>(R"({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "many", "namespace": "default"},
        "spec": {"clusterIP": "None"}})"));
    std::string addresses;
    for (int i = 1; i <= 60; ++i) {
      addresses += std::string(i > 1 ? "," : "") + R"({"ip": "10.2.0.)" + std::to_string(i) + "\"}";
    }
    table_.SetEndpoints(Decode<v1::Endpoints>(R"({"apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "many", "namespace": "default"},
        "subsets": [{"addresses": [)" + addresses +
                                              "]}]}"));
  }

  std::unique_ptr<DnsServer> Start(std::vector<std::string> upstreams,
                                   std::chrono::milliseconds timeout = 2000ms) {
    DnsServerOptions o;
    o.listen_address = *IpAddress::Parse("127.0.0.1");
    o.port = 0;
    o.upstreams = std::move(upstreams);
    o.upstream_timeout = timeout;
    auto server = DnsServer::Start(o, table_);
    EXPECT_TRUE(server.ok()) << server.error().ToString();
    if (!server.ok()) return nullptr;
    EXPECT_NE((*server)->port(), 0);
    return std::move(server).value();
  }

  DnsTable table_;
};

TEST_F(DnsServerTest, AnswersAOverUdpAndTcp) {
  auto server = Start({});
  ASSERT_TRUE(server);
  for (bool tcp : {false, true}) {
    auto query = MakeQuery("web.default.svc.cluster.local.", LDNS_RR_TYPE_A, 0x1234);
    auto wire = tcp ? ExchangeTcp(server->port(), query) : ExchangeUdp(server->port(), query);
    Pkt reply = Parse(wire);
    ASSERT_TRUE(reply) << "tcp=" << tcp;
    EXPECT_EQ(ldns_pkt_id(reply.get()), 0x1234);
    EXPECT_TRUE(ldns_pkt_qr(reply.get()));
    EXPECT_TRUE(ldns_pkt_aa(reply.get()));
    EXPECT_TRUE(ldns_pkt_rd(reply.get()));
    EXPECT_EQ(ldns_pkt_get_rcode(reply.get()), LDNS_RCODE_NOERROR);
    EXPECT_EQ(Section(reply.get(), LDNS_SECTION_QUESTION),
              std::vector<std::string>{"web.default.svc.cluster.local. A"});
    EXPECT_EQ(Section(reply.get(), LDNS_SECTION_ANSWER),
              std::vector<std::string>{"web.default.svc.cluster.local. A 10.96.0.10"});
    ASSERT_EQ(ldns_pkt_ancount(reply.get()), 1);
    EXPECT_EQ(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(reply.get()), 0)), 5u);
  }
  Pkt aaaa = Parse(
      ExchangeUdp(server->port(), MakeQuery("web.default.svc.cluster.local.", LDNS_RR_TYPE_AAAA)));
  ASSERT_TRUE(aaaa);
  EXPECT_EQ(Section(aaaa.get(), LDNS_SECTION_ANSWER),
            std::vector<std::string>{"web.default.svc.cluster.local. AAAA fd00::10"});
}

TEST_F(DnsServerTest, KeepsTheQuestionsSpelling) {
  auto server = Start({});
  ASSERT_TRUE(server);
  Pkt reply = Parse(
      ExchangeUdp(server->port(), MakeQuery("WeB.DeFaulT.svc.Cluster.Local.", LDNS_RR_TYPE_A)));
  ASSERT_TRUE(reply);
  EXPECT_EQ(Section(reply.get(), LDNS_SECTION_ANSWER),
            std::vector<std::string>{"WeB.DeFaulT.svc.Cluster.Local. A 10.96.0.10"});
}

TEST_F(DnsServerTest, AnswersSrvWithAdditionalAddresses) {
  auto server = Start({});
  ASSERT_TRUE(server);
  Pkt reply = Parse(ExchangeUdp(
      server->port(), MakeQuery("_http._tcp.web.default.svc.cluster.local.", LDNS_RR_TYPE_SRV)));
  ASSERT_TRUE(reply);
  EXPECT_EQ(ldns_pkt_get_rcode(reply.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(Section(reply.get(), LDNS_SECTION_ANSWER),
            std::vector<std::string>{"_http._tcp.web.default.svc.cluster.local. SRV 0 100 80 "
                                     "web.default.svc.cluster.local."});
  EXPECT_EQ(Section(reply.get(), LDNS_SECTION_ADDITIONAL),
            (std::vector<std::string>{"web.default.svc.cluster.local. A 10.96.0.10",
                                      "web.default.svc.cluster.local. AAAA fd00::10"}));
}

TEST_F(DnsServerTest, AnswersCname) {
  auto server = Start({});
  ASSERT_TRUE(server);
  Pkt reply = Parse(
      ExchangeUdp(server->port(), MakeQuery("ext.default.svc.cluster.local.", LDNS_RR_TYPE_A)));
  ASSERT_TRUE(reply);
  EXPECT_EQ(Section(reply.get(), LDNS_SECTION_ANSWER),
            std::vector<std::string>{"ext.default.svc.cluster.local. CNAME db.example.com."});
}

TEST_F(DnsServerTest, NxDomainAndNoDataCarryTheSoa) {
  auto server = Start({});
  ASSERT_TRUE(server);
  const std::string soa =
      "cluster.local. SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5";
  Pkt nx = Parse(
      ExchangeUdp(server->port(), MakeQuery("nope.default.svc.cluster.local.", LDNS_RR_TYPE_A)));
  ASSERT_TRUE(nx);
  EXPECT_EQ(ldns_pkt_get_rcode(nx.get()), LDNS_RCODE_NXDOMAIN);
  EXPECT_TRUE(ldns_pkt_aa(nx.get()));
  EXPECT_EQ(ldns_pkt_ancount(nx.get()), 0);
  EXPECT_EQ(Section(nx.get(), LDNS_SECTION_AUTHORITY), std::vector<std::string>{soa});

  Pkt nodata = Parse(
      ExchangeTcp(server->port(), MakeQuery("web.default.svc.cluster.local.", LDNS_RR_TYPE_MX)));
  ASSERT_TRUE(nodata);
  EXPECT_EQ(ldns_pkt_get_rcode(nodata.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(ldns_pkt_ancount(nodata.get()), 0);
  EXPECT_EQ(Section(nodata.get(), LDNS_SECTION_AUTHORITY), std::vector<std::string>{soa});

  Pkt apex = Parse(ExchangeUdp(server->port(), MakeQuery("cluster.local.", LDNS_RR_TYPE_SOA)));
  ASSERT_TRUE(apex);
  EXPECT_EQ(Section(apex.get(), LDNS_SECTION_ANSWER), std::vector<std::string>{soa});
}

TEST_F(DnsServerTest, TruncatesLargeUdpReplies) {
  auto server = Start({});
  ASSERT_TRUE(server);
  const std::string name = "many.default.svc.cluster.local.";
  Pkt udp = Parse(ExchangeUdp(server->port(), MakeQuery(name, LDNS_RR_TYPE_A)));
  ASSERT_TRUE(udp);
  EXPECT_TRUE(ldns_pkt_tc(udp.get()));
  EXPECT_EQ(ldns_pkt_ancount(udp.get()), 0);
  EXPECT_EQ(ldns_pkt_qdcount(udp.get()), 1);

  // 60 records fit 1232 bytes only with name compression.
  Pkt edns = Parse(ExchangeUdp(server->port(), MakeQuery(name, LDNS_RR_TYPE_A, 7, 1232)));
  ASSERT_TRUE(edns);
  EXPECT_FALSE(ldns_pkt_tc(edns.get()));
  EXPECT_EQ(ldns_pkt_ancount(edns.get()), 60);
  EXPECT_TRUE(ldns_pkt_edns(edns.get()));

  Pkt tcp = Parse(ExchangeTcp(server->port(), MakeQuery(name, LDNS_RR_TYPE_A)));
  ASSERT_TRUE(tcp);
  EXPECT_FALSE(ldns_pkt_tc(tcp.get()));
  EXPECT_EQ(ldns_pkt_ancount(tcp.get()), 60);
}

TEST_F(DnsServerTest, TcpPipelinesQueries) {
  auto server = Start({});
  ASSERT_TRUE(server);
  UniqueFd s = ConnectTcp(server->port());
  auto a = Framed(MakeQuery("web.default.svc.cluster.local.", LDNS_RR_TYPE_A, 1));
  auto b = Framed(MakeQuery("nope.cluster.local.", LDNS_RR_TYPE_A, 2));
  a.insert(a.end(), b.begin(), b.end());
  ASSERT_EQ(::send(s.get(), a.data(), a.size(), MSG_NOSIGNAL), static_cast<ssize_t>(a.size()));
  // Half-close: the replies still come.
  ASSERT_EQ(::shutdown(s.get(), SHUT_WR), 0);
  Pkt first = Parse(ReadFramed(s.get()));
  Pkt second = Parse(ReadFramed(s.get()));
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  EXPECT_EQ(ldns_pkt_id(first.get()), 1);
  EXPECT_EQ(ldns_pkt_id(second.get()), 2);
  EXPECT_EQ(ldns_pkt_get_rcode(second.get()), LDNS_RCODE_NXDOMAIN);
}

TEST_F(DnsServerTest, ForwardsOtherNamesUpstream) {
  FakeUpstream upstream;
  auto server = Start({upstream.address()});
  ASSERT_TRUE(server);
  Pkt reply = Parse(ExchangeUdp(server->port(), MakeQuery("example.com.", LDNS_RR_TYPE_A, 0xbeef)));
  ASSERT_TRUE(reply);
  EXPECT_EQ(ldns_pkt_id(reply.get()), 0xbeef);
  EXPECT_EQ(ldns_pkt_get_rcode(reply.get()), LDNS_RCODE_NOERROR);
  EXPECT_FALSE(ldns_pkt_aa(reply.get()));
  EXPECT_EQ(Section(reply.get(), LDNS_SECTION_ANSWER),
            std::vector<std::string>{"example.com. A 192.0.2.1"});
  EXPECT_EQ(upstream.udp_queries(), 1);

  // Over TCP the forward goes over TCP too.
  Pkt tcp = Parse(ExchangeTcp(server->port(), MakeQuery("example.org.", LDNS_RR_TYPE_A, 9)));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(ldns_pkt_id(tcp.get()), 9);
  EXPECT_EQ(Section(tcp.get(), LDNS_SECTION_ANSWER),
            std::vector<std::string>{"example.org. A 192.0.2.1"});
  EXPECT_EQ(upstream.tcp_queries(), 1);
}

TEST_F(DnsServerTest, PassesTruncationOnAndForwardsTheTcpRetry) {
  FakeUpstream upstream;
  auto server = Start({upstream.address()});
  ASSERT_TRUE(server);
  auto query = MakeQuery("big.example.com.", LDNS_RR_TYPE_A, 77);
  Pkt udp = Parse(ExchangeUdp(server->port(), query));
  ASSERT_TRUE(udp);
  EXPECT_TRUE(ldns_pkt_tc(udp.get()));
  EXPECT_EQ(ldns_pkt_id(udp.get()), 77);

  Pkt tcp = Parse(ExchangeTcp(server->port(), query));
  ASSERT_TRUE(tcp);
  EXPECT_FALSE(ldns_pkt_tc(tcp.get()));
  EXPECT_EQ(ldns_pkt_ancount(tcp.get()), 100);
}

TEST_F(DnsServerTest, TriesTheNextUpstream) {
  FakeUpstream upstream;
  auto server = Start({"127.0.0.1:" + std::to_string(DeadPort()), upstream.address()}, 500ms);
  ASSERT_TRUE(server);
  Pkt reply = Parse(ExchangeUdp(server->port(), MakeQuery("example.net.", LDNS_RR_TYPE_A, 5)));
  ASSERT_TRUE(reply);
  EXPECT_EQ(ldns_pkt_get_rcode(reply.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(ldns_pkt_ancount(reply.get()), 1);
}

TEST_F(DnsServerTest, ServFailWhenNoUpstreamAnswers) {
  // One refuses (ICMP port unreachable), one never answers (timeout).
  UniqueFd silent(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = Loopback(0);
  ASSERT_EQ(::bind(silent.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  ASSERT_EQ(::getsockname(silent.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
  auto server = Start(
      {"127.0.0.1:" + std::to_string(DeadPort()), "127.0.0.1:" + std::to_string(ntohs(a.sin_port))},
      300ms);
  ASSERT_TRUE(server);
  const auto start = std::chrono::steady_clock::now();
  Pkt reply = Parse(ExchangeUdp(server->port(), MakeQuery("example.com.", LDNS_RR_TYPE_A, 3)));
  ASSERT_TRUE(reply);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
  EXPECT_EQ(ldns_pkt_id(reply.get()), 3);
  EXPECT_EQ(ldns_pkt_get_rcode(reply.get()), LDNS_RCODE_SERVFAIL);
  EXPECT_EQ(Section(reply.get(), LDNS_SECTION_QUESTION),
            std::vector<std::string>{"example.com. A"});

  Pkt tcp = Parse(ExchangeTcp(server->port(), MakeQuery("example.com.", LDNS_RR_TYPE_A, 4)));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(ldns_pkt_get_rcode(tcp.get()), LDNS_RCODE_SERVFAIL);
}

TEST_F(DnsServerTest, ServFailWithoutUpstreams) {
  auto server = Start({});
  ASSERT_TRUE(server);
  Pkt reply = Parse(ExchangeUdp(server->port(), MakeQuery("example.com.", LDNS_RR_TYPE_A)));
  ASSERT_TRUE(reply);
  EXPECT_EQ(ldns_pkt_get_rcode(reply.get()), LDNS_RCODE_SERVFAIL);
}

TEST_F(DnsServerTest, SurvivesGarbage) {
  FakeUpstream upstream;
  auto server = Start({upstream.address()});
  ASSERT_TRUE(server);
  std::mt19937 rng(1234);
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in to = Loopback(server->port());
  auto send = [&](const std::vector<uint8_t>& bytes) {
    ::sendto(s.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  };
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> junk(rng() % 600);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    if (!junk.empty() && i % 2 == 0) junk[2] &= 0x7f;  // QR clear: looks like a query
    send(junk);
  }
  // A valid query cut short: FORMERR with its id.
  auto cut = MakeQuery("web.default.svc.cluster.local.", LDNS_RR_TYPE_A, 0x7777);
  cut.resize(cut.size() - 3);
  // Mutations of a valid query.
  auto good = MakeQuery("web.default.svc.cluster.local.", LDNS_RR_TYPE_SRV, 0x1111, 1232);
  for (int i = 0; i < 300; ++i) {
    auto m = good;
    for (int k = 0; k < 3; ++k) m[rng() % m.size()] = static_cast<uint8_t>(rng());
    m[2] &= 0x7f;
    send(m);
  }
  // TCP: junk frames, a length longer than what follows, a connection reset.
  for (int i = 0; i < 20; ++i) {
    UniqueFd c = ConnectTcp(server->port());
    std::vector<uint8_t> junk(rng() % 300);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    ::send(c.get(), junk.data(), junk.size(), MSG_NOSIGNAL);
  }

  Pkt formerr = Parse(ExchangeUdpWithRetries(server->port(), cut));
  ASSERT_TRUE(formerr);
  EXPECT_EQ(ldns_pkt_id(formerr.get()), 0x7777);
  EXPECT_EQ(ldns_pkt_get_rcode(formerr.get()), LDNS_RCODE_FORMERR);

  // A reply sent to the server is not answered.
  auto response = MakeQuery("web.default.svc.cluster.local.", LDNS_RR_TYPE_A, 0x2222);
  response[2] |= 0x80;
  EXPECT_TRUE(ExchangeUdp(server->port(), response, 300ms).empty());

  // Still serving, on both transports.
  Pkt udp = Parse(ExchangeUdpWithRetries(
      server->port(), MakeQuery("web.default.svc.cluster.local.", LDNS_RR_TYPE_A, 8)));
  ASSERT_TRUE(udp);
  EXPECT_EQ(ldns_pkt_ancount(udp.get()), 1);
  Pkt tcp = Parse(ExchangeTcp(server->port(), MakeQuery("example.com.", LDNS_RR_TYPE_A, 9)));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(ldns_pkt_ancount(tcp.get()), 1);
}

TEST_F(DnsServerTest, StopIsIdempotent) {
  auto server = Start({});
  ASSERT_TRUE(server);
  const uint16_t port = server->port();
  server->Stop();
  server->Stop();
  EXPECT_EQ(server->port(), port);
  EXPECT_TRUE(ExchangeUdp(port, MakeQuery("web.default.svc.cluster.local.", LDNS_RR_TYPE_A), 200ms)
                  .empty());
}

TEST_F(DnsServerTest, StartRejectsBadOptions) {
  DnsServerOptions o;
  o.listen_address = *IpAddress::Parse("127.0.0.1");
  o.port = 0;
  o.upstreams = {"not-an-ip"};
  EXPECT_ERRNO(DnsServer::Start(o, table_), EINVAL);
  o.upstreams = {};
  o.domain = "other.local";
  EXPECT_ERRNO(DnsServer::Start(o, table_), EINVAL);
  o.domain = "Cluster.Local.";
  EXPECT_OK(DnsServer::Start(o, table_));
  o.listen_address = {};
  EXPECT_ERRNO(DnsServer::Start(o, table_), EINVAL);
}

Status BringLoopbackUp() {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return Error::FromErrno("socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return Error::FromErrno("SIOCGIFFLAGS lo");
  ifr.ifr_flags |= IFF_UP;
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return Error::FromErrno("SIOCSIFFLAGS lo");
  return Ok();
}

TEST_F(DnsServerTest, ServesInsideANetworkNamespace) {
  REQUIRE_ROOT();
  char tmpl[] = "/tmp/berth-dns-netns-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::filesystem::path dir = tmpl;
  const std::filesystem::path ns = dir / "ns";
  struct Cleanup {
    std::filesystem::path dir, ns;
    ~Cleanup() {
      EXPECT_OK(netns::DeleteNetns(ns));
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir, ns};
  ASSERT_OK(netns::CreateNetns(ns));
  auto ns_fd = netns::OpenNetns(ns);
  ASSERT_OK(ns_fd);
  ASSERT_OK(netns::InNetns(ns_fd->get(), BringLoopbackUp));

  DnsServerOptions o;
  o.listen_address = *IpAddress::Parse("127.0.0.1");
  o.port = 0;
  o.netns = ns;
  auto server = DnsServer::Start(o, table_);
  ASSERT_OK(server);
  const uint16_t port = (*server)->port();
  // Only a client inside the namespace reaches its loopback.
  std::vector<uint8_t> udp;
  std::vector<uint8_t> tcp;
  ASSERT_OK(netns::InNetns(ns_fd->get(), [&]() -> Status {
    udp = ExchangeUdp(port, MakeQuery("web.default.svc.cluster.local.", LDNS_RR_TYPE_A, 1));
    tcp = ExchangeTcp(port, MakeQuery("web.default.svc.cluster.local.", LDNS_RR_TYPE_A, 2));
    return Ok();
  }));
  Pkt udp_reply = Parse(udp);
  Pkt tcp_reply = Parse(tcp);
  ASSERT_TRUE(udp_reply);
  ASSERT_TRUE(tcp_reply);
  EXPECT_EQ(ldns_pkt_ancount(udp_reply.get()), 1);
  EXPECT_EQ(ldns_pkt_ancount(tcp_reply.get()), 1);
}

// The pure query path, without sockets.

TEST(DnsHandleQueryTest, DropsRepliesAndRunts) {
  DnsTable table;
  auto reply = MakeQuery("web.default.svc.cluster.local.", LDNS_RR_TYPE_A);
  reply[2] |= 0x80;
  EXPECT_EQ(HandleQuery(table, Transport::kUdp, reply.data(), reply.size()).kind,
            QueryResult::kDrop);
  const uint8_t runt[5] = {1, 2, 0, 0, 0};
  EXPECT_EQ(HandleQuery(table, Transport::kUdp, runt, sizeof(runt)).kind, QueryResult::kDrop);
  EXPECT_EQ(HandleQuery(table, Transport::kUdp, nullptr, 0).kind, QueryResult::kDrop);
}

TEST(DnsHandleQueryTest, RcodesForOddQueries) {
  DnsTable table;
  auto rcode = [&](const std::vector<uint8_t>& q) {
    QueryResult r = HandleQuery(table, Transport::kTcp, q.data(), q.size());
    EXPECT_EQ(r.kind, QueryResult::kReply);
    Pkt p = Parse(r.wire);
    return p ? static_cast<int>(ldns_pkt_get_rcode(p.get())) : -1;
  };
  // NOTIFY (opcode 4).
  auto notify = MakeQuery("cluster.local.", LDNS_RR_TYPE_SOA);
  notify[2] = static_cast<uint8_t>((notify[2] & ~0x78) | (4 << 3));
  EXPECT_EQ(rcode(notify), LDNS_RCODE_NOTIMPL);
  EXPECT_EQ(rcode(MakeQuery("cluster.local.", LDNS_RR_TYPE_AXFR)), LDNS_RCODE_REFUSED);
  // Two questions.
  Pkt two(ldns_pkt_query_new(ldns_dname_new_frm_str("a.cluster.local."), LDNS_RR_TYPE_A,
                             LDNS_RR_CLASS_IN, 0));
  ldns_rr* extra = ldns_rr_new();
  ldns_rr_set_owner(extra, ldns_dname_new_frm_str("b.cluster.local."));
  ldns_rr_set_question(extra, true);
  ldns_pkt_push_rr(two.get(), LDNS_SECTION_QUESTION, extra);
  EXPECT_EQ(rcode(Wire(two.get())), LDNS_RCODE_FORMERR);
}

TEST(DnsHandleQueryTest, EdnsVersionAndDoBit) {
  DnsTable table;
  Pkt q(ldns_pkt_query_new(ldns_dname_new_frm_str("x.cluster.local."), LDNS_RR_TYPE_A,
                           LDNS_RR_CLASS_IN, LDNS_RD));
  ldns_pkt_set_edns_udp_size(q.get(), 1232);
  ldns_pkt_set_edns_do(q.get(), true);
  auto wire = Wire(q.get());
  QueryResult r = HandleQuery(table, Transport::kUdp, wire.data(), wire.size());
  ASSERT_EQ(r.kind, QueryResult::kReply);
  Pkt p = Parse(r.wire);
  ASSERT_TRUE(p);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NXDOMAIN);
  EXPECT_TRUE(ldns_pkt_edns(p.get()));
  EXPECT_TRUE(ldns_pkt_edns_do(p.get()));

  ldns_pkt_set_edns_version(q.get(), 1);
  wire = Wire(q.get());
  r = HandleQuery(table, Transport::kUdp, wire.data(), wire.size());
  ASSERT_EQ(r.kind, QueryResult::kReply);
  p = Parse(r.wire);
  ASSERT_TRUE(p);
  EXPECT_EQ(ldns_pkt_edns_extended_rcode(p.get()), 1);  // BADVERS
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 0);
}

TEST(DnsHandleQueryTest, ForwardsOnlyNamesOutsideTheDomain) {
  DnsTable table;
  auto q = MakeQuery("example.com.", LDNS_RR_TYPE_A, 0x5151);
  QueryResult r = HandleQuery(table, Transport::kUdp, q.data(), q.size());
  ASSERT_EQ(r.kind, QueryResult::kForward);
  Pkt p = Parse(r.wire);
  ASSERT_TRUE(p);
  EXPECT_EQ(ldns_pkt_id(p.get()), 0x5151);
  // An escaped dot makes "evil\.cluster.local." a name under "local.", not
  // under the cluster domain.
  auto tricky = MakeQuery("evil\\.cluster.local.", LDNS_RR_TYPE_A);
  EXPECT_EQ(HandleQuery(table, Transport::kUdp, tricky.data(), tricky.size()).kind,
            QueryResult::kForward);
}

TEST(DnsRelayReplyTest, ChecksIdAndQuestion) {
  auto query = MakeQuery("example.com.", LDNS_RR_TYPE_A, 100);
  auto make_reply = [](const std::string& name, uint16_t id) {
    Pkt r(ldns_pkt_query_new(ldns_dname_new_frm_str(name.c_str()), LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN,
                             LDNS_QR | LDNS_RA));
    ldns_pkt_set_id(r.get(), id);
    return Wire(r.get());
  };
  auto ok = make_reply("EXAMPLE.com.", 100);
  auto relayed = RelayReply(query.data(), query.size(), ok.data(), ok.size(), 7, Transport::kUdp);
  ASSERT_TRUE(relayed);
  Pkt p = Parse(*relayed);
  ASSERT_TRUE(p);
  EXPECT_EQ(ldns_pkt_id(p.get()), 7);
  auto wrong_id = make_reply("example.com.", 101);
  EXPECT_FALSE(
      RelayReply(query.data(), query.size(), wrong_id.data(), wrong_id.size(), 7, Transport::kUdp));
  auto wrong_name = make_reply("example.org.", 100);
  EXPECT_FALSE(RelayReply(query.data(), query.size(), wrong_name.data(), wrong_name.size(), 7,
                          Transport::kUdp));
  EXPECT_FALSE(RelayReply(query.data(), query.size(), query.data(), query.size(), 7,
                          Transport::kUdp));  // QR clear
}

TEST(DnsParseTest, Upstreams) {
  auto v4 = ParseUpstream("10.0.0.10");
  ASSERT_OK(v4);
  EXPECT_EQ(v4->address.String(), "10.0.0.10");
  EXPECT_EQ(v4->port, 53);
  auto v4port = ParseUpstream("10.0.0.10:5353");
  ASSERT_OK(v4port);
  EXPECT_EQ(v4port->port, 5353);
  auto v6 = ParseUpstream("fd00::a");
  ASSERT_OK(v6);
  EXPECT_EQ(v6->address.String(), "fd00::a");
  EXPECT_EQ(v6->port, 53);
  auto v6port = ParseUpstream("[fd00::a]:54");
  ASSERT_OK(v6port);
  EXPECT_EQ(v6port->port, 54);
  for (const char* bad : {"", "x", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:70000", "[fd00::a",
                          "[fd00::a]x", "10.0.0.1:53x"}) {
    EXPECT_ERRNO(ParseUpstream(bad), EINVAL);
  }
  // inet_pton stops at a NUL; the parser must not.
  EXPECT_ERRNO(ParseUpstream(std::string_view("10.0.0.1\0:x", 12)), EINVAL);
}

TEST(DnsParseTest, ResolvConf) {
  const char* text =
      "# generated\n"
      "search default.svc.cluster.local svc.cluster.local\n"
      "nameserver 10.0.0.2\n"
      "  nameserver\t2001:db8::53  # v6\n"
      "nameserver fe80::1%eth0\n"
      ";nameserver 10.9.9.9\n"
      "options ndots:5\n"
      "nameserver 127.0.0.53";
  EXPECT_EQ(ParseResolvConf(text),
            (std::vector<std::string>{"10.0.0.2", "2001:db8::53", "127.0.0.53"}));
  EXPECT_TRUE(ParseResolvConf("").empty());
  EXPECT_TRUE(ParseResolvConf(std::string_view("nameserver 10.0.0.1\0x\n", 22)).empty());
}

}  // namespace
}  // namespace berth::nodeagent::dns
