// Fixture for the agent's kernel tests: a whole node in a temp dir. A
// network namespace made by the test acts as the node (bridge, veths and
// pod addresses live only there), a per-run cgroup under the cgroup2 mount
// holds the pods, and a busybox image (tools/mkimage) is imported once per
// suite. TearDown shuts the agent down, kills every process left in the
// run's cgroup, and removes namespaces, mounts, cgroups and files, also when
// an assertion failed.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "agent.h"

namespace berth::nodeagent::testing {

class AgentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  AgentConfig Config() const;
  // Creates and starts the agent in this process.
  void StartAgent();
  void StopAgent();  // Shutdown: containers keep running
  void WriteManifest(const std::string& file, const std::string& yaml) const;
  void RemoveManifest(const std::string& file) const;
  // Polls `pred` every 20 ms until it holds or `timeout` passes.
  static bool WaitFor(const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = std::chrono::seconds(15));
  Result<PodStatus> Pod(const std::string& name) const;
  const ContainerStatus* Container(const PodStatus& p, const std::string& name) const;
  std::filesystem::path PodDir(const std::string& uid) const;
  std::string CgroupDir() const;  // host path of the run's cgroup root
  // A container's CRI log as plain text, one line per record ("" if unreadable).
  static std::string LogText(const std::string& path);

  std::filesystem::path dir_;
  std::string suffix_;
  std::string cgroup_root_;
  std::filesystem::path cgroup_mount_;
  std::filesystem::path node_netns_;
  std::unique_ptr<Agent> agent_;
  std::chrono::milliseconds backoff_base_{200};
  uint64_t log_max_bytes_ = 10 << 20;
  int log_max_files_ = 5;

  static std::filesystem::path* images_;  // shared store
};

}  // namespace berth::nodeagent::testing
