// `berth up` and `berth down`: a whole cluster on this machine, as root.
// up starts berth-control (initialising its PKI and store the first time)
// and its agents as background processes, joins each agent with a
// bootstrap token, writes the client configuration and waits until every
// node is Ready. Without --nodes the one node is this host (its network
// namespace and a cgroup subtree); with --nodes N each node is a network
// namespace of its own on a shared bridge ("fabric", 10.99.0.0/24, node i
// at 10.99.0.<i>), which is how multi-node behaviour is tried on one box.
// down stops what up started (agents, their pods, the control plane);
// --purge also removes its state, logs and client configuration.
//
// The orchestration runs the Berth binaries and iproute2's `ip`; it links
// nothing of the node or control code. Not thread-safe.
#pragma once

#include <filesystem>
#include <string>

#include "berth/common/error.h"

namespace berth::cli {

struct UpOptions {
  int nodes = 0;  // 0: this host is the node; N: N nodes in network namespaces
  std::filesystem::path state_dir = "/var/lib/berth";
  std::filesystem::path run_dir = "/run/berth";
  std::filesystem::path log_dir = "/var/log/berth";
  std::filesystem::path bpf_dir = "/sys/fs/bpf/berth";
  std::string cgroup_root = "/berth";         // inside the cgroup2 mount
  std::string prefix = "berth";               // of namespace and bridge names
  int port = 6443;                            // berth-control on 127.0.0.1
  std::filesystem::path bin_dir;              // default: where the binaries are found
  std::filesystem::path client_config;        // default: ~/.berth/config
  std::vector<std::filesystem::path> images;  // OCI layouts imported into every node
  int wait_seconds = 120;
  // Test knobs passed to berth-control: shorter node timeouts.
  int node_grace_seconds = 0, eviction_timeout_seconds = 0;
};

Status Up(const UpOptions& options);
Status Down(const UpOptions& options, bool purge);

}  // namespace berth::cli
