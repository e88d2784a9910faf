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

// Serving limits: beyond them new work waits (TCP backlog) or gets SERVFAIL.
constexpr size_t kMaxTcpConnections = 256;
constexpr size_t kMaxForwards = 1024;
constexpr size_t kMaxTcpBacklogBytes = size_t{256} * 1024;
constexpr auto kTcpIdleTimeout = std::chrono::seconds(10);
constexpr int kUdpReadsPerWakeup = 64;

}  // namespace

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
