// A whole Berth cluster on this machine, built and torn down by each test:
// berth-control (its own PKI from `init`, TCP on loopback with mTLS and a
// unix socket for the test as administrator) and N real berth-agent
// processes, each joined with `berth-agent join` and running as its own
// node: a network namespace on a shared fabric bridge (10.99.0.<i>/24), a
// per-run cgroup subtree, its own image store holding the demo images, and
// BPF pins on a private bpffs. Pod CIDRs come from the control plane.
//
// Everything carries a per-run suffix; TearDown stops the processes it
// started (by PID), kills what is left in the run's cgroups, unmounts,
// deletes the namespaces and removes the files, also when a test failed
// (and then prints the tail of every process's log).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "berth/api/control_client.h"

namespace berth::e2e {

struct NodeProcess {
  std::string name;
  std::string address;          // 10.99.0.<i>
  std::filesystem::path dir;    // its files
  std::filesystem::path netns;  // the node
  std::string cgroup_root;      // inside the cgroup2 mount
  pid_t pid = -1;
};

class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  // Starts the control plane and `nodes` agents and waits until every
  // node is Ready.
  void StartCluster(int nodes);
  void StartAgent(size_t i);
  void StopAgent(size_t i);  // SIGTERM: its containers keep running

  api::ControlClient& admin() { return *admin_; }
  // Applies every document of `yaml` in `ns` (server-side Apply).
  void Apply(const std::string& yaml, const std::string& ns = "default");
  std::vector<v1::Pod> Pods(const std::string& label_selector, const std::string& ns = "default");
  // Polls `pred` every 100 ms until it holds or `timeout` passes.
  static bool WaitFor(const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // An HTTP GET of `url` made from node i, by a process in a cgroup under
  // that node's cgroup root (where its service load balancer is attached).
  // The body, or "" on failure (the reason goes to the test log).
  std::string HttpGetFromNode(size_t i, const std::string& url);
  // A namespace on the fabric outside every node (an external client) at
  // 10.99.0.200, made once.
  std::filesystem::path ClientNamespace();
  // An HTTP GET made from the network namespace `ns`; "" on failure.
  std::string HttpGetFrom(const std::filesystem::path& ns, const std::string& url);
  // A container's log (CRI lines) as plain text.
  static std::string LogText(const std::string& path);

  std::filesystem::path dir_;
  std::string suffix_;
  std::filesystem::path cgroup_mount_;
  std::string cgroup_root_;  // /berth-e2e-<suffix>
  std::filesystem::path fabric_;
  std::filesystem::path client_;
  std::vector<NodeProcess> nodes_;
  pid_t control_pid_ = -1;
  std::string control_address_;  // 127.0.0.1:<port>
  std::string join_token_, ca_hash_;
  std::unique_ptr<api::ControlClient> admin_;
  bool bpffs_mounted_ = false;

  static std::filesystem::path* images_;  // OCI layouts: busybox/, httpd/
};

}  // namespace berth::e2e
