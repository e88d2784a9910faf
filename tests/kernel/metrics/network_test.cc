// Network series from the eBPF cgroup_skb counters: a client in a test
// cgroup sends a known number of UDP bytes from one node namespace to
// another; the collector reports exactly those packets and bytes.
#include <sched.h>
#include <unistd.h>

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "collector.h"
#include "ebpf_sources.h"
#include "netns_world.h"
#include "test_support.h"

#include "berth/cgroups/cgroup.h"
#include "berth/ebpf/netstat.h"
#include "berth/netns/namespace.h"

namespace berth::metrics {
namespace {

namespace fs = std::filesystem;

TEST(MetricsNetworkTest, KnownUdpBytesShowInTheNetworkSeries) {
  REQUIRE_ROOT();
  REQUIRE_FEATURE(berth::testing::Feature::kCgroup2);
  auto world = netns::testing::World::Build(2, netns::NodeMode::kBridge, false);
  ASSERT_OK(world);
  auto& w = **world;
  const fs::path bpffs = w.root() / "bpffs";
  fs::create_directories(bpffs);
  if (::mount("bpf", bpffs.c_str(), "bpf", 0, nullptr) < 0)
    GTEST_SKIP() << "no bpffs: " << std::strerror(errno);
  auto h = cgroups::Discover();
  ASSERT_OK(h);
  const std::string path = "/berth-netstat-test-" + std::to_string(::getpid());
  const fs::path dir = h->mount / path.substr(1);
  ASSERT_TRUE(fs::create_directory(dir));
  {
    auto stats = ebpf::NetStats::Open({dir, bpffs / "netstat"});
    ASSERT_OK(stats);
    // A receiver in node2 (not in the cgroup: only the sender counts).
    auto n2 = netns::OpenNetns(w.node(1).netns);
    ASSERT_OK(n2);
    int srv = -1;
    ASSERT_OK(netns::InNetns(n2->get(), [&] {
      srv = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(9999);
      return ::bind(srv, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0
                 ? Status()
                 : Status(Error::FromErrno("bind"));
    }));
    pid_t pid = ::fork();
    if (pid == 0) {
      std::ofstream(dir / "cgroup.procs") << ::getpid();
      int ns = ::open(w.node(0).netns.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || ::setns(ns, CLONE_NEWNET) < 0) _exit(3);
      int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(9999);
      inet_pton(AF_INET, "10.99.0.2", &to.sin_addr);
      char payload[1000] = {};
      for (int i = 0; i < 100; ++i) {
        if (::sendto(fd, payload, sizeof(payload), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof(to)) != 1000)
          _exit(4);
      }
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    ::close(srv);
    EbpfNetworkSource source(**stats);
    Collector collector({h->mount, "/sys", &source});
    auto text = collector.Collect({{path, {{"container", "sender"}}}});
    ASSERT_OK(text);
    const std::string labels = R"({container="sender",id=")" + path +
                               R"(",image="",name="",namespace="",pod="",interface="eth0"})";
    // 100 datagrams of 1000 bytes + 8 (UDP) + 20 (IPv4) each.
    EXPECT_NE(text->find("container_network_transmit_packets_total" + labels + " 100\n"),
              std::string::npos)
        << *text;
    EXPECT_NE(text->find("container_network_transmit_bytes_total" + labels + " 102800\n"),
              std::string::npos);
    EXPECT_NE(text->find("container_network_receive_bytes_total" + labels + " 0\n"),
              std::string::npos);
    EXPECT_OK((*stats)->Uninstall());
  }
  ::rmdir(dir.c_str());
  ::umount2(bpffs.c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace berth::metrics
