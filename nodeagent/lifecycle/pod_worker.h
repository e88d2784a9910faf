// One pod's life on the node, on its own thread: make (or find again) the
// sandbox, run init containers in order to completion, start the app
// containers, restart them by restartPolicy with crash back-off, run their
// probes, and report status. Two ways to end: Terminate() stops the pod
// gracefully (preStop hooks, the stop signal, terminationGracePeriodSeconds,
// then cgroup.kill) and removes everything it made; Detach() only ends the
// thread and leaves the containers running for the next agent to adopt.
//
// Thread-safe: Status(), Exec() and LogPath() may be called from any thread
// while the worker runs.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "container_instance.h"
#include "exec_process.h"
#include "node_context.h"
#include "pod_status.h"
#include "probe_tracker.h"
#include "prober.h"

#include "berth/common/unique_fd.h"

namespace berth::nodeagent {

class PodWorker {
 public:
  PodWorker(const NodeContext& ctx, PodManifest pod, std::string source);
  ~PodWorker();  // detaches if still running
  PodWorker(const PodWorker&) = delete;
  PodWorker& operator=(const PodWorker&) = delete;

  void Start();
  // `grace_seconds` replaces the pod's terminationGracePeriodSeconds (the
  // period a deletion asked for).
  void Terminate(std::optional<int64_t> grace_seconds = std::nullopt);
  void Detach();
  void Join();
  // The thread has finished (after Terminate: everything is removed).
  bool Done() const { return done_.load(); }

  const PodManifest& manifest() const { return pod_; }
  const std::string& source() const { return source_; }
  PodStatus Status() const;
  // The running instance of `container`; ENOENT when it is not running.
  Result<std::shared_ptr<ContainerInstance>> Running(const std::string& container) const;
  Result<ExecResult> Exec(const std::string& container, const std::vector<std::string>& command,
                          std::chrono::milliseconds timeout) const;
  Result<std::unique_ptr<ExecProcess>> StartExec(const std::string& container,
                                                 const std::vector<std::string>& command, bool tty,
                                                 bool stdin,
                                                 std::optional<runtime::ConsoleSize> size,
                                                 const std::filesystem::path& socket_dir) const;
  // The running (or last) instance's log, or the one before it.
  Result<std::filesystem::path> LogPath(const std::string& container, bool previous) const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Slot {
    const ContainerSpec* spec = nullptr;
    bool init = false;
    ContainerStatus status;
    std::shared_ptr<ContainerInstance> running;
    std::optional<ContainerProbes> probes;
    CrashBackoff backoff;
    int next_instance = 0;
    Clock::time_point started_at{};
    std::optional<Clock::time_point> restart_at;  // waiting to (re)start
    bool finished = false;                        // terminated and will not restart
    bool succeeded = false;                       // init: completed
  };

  void Run();
  bool PrepareSandbox();
  void AdoptSlot(Slot& slot);
  void StartSlot(Slot& slot);
  void OnExit(Slot& slot);
  void RunProbes(Slot& slot);
  ProbeOutcome RunNodeProbe(const Probe& spec, const IpAddress& ip, const ExecFn& exec);
  bool RunInitContainers();
  void RunAppContainers();
  void StopAll();
  void StopSlot(Slot& slot, Clock::time_point deadline);
  // Waits until a running slot's shim exits, the wake fd fires or `until`.
  void Wait(Clock::time_point until);
  void UpdatePhase();
  InstanceRef Ref(const Slot& slot, int instance) const;
  std::string PidNamespace(const Slot& slot) const;
  bool Stopping() const { return mode_.load() != Mode::kRun; }

  enum class Mode { kRun, kDetach, kTerminate };

  const NodeContext& ctx_;
  const PodManifest pod_;
  const std::string source_;
  QosClass qos_;
  SandboxInfo sandbox_;
  std::vector<Slot> slots_;  // init containers first
  mutable std::mutex mu_;    // guards slots_[*].status, .running and status_
  PodStatus status_;
  std::atomic<Mode> mode_{Mode::kRun};
  std::atomic<int64_t> grace_seconds_;
  std::atomic<bool> done_{false};
  UniqueFd wake_;  // eventfd
  std::thread thread_;
};

}  // namespace berth::nodeagent
