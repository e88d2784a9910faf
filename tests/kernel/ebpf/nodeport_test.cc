// NodePort through tc on each node's uplink, in a world of namespaces: two
// nodes with a pod each, a client outside both on the fabric.
#include "berth/ebpf/nodeport.h"

#include <unistd.h>

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "netns_world.h"
#include "test_support.h"

#include "berth/netns/namespace.h"

namespace berth::ebpf {
namespace {

namespace fs = std::filesystem;
using netns::testing::World;

IpAddress A(const char* s) { return *IpAddress::Parse(s); }

class NodePortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    auto w = World::Build(2, netns::NodeMode::kBridge, /*dual_stack=*/false);
    ASSERT_OK(w);
    world_ = std::move(*w);
    ASSERT_OK(world_->ConnectPeers());
    auto client = world_->AddClient("client", A("10.99.0.100"));
    ASSERT_OK(client);
    client_ns_ = *client;
    bpffs_ = world_->root() / "bpffs";
    fs::create_directories(bpffs_);
    if (::mount("bpf", bpffs_.c_str(), "bpf", 0, nullptr) < 0) {
      GTEST_SKIP() << "cannot mount a bpffs: " << std::strerror(errno);
    }
    mounted_ = true;
    for (int i = 0; i < 2; ++i) {
      auto pod = world_->node(i).net->SetUpPod(i == 0 ? "a" : "b");
      ASSERT_OK(pod);
      pods_.push_back(*pod);
      StartServer(pod->netns, i == 0 ? "a" : "b");
    }
    for (int i = 0; i < 2; ++i) ASSERT_OK(OpenNodePort(i));
  }

  void TearDown() override {
    stop_ = true;
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    for (auto& t : threads_) t.join();
    for (int fd : fds_) ::close(fd);
    for (size_t i = 0; i < nodeports_.size(); ++i) {
      if (!nodeports_[i]) continue;
      auto ns = netns::OpenNetns(world_->node(i).netns);
      if (ns.ok()) EXPECT_OK(netns::InNetns(ns->get(), [&] { return nodeports_[i]->Uninstall(); }));
    }
    nodeports_.clear();
    if (mounted_) ::umount2(bpffs_.c_str(), MNT_DETACH);
    world_.reset();
  }

  Status OpenNodePort(size_t i) {
    BERTH_ASSIGN_OR_RETURN(UniqueFd ns, netns::OpenNetns(world_->node(i).netns));
    std::unique_ptr<NodePort> np;
    BERTH_TRY(netns::InNetns(ns.get(), [&]() -> Status {
      NodePortOptions o{"uplink", world_->node(i).address_v4,
                        bpffs_ / ("node" + std::to_string(i))};
      BERTH_ASSIGN_OR_RETURN(np, NodePort::Open(o));
      return {};
    }));
    if (nodeports_.size() <= i) nodeports_.resize(i + 1);
    nodeports_[i] = std::move(np);
    return {};
  }

  // Answers "<name> <peer address>".
  void StartServer(const fs::path& ns, const std::string& name) {
    auto nsfd = netns::OpenNetns(ns);
    ASSERT_OK(nsfd);
    int fd = -1;
    ASSERT_OK(netns::InNetns(nsfd->get(), [&] {
      fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(8080);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0 || ::listen(fd, 128) < 0) {
        return Status(Error::FromErrno("listen"));
      }
      return Status();
    }));
    fds_.push_back(fd);
    threads_.emplace_back([this, fd, name] {
      while (!stop_) {
        sockaddr_in peer{};
        socklen_t len = sizeof(peer);
        int c = ::accept4(fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
        if (c < 0) return;
        char ip[INET_ADDRSTRLEN] = {};
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
        std::string msg = name + " " + ip;
        (void)!::send(c, msg.data(), msg.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }

  // From the client: connect to addr:port and read the answer ("" on failure).
  std::string Ask(const IpAddress& to, uint16_t port) {
    auto nsfd = netns::OpenNetns(client_ns_);
    if (!nsfd.ok()) return "";
    int fd = -1;
    IgnoreError(netns::InNetns(nsfd->get(),
                               [&] {
                                 fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                                 return Status();
                               }),
                "socket errors show as an empty answer");
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    std::memcpy(&a.sin_addr, to.bytes.data(), 4);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
      char buf[64];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }

  NodePortService Web(ExternalTrafficPolicy policy, size_t node) {
    NodePortService s;
    s.node_port = 30080;
    s.policy = policy;
    for (size_t i = 0; i < 2; ++i) {
      s.backends.push_back({pods_[i].addresses[0].address, 8080, i == node});
    }
    return s;
  }

  std::unique_ptr<World> world_;
  fs::path client_ns_, bpffs_;
  bool mounted_ = false;
  std::vector<netns::PodNetworkInfo> pods_;
  std::vector<std::unique_ptr<NodePort>> nodeports_;
  std::atomic<bool> stop_{false};
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
};

TEST_F(NodePortTest, ClusterReachesPodsOnEitherNodeFromEachNode) {
  for (size_t n = 0; n < 2; ++n)
    ASSERT_OK(nodeports_[n]->Upsert(Web(ExternalTrafficPolicy::kCluster, n)));
  const std::string client = "10.99.0.100";
  for (size_t n = 0; n < 2; ++n) {
    SCOPED_TRACE("via node" + std::to_string(n + 1));
    const IpAddress node = world_->node(n).address_v4;
    std::map<std::string, std::string> seen;  // pod -> the source it saw
    for (int i = 0; i < 40; ++i) {
      std::string r = Ask(node, 30080);
      ASSERT_GE(r.size(), 3u) << "connection " << i << " failed";
      seen[r.substr(0, 1)] = r.substr(2);
    }
    ASSERT_EQ(seen.size(), 2u) << "both pods answer";
    const std::string local = n == 0 ? "a" : "b", remote = n == 0 ? "b" : "a";
    EXPECT_EQ(seen[local], client) << "a local pod sees the client";
    EXPECT_EQ(seen[remote], node.String()) << "a remote pod sees the node (source translated)";
    auto conns = nodeports_[n]->Connections(30080, Protocol::kTcp);
    ASSERT_OK(conns);
    EXPECT_EQ(*conns, 40u);
  }
  // Ports no service lists are untouched: the node itself refuses them.
  EXPECT_EQ(Ask(world_->node(0).address_v4, 30081), "");
}

TEST_F(NodePortTest, LocalKeepsTheClientAddressAndOnlyLocalPods) {
  ASSERT_OK(nodeports_[0]->Upsert(Web(ExternalTrafficPolicy::kLocal, 0)));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Ask(world_->node(0).address_v4, 30080), "a 10.99.0.100");
}

TEST_F(NodePortTest, RestartKeepsNodePortsThenReopensAndUpdates) {
  ASSERT_OK(nodeports_[0]->Upsert(Web(ExternalTrafficPolicy::kLocal, 0)));
  nodeports_[0].reset();  // the agent goes; filters and pins stay
  EXPECT_EQ(Ask(world_->node(0).address_v4, 30080), "a 10.99.0.100");
  ASSERT_OK(OpenNodePort(0));
  ASSERT_OK(nodeports_[0]->Upsert(Web(ExternalTrafficPolicy::kCluster, 0)));
  std::map<std::string, int> seen;
  for (int i = 0; i < 30; ++i) seen[Ask(world_->node(0).address_v4, 30080).substr(0, 1)]++;
  EXPECT_EQ(seen.size(), 2u);
  ASSERT_OK(nodeports_[0]->Delete(30080, Protocol::kTcp));
  EXPECT_EQ(Ask(world_->node(0).address_v4, 30080), "");
}

}  // namespace
}  // namespace berth::ebpf
