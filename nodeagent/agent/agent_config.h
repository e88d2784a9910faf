// berth-agent's configuration: a YAML file (every key optional; an unknown
// key is an error naming it) with defaults for a production node, plus
// command-line overrides applied by the caller. Values only; thread-safe.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "backoff.h"

#include "berth/common/error.h"
#include "berth/netns/pod_network.h"

namespace berth::nodeagent {

struct AgentConfig {
  std::string node_name;  // default: the host name
  std::filesystem::path manifest_dir = "/etc/berth/pods";
  std::filesystem::path state_dir = "/var/lib/berth/agent";
  std::filesystem::path run_dir = "/run/berth";
  std::filesystem::path config_dir = "/etc/berth";  // configmaps/, secrets/
  std::filesystem::path log_dir = "/var/log/berth/pods";
  std::filesystem::path image_store = "/var/lib/berth/images";
  std::filesystem::path registries_config = "/etc/berth/registries.json";
  // Inside the cgroup2 mount; empty: the agent's own cgroup, which it then
  // leaves for a leaf "<own>/agent" (systemd Delegate=yes gives it that subtree).
  std::string cgroup_root;
  std::filesystem::path socket = "/run/berth/agent.sock";
  std::string http_listen = "127.0.0.1:10255";  // /metrics /healthz /readyz; empty: off
  std::filesystem::path shim_binary;            // default: berth-shim beside berth-agent
  netns::NodeConfig network;
  int64_t reserved_cpu_milli = 0;
  int64_t reserved_memory_bytes = 0;
  int64_t max_pods = 110;
  BackoffPolicy backoff;
  uint64_t log_max_bytes = 10 << 20;
  int log_max_files = 5;
  // Cluster mode. The node's InternalIP (default: the first global IPv4
  // address in the node's namespace), where the service load balancers pin
  // their maps (default /sys/fs/bpf/berth/<node>), the cgroup the ClusterIP
  // programs attach to (inside the cgroup2 mount; default: the agent's
  // cgroup root, so its pods; "/" for every process on the host), and the
  // interface NodePorts are served on (empty: NodePort off).
  std::string node_ip;
  std::filesystem::path bpf_pin_dir;
  std::string service_cgroup;
  std::string node_port_interface;
  // Cluster DNS: the node-local address pods resolve with (on the node's
  // loopback; "" : off) and the cluster domain.
  std::string cluster_dns = "169.254.20.10";
  std::string cluster_domain = "cluster.local";
  // Cluster mode: how often the node reports its and its pods' usage to
  // berth-control (`berth top`); the window each report averages over.
  std::chrono::seconds usage_report_interval{10};
  // Pods also come from berth-control (Agent::SetClusterPods): set by
  // `berth-agent run` on a node that joined a cluster, not by the file.
  bool cluster = false;
};

// Parses the YAML text over the defaults; `what` names the file in errors.
Result<AgentConfig> ParseAgentConfig(std::string_view yaml, std::string_view what);
Result<AgentConfig> LoadAgentConfig(const std::filesystem::path& path);
// Fills what depends on the host (node name, shim path next to `self_exe`)
// and checks the result.
Status FinishAgentConfig(AgentConfig* config, const std::filesystem::path& self_exe);

}  // namespace berth::nodeagent
