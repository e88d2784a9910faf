// NodePort services without kube-proxy: tc (clsact) programs on the node's
// external interface translate <node address>:<node port> to a backend on
// this node or another, with an LRU connection-tracking map so replies are
// translated back. externalTrafficPolicy Cluster: any backend; remote ones
// get this node as the source (their replies come back through it), local
// ones see the client. Local: local backends only, the client's address
// preserved. IPv4.
//
// Open() attaches in the calling thread's network namespace (the agent runs
// in the node's); maps are pinned under options.pin_dir, and the tc filters
// stay attached when the owner goes, so an agent restart keeps NodePorts
// working; Open() again replaces the programs in place. Not thread-safe.
// Errors name the node port and carry the errno of the bpf/netlink call.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "berth/common/error.h"
#include "berth/common/ip.h"
#include "berth/ebpf/service_lb.h"

namespace berth::ebpf {

enum class ExternalTrafficPolicy { kCluster, kLocal };

struct NodePortBackend {
  IpAddress address;  // a pod address
  uint16_t port = 0;
  bool local = false;  // the pod runs on this node
};

struct NodePortService {
  uint16_t node_port = 0;
  Protocol protocol = Protocol::kTcp;
  ExternalTrafficPolicy policy = ExternalTrafficPolicy::kCluster;
  std::vector<NodePortBackend> backends;
  std::string String() const;  // "30080/TCP"
};

struct NodePortOptions {
  std::string interface;   // the node's external interface
  IpAddress node_address;  // IPv4 address clients use
  std::filesystem::path pin_dir;
};

class NodePort {
 public:
  static Result<std::unique_ptr<NodePort>> Open(const NodePortOptions& options);
  ~NodePort();
  NodePort(const NodePort&) = delete;
  NodePort& operator=(const NodePort&) = delete;

  Status Upsert(const NodePortService& service);
  Status Delete(uint16_t node_port, Protocol protocol);
  // Connections accepted per node port so far.
  Result<uint64_t> Connections(uint16_t node_port, Protocol protocol) const;
  // Detaches (in the calling thread's namespace) and unpins.
  Status Uninstall();

 private:
  struct Impl;
  explicit NodePort(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::ebpf
