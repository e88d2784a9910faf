#include "netns_world.h"

#include <stdlib.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "nl.h"

#include "berth/netns/namespace.h"

namespace berth::netns::testing {
namespace {

namespace fs = std::filesystem;
using detail::NlSocket;

Status InNs(const fs::path& ns, const std::function<Status(const NlSocket&)>& fn) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenNetns(ns));
  return InNetns(fd.get(), [&]() -> Status {
    BERTH_ASSIGN_OR_RETURN(NlSocket nl, NlSocket::Open());
    return fn(nl);
  });
}

sockaddr_storage SockAddr(const IpAddress& a, int port, socklen_t* len) {
  sockaddr_storage ss{};
  if (a.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    std::memcpy(&sin->sin_addr, a.bytes.data(), 4);
    *len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    std::memcpy(&sin6->sin6_addr, a.bytes.data(), 16);
    *len = sizeof(sockaddr_in6);
  }
  return ss;
}

// A socket created inside `ns` (it stays there), with 3 s timeouts.
Result<UniqueFd> SocketIn(const fs::path& ns, int family, int type) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd nsfd, OpenNetns(ns));
  UniqueFd out;
  BERTH_TRY(InNetns(nsfd.get(), [&]() -> Status {
    out = UniqueFd(::socket(family, type | SOCK_CLOEXEC, 0));
    if (!out) return Error::FromErrno("socket");
    return {};
  }));
  timeval tv{3, 0};
  ::setsockopt(out.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(out.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int one = 1;
  ::setsockopt(out.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  return out;
}

Status Bind(int fd, int family, int port) {
  IpAddress any;
  any.family = family;
  socklen_t len = 0;
  sockaddr_storage ss = SockAddr(any, port, &len);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) return Error::FromErrno("bind");
  return {};
}

}  // namespace

Result<std::unique_ptr<World>> World::Build(int nodes, NodeMode mode, bool dual_stack,
                                            int v4_prefix_len) {
  auto w = std::unique_ptr<World>(new World());
  std::string tmpl = (fs::temp_directory_path() / "berth-netns-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return Error::FromErrno("mkdtemp");
  w->root_ = tmpl;
  w->fabric_ = w->root_ / "fabric.ns";
  BERTH_TRY(CreateNetns(w->fabric_));
  BERTH_TRY(
      InNs(w->fabric_, [](const NlSocket& nl) { return detail::CreateBridge(nl, "fab0", 1500); }));
  for (int i = 1; i <= nodes; ++i) {
    Node n;
    n.name = "node" + std::to_string(i);
    n.netns = w->root_ / (n.name + ".ns");
    n.address_v4 = *IpAddress::Parse("10.99.0." + std::to_string(i));
    n.address_v6 = *IpAddress::Parse("fd99::" + std::to_string(i));
    n.pod_cidr_v4 =
        *IpPrefix::Parse("10." + std::to_string(100 + i) + ".0.0/" + std::to_string(v4_prefix_len));
    n.pod_cidr_v6 = *IpPrefix::Parse("fd00:" + std::to_string(i) + "::/64");
    BERTH_TRY(CreateNetns(n.netns));
    BERTH_ASSIGN_OR_RETURN(UniqueFd node_fd, OpenNetns(n.netns));
    BERTH_TRY(InNs(w->fabric_, [&](const NlSocket& nl) -> Status {
      detail::VethSpec v;
      v.host_name = "f" + std::to_string(i);
      v.peer_name = "uplink";
      v.peer_ns_fd = node_fd.get();
      BERTH_ASSIGN_OR_RETURN(v.master, detail::LinkIndex(nl, "fab0"));
      v.host_up = true;
      return detail::CreateVeth(nl, v);
    }));
    BERTH_TRY(InNs(n.netns, [&](const NlSocket& nl) -> Status {
      BERTH_ASSIGN_OR_RETURN(int lo, detail::LinkIndex(nl, "lo"));
      BERTH_TRY(detail::SetLinkUp(nl, lo));
      BERTH_ASSIGN_OR_RETURN(int up, detail::LinkIndex(nl, "uplink"));
      BERTH_TRY(detail::AddAddress(nl, up, IpPrefix{n.address_v4, 24}, false));
      BERTH_TRY(detail::AddAddress(nl, up, IpPrefix{n.address_v6, 64}, true));
      return detail::SetLinkUp(nl, up);
    }));
    n.config.state_dir = w->root_ / n.name / "state";
    n.config.netns_dir = w->root_ / n.name / "netns";
    n.config.node_netns = n.netns;
    n.config.mode = mode;
    n.config.pod_cidr_v4 = n.pod_cidr_v4;
    if (dual_stack) n.config.pod_cidr_v6 = n.pod_cidr_v6;
    BERTH_ASSIGN_OR_RETURN(n.net, PodNetwork::Open(n.config));
    w->nodes_.push_back(std::move(n));
  }
  return w;
}

World::~World() {
  for (Node& n : nodes_) {
    if (n.net) {
      if (auto pods = n.net->ListPods(); pods.ok()) {
        for (const auto& p : *pods) IgnoreError(n.net->TearDownPod(p.pod), "test cleanup");
      }
      n.net.reset();
    }
    // Pod namespaces left by a failed test, then the node itself (its links go with it).
    std::error_code ec;
    for (auto it = fs::directory_iterator(n.config.netns_dir, ec);
         !ec && it != fs::directory_iterator(); it.increment(ec)) {
      IgnoreError(DeleteNetns(it->path()), "test cleanup");
    }
    IgnoreError(DeleteNetns(n.netns), "test cleanup");
  }
  for (const auto& c : clients_) IgnoreError(DeleteNetns(c), "test cleanup");
  IgnoreError(DeleteNetns(fabric_), "test cleanup");
  std::error_code ec;
  fs::remove_all(root_, ec);
}

Result<fs::path> World::AddClient(const std::string& name, const IpAddress& address) {
  const fs::path ns = root_ / (name + ".ns");
  BERTH_TRY(CreateNetns(ns));
  clients_.push_back(ns);
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenNetns(ns));
  BERTH_TRY(InNs(fabric_, [&](const NlSocket& nl) -> Status {
    detail::VethSpec v;
    v.host_name = "c" + std::to_string(clients_.size());
    v.peer_name = "eth0";
    v.peer_ns_fd = fd.get();
    BERTH_ASSIGN_OR_RETURN(v.master, detail::LinkIndex(nl, "fab0"));
    v.host_up = true;
    return detail::CreateVeth(nl, v);
  }));
  BERTH_TRY(InNs(ns, [&](const NlSocket& nl) -> Status {
    BERTH_ASSIGN_OR_RETURN(int lo, detail::LinkIndex(nl, "lo"));
    BERTH_TRY(detail::SetLinkUp(nl, lo));
    BERTH_ASSIGN_OR_RETURN(int eth, detail::LinkIndex(nl, "eth0"));
    BERTH_TRY(detail::AddAddress(nl, eth, IpPrefix{address, 24}, false));
    return detail::SetLinkUp(nl, eth);
  }));
  return ns;
}

Status World::ConnectPeers() {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    std::vector<Peer> peers;
    for (size_t j = 0; j < nodes_.size(); ++j) {
      if (i == j) continue;
      Peer p;
      p.name = nodes_[j].name;
      p.node_addresses = {nodes_[j].address_v4, nodes_[j].address_v6};
      p.pod_cidrs.push_back(nodes_[j].pod_cidr_v4);
      if (nodes_[j].config.pod_cidr_v6) p.pod_cidrs.push_back(nodes_[j].pod_cidr_v6);
      peers.push_back(p);
    }
    BERTH_TRY(nodes_[i].net->SetPeers(peers));
  }
  return {};
}

Status World::Restart(size_t i) {
  nodes_[i].net.reset();
  BERTH_ASSIGN_OR_RETURN(nodes_[i].net, PodNetwork::Open(nodes_[i].config));
  return {};
}

Status TcpRoundTrip(const fs::path& server_ns, const fs::path& client_ns, const IpAddress& to,
                    int port) {
  const std::string what = "tcp " + to.String() + ":" + std::to_string(port);
  BERTH_ASSIGN_OR_RETURN(UniqueFd srv, SocketIn(server_ns, to.family, SOCK_STREAM));
  BERTH_TRY(Bind(srv.get(), to.family, port).Wrap(what));
  if (::listen(srv.get(), 1) < 0) return Error::FromErrno("listen").Wrap(what);
  std::thread server([&] {
    UniqueFd c(::accept4(srv.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) return;
    char buf[16];
    ssize_t n = ::recv(c.get(), buf, sizeof(buf), 0);
    if (n > 0) (void)!::send(c.get(), buf, static_cast<size_t>(n), MSG_NOSIGNAL);
  });
  Status result;
  {
    auto cli = SocketIn(client_ns, to.family, SOCK_STREAM);
    socklen_t len = 0;
    sockaddr_storage ss = SockAddr(to, port, &len);
    char buf[16] = {};
    if (!cli.ok()) {
      result = std::move(cli).error();
    } else if (::connect(cli->get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) {
      result = Error::FromErrno("connect").Wrap(what);
    } else if (::send(cli->get(), "ping", 4, MSG_NOSIGNAL) != 4 ||
               ::recv(cli->get(), buf, sizeof(buf), 0) != 4 || std::string(buf, 4) != "ping") {
      result = Error::FromErrno("echo").Wrap(what);
    }
  }
  ::shutdown(srv.get(), SHUT_RDWR);  // unblocks accept if the client never came
  server.join();
  return result;
}

Status UdpRoundTrip(const fs::path& server_ns, const fs::path& client_ns, const IpAddress& to,
                    int port) {
  const std::string what = "udp " + to.String() + ":" + std::to_string(port);
  BERTH_ASSIGN_OR_RETURN(UniqueFd srv, SocketIn(server_ns, to.family, SOCK_DGRAM));
  BERTH_TRY(Bind(srv.get(), to.family, port).Wrap(what));
  std::thread server([&] {
    char buf[16];
    sockaddr_storage from{};
    socklen_t flen = sizeof(from);
    ssize_t n =
        ::recvfrom(srv.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n > 0) {
      (void)!::sendto(srv.get(), buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from),
                      flen);
    }
  });
  Status result;
  {
    auto cli = SocketIn(client_ns, to.family, SOCK_DGRAM);
    socklen_t len = 0;
    sockaddr_storage ss = SockAddr(to, port, &len);
    char buf[16] = {};
    if (!cli.ok()) {
      result = std::move(cli).error();
    } else if (::sendto(cli->get(), "pong", 4, 0, reinterpret_cast<sockaddr*>(&ss), len) != 4 ||
               ::recv(cli->get(), buf, sizeof(buf), 0) != 4 || std::string(buf, 4) != "pong") {
      result = Error::FromErrno("datagram round trip").Wrap(what);
    }
  }
  ::shutdown(srv.get(), SHUT_RDWR);
  server.join();
  return result;
}

}  // namespace berth::netns::testing
