// One run of one container of a pod (a "restart" is a new instance): its
// rootfs (an overlay of the image's snapshots, leased against GC), its
// bundle and the berth-shim that runs it. Files of instance N live in
// <pod dir>/containers/<name>/<N>/; shim.state and exit stay after Cleanup
// so that an agent that restarts can tell what happened (Adopt, LastExit).
// Logs: <log_dir>/<namespace>_<pod>_<uid>/<name>/<N>.log.
//
// Not thread-safe; owned by its pod worker. Errors: EINVAL for containers
// that cannot be built (bad env sources, nothing to run), ENOENT for a
// missing image or ConfigMap/Secret, errno of mounts and the shim start.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "manifest.h"
#include "node_context.h"
#include "pod_sandbox.h"
#include "qos.h"

#include "berth/common/unique_fd.h"
#include "berth/runtime/container.h"
#include "berth/runtime/shim/shim.h"

namespace berth::nodeagent {

struct ExecResult {
  int exit_code = 0;
  std::string output;  // stdout and stderr, interleaved as they came
};

struct InstanceRef {
  const NodeContext* ctx = nullptr;
  const PodManifest* pod = nullptr;
  const SandboxInfo* sandbox = nullptr;
  const ContainerSpec* spec = nullptr;
  int restart = 0;
};

class ContainerInstance {
 public:
  // Prepares everything and starts the shim; on failure nothing is left.
  static Result<ContainerInstance> Start(const InstanceRef& ref, QosClass qos,
                                         const std::string& pidns);
  // Finds a running instance after an agent restart: its shim must still be
  // the process recorded in shim.state (pid and start time).
  static Result<ContainerInstance> Adopt(const InstanceRef& ref);
  // The highest instance number under the container's directory, if any.
  static std::optional<int> LatestInstance(const InstanceRef& ref);
  // The exit recorded by instance `ref.restart` (nullopt: none recorded).
  static std::optional<runtime::shim::ExitStatus> RecordedExit(const InstanceRef& ref);
  static std::filesystem::path LogPath(const InstanceRef& ref);

  ContainerInstance(ContainerInstance&&) = default;
  ContainerInstance& operator=(ContainerInstance&&) = default;

  pid_t init_pid() const { return shim_.init_pid; }
  int64_t started_at_ns() const { return shim_.started_at_ns; }
  const std::string& cgroup() const { return cgroup_; }
  int restart() const { return ref_.restart; }
  // Readable (POLLIN) once the shim has exited, i.e. the exit is recorded.
  int shim_pidfd() const { return shim_pidfd_.get(); }
  // False for an adopted instance whose shim had already exited.
  bool shim_alive() const { return static_cast<bool>(shim_pidfd_); }
  int stop_signal() const { return stop_signal_; }
  std::filesystem::path log_path() const { return LogPath(ref_); }

  // The exit file, once the shim wrote it.
  Result<std::optional<runtime::shim::ExitStatus>> Exit() const;
  Status Signal(int sig) const;
  // Kills everything in the container's cgroup (cgroup.kill).
  Status KillAll() const;
  // Runs `command` inside the container, collecting its output; ETIMEDOUT
  // (after killing it) when it outlives `timeout`.
  Result<ExecResult> Exec(const std::vector<std::string>& command,
                          std::chrono::milliseconds timeout) const;
  // Options to start `command` in this container as its own process would
  // run (the bundle's env, user, capabilities and seccomp).
  Result<runtime::ExecOptions> ExecOptionsFor(const std::vector<std::string>& command) const;
  // After the exit: removes the cgroup, unmounts the rootfs, releases the
  // lease; keeps shim.state, exit and the log.
  Status Cleanup();

 private:
  ContainerInstance() = default;
  static std::filesystem::path Dir(const InstanceRef& ref);
  static std::string LeaseId(const InstanceRef& ref);

  InstanceRef ref_;
  runtime::shim::ShimState shim_;
  UniqueFd shim_pidfd_;
  std::string cgroup_;
  int stop_signal_ = 15;
  bool cleaned_ = false;
};

}  // namespace berth::nodeagent
