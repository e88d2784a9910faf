// What the agent reports about a pod, in Kubernetes' terms (v1 PodStatus):
// phase, conditions, and per container its state, last termination and
// restart count. Plain values; thread-safe to copy.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::nodeagent {

enum class PodPhase { kPending, kRunning, kSucceeded, kFailed };

// "Pending", "Running", ... as Kubernetes spells them.
inline const char* PodPhaseName(PodPhase p) {
  switch (p) {
    case PodPhase::kPending:
      return "Pending";
    case PodPhase::kRunning:
      return "Running";
    case PodPhase::kSucceeded:
      return "Succeeded";
    case PodPhase::kFailed:
      return "Failed";
  }
  return "Unknown";
}

struct ContainerState {
  enum class Kind { kWaiting, kRunning, kTerminated } kind = Kind::kWaiting;
  std::string reason;   // Waiting: ContainerCreating, CrashLoopBackOff, ...;
                        // Terminated: Completed, Error, OOMKilled
  std::string message;  // the error behind a Waiting reason
  int exit_code = 0;
  int signal = 0;
  int64_t started_at_ns = 0;
  int64_t finished_at_ns = 0;
};

struct ContainerStatus {
  std::string name;
  std::string image;
  bool init = false;
  bool ready = false;
  bool started = false;  // startup probe passed (or none)
  int restart_count = 0;
  ContainerState state;
  std::optional<ContainerState> last_state;  // the previous termination
  pid_t pid = 0;                             // the container's init on the host
  std::string cgroup;                        // inside the cgroup2 mount
  std::string log_path;                      // current CRI log file
};

struct PodStatus {
  std::string name, namespace_, uid;
  std::string source;  // manifest file
  std::map<std::string, std::string> labels;
  PodPhase phase = PodPhase::kPending;
  bool ready = false;        // condition Ready
  bool initialized = false;  // condition Initialized
  std::string qos_class;
  std::string pod_ip;
  std::vector<std::string> pod_ips;
  std::string message;  // why the pod is not progressing
  int64_t start_time_ns = 0;
  std::vector<ContainerStatus> init_containers, containers;
};

}  // namespace berth::nodeagent
