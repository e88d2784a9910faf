// What `berth-agent run` adds on a node that joined a cluster: the
// credentials `berth-agent join` saved (<state_dir>/cluster/: address,
// ca.crt, node.crt, node.key), the connection to berth-control, the Node
// registered with its capacity and InternalIP, its pod CIDR from the
// control plane, and, once the agent runs, the service load balancers
// (ServiceSync), the pods, peers and lease (ClusterAgent) and the usage
// reports behind `berth top` (UsageReporter).
//
// Not thread-safe: one owner (the run command) calls Join, Start, Stop.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "agent.h"
#include "agent_config.h"
#include "cluster_agent.h"
#include "dns_server.h"
#include "dns_table.h"
#include "node_session.h"
#include "service_sync.h"
#include "usage_reporter.h"

#include "berth/api/control_client.h"
#include "berth/ebpf/nodeport.h"
#include "berth/ebpf/service_lb.h"

namespace berth::nodeagent {

struct SavedCredentials {
  std::string address;
  api::ClientCredentials credentials;
};

std::filesystem::path ClusterDir(const std::filesystem::path& state_dir);
// The private key is written 0600; the directory 0700.
Status SaveCredentials(const std::filesystem::path& state_dir, const SavedCredentials& saved);
// ENOENT when the node has not joined a cluster.
Result<SavedCredentials> LoadCredentials(const std::filesystem::path& state_dir);

class Membership {
 public:
  // Connects with the saved credentials, registers the Node and waits (up
  // to `wait`) for the control plane to assign its pod CIDR; fills
  // config->network.pod_cidr_v4 and config->node_ip.
  static Result<std::unique_ptr<Membership>> Join(AgentConfig* config, std::chrono::seconds wait);
  ~Membership();

  // With the agent started: service load balancers, pods, peers, lease.
  Status Start(Agent& agent, const AgentConfig& config);
  // Ends following the cluster; containers and load balancer maps stay.
  void Stop();

 private:
  Membership() = default;

  std::unique_ptr<api::ControlClient> client_;
  std::unique_ptr<NodeSession> session_;
  std::unique_ptr<ebpf::ServiceLb> lb_;
  std::unique_ptr<ebpf::NodePort> node_port_;
  std::unique_ptr<dns::DnsTable> dns_table_;
  std::unique_ptr<dns::DnsServer> dns_server_;
  std::unique_ptr<ServiceSync> services_;
  std::unique_ptr<ClusterAgent> cluster_;
  std::unique_ptr<UsageReporter> usage_;
};

}  // namespace berth::nodeagent
