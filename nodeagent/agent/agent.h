// berth-agent's core: keeps the node's pods in line with two sources, the
// manifest directory (static pods, like kubelet's --pod-manifest-path) and,
// in cluster mode, the pods berth-control bound to this node
// (SetClusterPods). Each pod has a PodWorker; the uid of a static pod
// without metadata.uid is a hash of its file's content and the node name,
// so a changed manifest replaces the pod. On start it adopts pods a previous
// agent left running (their shims and sandboxes) and terminates pods no
// source wants any more; in cluster mode it waits for the first list of the
// cluster's pods before deciding that. Shutdown() leaves every container
// running for the next agent.
//
// Thread-safe: the AgentBackend methods are called from gRPC threads.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent_backend.h"
#include "agent_config.h"
#include "manifest_dir.h"
#include "node_context.h"
#include "pod_worker.h"

#include "berth/common/unique_fd.h"
#include "berth/netns/pod_network.h"
#include "berth/runtime/image/store.h"

namespace berth::nodeagent {

// A pod from berth-control. `api_json` is the API object, kept in the pod's
// state dir so that an agent restarted without the control plane can still
// stop it; `deletion_grace_seconds` set: the pod is being deleted.
struct ClusterPod {
  PodManifest manifest;
  std::string api_json;
  std::optional<int64_t> deletion_grace_seconds;
};

// A manifest the agent refused, for status and logs.
struct ManifestProblem {
  std::filesystem::path file;
  std::string error;
};

class Agent final : public AgentBackend {
 public:
  static Result<std::unique_ptr<Agent>> Create(AgentConfig config);
  ~Agent() override;

  // First sync (adopt, start, clean up), then watches the manifest dir.
  Status Start();
  // Ends the watcher and every pod worker; containers keep running.
  void Shutdown();
  // Cluster mode: the complete set of this node's pods from berth-control,
  // by uid. Pods it adds start, pods it drops or marks deleted terminate.
  void SetClusterPods(std::map<std::string, ClusterPod> pods);
  // A worker for the pod still exists (running or terminating).
  bool Holds(const std::string& uid) const;
  netns::PodNetwork& network() { return *network_; }
  // The first sync is done.
  bool Ready() const { return ready_.load(); }
  std::vector<ManifestProblem> Problems() const;
  const AgentConfig& config() const { return config_; }
  const NodeContext& context() const { return ctx_; }

  std::vector<PodStatus> ListPods() const override;
  Result<PodStatus> GetPod(const std::string& ns, const std::string& name) const override;
  Result<std::filesystem::path> LogPath(const std::string& ns, const std::string& pod,
                                        const std::string& container, bool previous) const override;
  Result<std::unique_ptr<ExecProcess>> StartExec(const std::string& ns, const std::string& pod,
                                                 const std::string& container,
                                                 const std::vector<std::string>& command, bool tty,
                                                 bool stdin,
                                                 std::optional<runtime::ConsoleSize> size) override;
  Result<NodeStatus> GetNodeStatus() const override;

 private:
  explicit Agent(AgentConfig config) : config_(std::move(config)) {}
  // Re-reads the changed manifests (all of them when `changes` is null)
  // and reconciles.
  Status Sync(const ManifestChanges* changes);
  // Starts, keeps or terminates workers to match both sources; holds mu_.
  void Reconcile();
  void Watch();
  // Joins and drops workers whose termination finished; holds mu_.
  void ReapEnded();
  // Pods with state on disk that no source wants: terminate them.
  void TerminateOrphans(const std::set<std::string>& desired);
  const PodWorker* Find(const std::string& ns, const std::string& name) const;

  AgentConfig config_;
  std::unique_ptr<netns::PodNetwork> network_;
  std::optional<runtime::image::ImageStore> images_;
  SeccompCache seccomp_;
  NodeContext ctx_;
  std::filesystem::path cgroup_mount_;
  mutable std::mutex mu_;  // guards workers_, ending_, problems_
  std::map<std::string, std::unique_ptr<PodWorker>> workers_;  // by uid
  std::vector<std::unique_ptr<PodWorker>> ending_;             // terminating
  std::vector<ManifestProblem> problems_;
  // Static pods by uid, with their files; the cluster's pods by uid.
  std::map<std::string, std::pair<PodManifest, std::filesystem::path>> static_pods_;
  std::map<std::string, ClusterPod> cluster_pods_;
  bool scanned_ = false;         // the manifest dir was read once
  bool cluster_listed_ = false;  // SetClusterPods was called once
  bool orphans_checked_ = false;
  std::optional<ManifestWatcher> manifests_;  // opened before the first scan
  ManifestScan scan_;  // parsed manifests by file (uids filled in); watcher thread only
  std::atomic<bool> ready_{false};
  UniqueFd stop_;  // eventfd
  std::thread watcher_;
};

}  // namespace berth::nodeagent
