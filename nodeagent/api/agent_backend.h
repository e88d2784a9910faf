// What the Agent gRPC service (berth.v1.Agent) serves, as an interface so
// the service can be tested without pods: the agent implements it.
// Implementations are thread-safe (gRPC calls arrive on many threads).
// Errors carry errno the service maps to gRPC codes: ENOENT -> NOT_FOUND,
// EINVAL -> INVALID_ARGUMENT, ETIMEDOUT -> DEADLINE_EXCEEDED, ...
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "exec_process.h"
#include "node_status.h"
#include "pod_status.h"

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"

namespace berth::nodeagent {

class AgentBackend {
 public:
  virtual ~AgentBackend() = default;
  virtual std::vector<PodStatus> ListPods() const = 0;
  virtual Result<PodStatus> GetPod(const std::string& ns, const std::string& name) const = 0;
  // `container` empty: the pod's only container (EINVAL naming the choices
  // when it has several).
  virtual Result<std::filesystem::path> LogPath(const std::string& ns, const std::string& pod,
                                                const std::string& container,
                                                bool previous) const = 0;
  virtual Result<std::unique_ptr<ExecProcess>> StartExec(
      const std::string& ns, const std::string& pod, const std::string& container,
      const std::vector<std::string>& command, bool tty, bool stdin,
      std::optional<runtime::ConsoleSize> size) = 0;
  virtual Result<NodeStatus> GetNodeStatus() const = 0;
};

}  // namespace berth::nodeagent
