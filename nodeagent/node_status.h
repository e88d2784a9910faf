// The node as the agent reports it (Kubernetes' NodeStatus): capacity,
// allocatable after the configured reservations, conditions from PSI and
// free space, and which cgroup controllers are enforced. Reads /proc and
// the filesystem under the given roots; thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "berth/common/error.h"

namespace berth::nodeagent {

struct NodeCondition {
  std::string type;  // Ready, MemoryPressure, DiskPressure, PIDPressure
  bool status = false;
  std::string reason, message;
};

struct NodeStatus {
  std::string name;
  int64_t cpu_milli = 0, memory_bytes = 0, pods = 0;  // capacity
  int64_t allocatable_cpu_milli = 0, allocatable_memory_bytes = 0, allocatable_pods = 0;
  std::vector<NodeCondition> conditions;
  std::vector<std::string> controllers_enforced;  // of cpu, memory, pids, io
  std::vector<std::string> controllers_missing;   // bound to cgroup v1 or absent
  std::string cgroup_root;
  int running_pods = 0;
};

struct NodeStatusInputs {
  std::string name;
  std::filesystem::path proc = "/proc";
  std::filesystem::path cgroup_dir;  // <mount>/<root>: its cgroup.controllers
  std::string cgroup_root;
  std::filesystem::path state_dir;  // free space for DiskPressure
  int64_t reserved_cpu_milli = 0, reserved_memory_bytes = 0;
  int64_t max_pods = 110;
  double memory_pressure_avg10 = 10.0;  // PSI "some avg10" percent that means pressure
  double disk_free_min_ratio = 0.10;
  double pid_free_min_ratio = 0.05;
  int running_pods = 0;
};

Result<NodeStatus> ReadNodeStatus(const NodeStatusInputs& in);

}  // namespace berth::nodeagent
