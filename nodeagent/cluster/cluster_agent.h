// berth-agent as a cluster member, what kubelet does against the apiserver:
// follows the pods berth-control bound to this node and hands them to the
// Agent (Agent::SetClusterPods), with the ConfigMaps and Secrets they use
// copied to the node first; reports each pod's status back when it
// changes; finishes graceful deletions once the pod's containers are gone;
// renews the node's Lease and refreshes its status; routes to the other
// nodes' pod CIDRs (host-gw peers from their Node objects). Services are
// ServiceSync's.
//
// A pod the agent cannot run (PodManifestFromApi refuses it) is reported
// Failed with the reason; a pod whose ConfigMap or Secret does not exist
// yet waits Pending (CreateContainerConfigError) and is retried.
//
// Thread-safe: reflector threads and one loop thread; Stop() from any.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "agent.h"
#include "node_session.h"
#include "pod_events.h"
#include "reflector.h"

#include "berth/api/control_client.h"

namespace berth::nodeagent {

struct ClusterAgentOptions {
  std::string host_ip;  // status.hostIP of this node's pods
  // Cluster pods' ConfigMaps and Secrets: <config_root>/<namespace>/
  // {configmaps,secrets}/<name>/<key>. Keep it on tmpfs (/run): secrets.
  std::filesystem::path config_root;
  std::chrono::milliseconds status_interval{200};
  std::chrono::seconds lease_interval{10};
  std::chrono::seconds node_status_interval{60};
  std::chrono::seconds config_retry{2};
  // Pods resolve through the cluster DNS at this address ("" : the node's
  // resolv.conf), with Kubernetes' search path in `cluster_domain`.
  std::string cluster_dns;
  std::string cluster_domain = "cluster.local";
};

class ClusterAgent {
 public:
  ClusterAgent(api::ControlClient& client, NodeSession& session, Agent& agent,
               ClusterAgentOptions options);
  ~ClusterAgent();

  void Start();
  void Stop();
  // The first list of this node's pods has reached the agent.
  bool Synced() const { return pods_reflector_->Synced(); }

 private:
  struct Entry {
    v1::Pod pod;
    std::string spec;  // serialized spec and deletion state it was converted from
    std::optional<ClusterPod> converted;
    std::string problem;         // refused: reported Failed
    std::string config_missing;  // waiting for a ConfigMap or Secret
    std::chrono::steady_clock::time_point config_checked{};
    std::string reported;  // serialized status last written
    bool finishing = false;
  };

  void OnPods(const ObjectMap& objects, const v1::WatchEvent* event);
  void OnNodes(const ObjectMap& objects, const v1::WatchEvent* event);
  // Converts the pod and copies its config objects; holds mu_.
  void Prepare(Entry& entry);
  Status CopyConfig(const PodManifest& pod);
  // Gives the agent every pod that is ready to run; holds mu_.
  void PushToAgent();
  void Loop();
  void ReportStatuses();
  void FinishDeletions();
  void WriteEvents();
  void RetryConfig();
  void RefreshNode();

  api::ControlClient& client_;
  NodeSession& session_;
  Agent& agent_;
  const ClusterAgentOptions options_;
  std::unique_ptr<Reflector> pods_reflector_, nodes_reflector_;
  std::thread pods_thread_, nodes_thread_, loop_thread_;

  std::mutex mu_;                                 // guards pods_, last_status_ and events_pending_
  std::map<std::string, Entry> pods_;             // by uid
  std::map<std::string, PodStatus> last_status_;  // by uid: what events were derived from
  std::vector<std::pair<v1::Pod, PodEvent>> events_pending_;
  EventWriter events_;                          // the loop thread's
  std::set<std::string> forgotten_candidates_;  // loop thread: uids seen last round
  std::string peers_;  // the peer set last given to the network (nodes thread)

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
};

}  // namespace berth::nodeagent
