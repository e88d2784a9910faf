// A small network world for the pod network tests, built and torn down by
// the test: a "fabric" namespace holding a bridge, and N "node" namespaces,
// each with an uplink veth into the fabric (10.99.0.<i>/24, fd99::<i>/64)
// and its own PodNetwork (pod CIDRs 10.<100+i>.0.0/24 and fd00:<i>::/64).
// Everything lives in namespaces and a temp dir carrying a per-run suffix;
// nothing touches the host's own network namespace.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"
#include "berth/netns/pod_network.h"

namespace berth::netns::testing {

struct Node {
  std::string name;
  std::filesystem::path netns;
  IpAddress address_v4;
  IpAddress address_v6;
  IpPrefix pod_cidr_v4;
  IpPrefix pod_cidr_v6;
  NodeConfig config;
  std::unique_ptr<PodNetwork> net;
};

class World {
 public:
  // `v4_prefix_len` lets a test shrink the IPv4 pod CIDR (IPAM exhaustion).
  static Result<std::unique_ptr<World>> Build(int nodes, NodeMode mode, bool dual_stack = true,
                                              int v4_prefix_len = 24);
  ~World();

  Node& node(size_t i) { return nodes_[i]; }
  const std::filesystem::path& root() const { return root_; }
  // Every node's peers are all the others.
  Status ConnectPeers();
  // A namespace on the fabric outside every node (an external client),
  // with `address`/24 on its link; removed with the world.
  Result<std::filesystem::path> AddClient(const std::string& name, const IpAddress& address);
  // Reopens node i's PodNetwork over the same state (an agent restart).
  Status Restart(size_t i);

 private:
  std::filesystem::path root_;
  std::filesystem::path fabric_;
  std::vector<Node> nodes_;
  std::vector<std::filesystem::path> clients_;
};

// TCP and UDP round trips: a server socket made in `server_ns` on port
// `port`, a client made in `client_ns` connecting to `to`. Returns an error
// naming what failed.
Status TcpRoundTrip(const std::filesystem::path& server_ns, const std::filesystem::path& client_ns,
                    const IpAddress& to, int port);
Status UdpRoundTrip(const std::filesystem::path& server_ns, const std::filesystem::path& client_ns,
                    const IpAddress& to, int port);

}  // namespace berth::netns::testing
