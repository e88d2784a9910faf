// The DaemonSet controller (Kubernetes' pkg/controller/daemon): one pod per
// node the template can run on.
//
//  - Which nodes: NodeShouldRunDaemonPod (daemon_placement.h) over
//    nodeSelector, required node affinity and taints, with the daemon
//    tolerations added (not-ready and unreachable NoExecute among them), so
//    daemons run on NotReady nodes too, as in Kubernetes.
//  - Pods are created bound (spec.nodeName set, see DaemonPodFor) and
//    deleted from nodes that stop matching (an untolerated NoSchedule taint
//    only keeps new pods away; NoExecute evicts). Pods of nodes that no
//    longer exist are deleted with grace 0, as Kubernetes' pod GC does:
//    no agent is left to finish a graceful stop. A failed daemon pod is
//    deleted and replaced; of several pods on one node the oldest stays.
//  - Node by node: while a node still has a pod being deleted, no new pod
//    is created there.
//  - RollingUpdate: pods whose controller-revision-hash differs from the
//    current template's are replaced with at most maxUnavailable nodes
//    unavailable at a time (an unavailable old pod is replaced at once):
//    the old pod is deleted, the new one created on that node once the old
//    is gone. maxSurge is not implemented: replacement never surges.
//    OnDelete: pods are replaced only when deleted by someone else.
//  - Pods matching the selector without a controller are adopted.
//  - status: desiredNumberScheduled, currentNumberScheduled, numberReady,
//    numberAvailable, numberUnavailable, numberMisscheduled,
//    updatedNumberScheduled, observedGeneration.
//
// Level-triggered over informers of DaemonSets, pods (with AddPodIndexes)
// and nodes, all started by the caller; Sync(key) is public for tests;
// expectations keep it from acting twice on pods its informer has not seen.
// Thread-safe; Start() runs `workers` threads. Errors: Start returns
// ETIMEDOUT when the informers do not sync; Sync returns registry errors.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "berth/control/controller.h"
#include "berth/control/controllers/event_recorder.h"
#include "berth/control/controllers/pod_expectations.h"
#include "berth/control/informer.h"
#include "berth/control/work_queue.h"

namespace berth::control {

struct DaemonSetOptions {
  int workers = 2;
  // Pods created per sync at most (Kubernetes' burstReplicas).
  int burst = 250;
  std::chrono::seconds resync{30};
};

class DaemonSetController {
 public:
  DaemonSetController(Registry& registry, Informer& daemonsets, Informer& pods, Informer& nodes,
                      EventRecorder& events, DaemonSetOptions options = {});
  ~DaemonSetController();
  DaemonSetController(const DaemonSetController&) = delete;
  DaemonSetController& operator=(const DaemonSetController&) = delete;

  Status Start();
  void Stop();
  // One reconciliation of "namespace/name" (public for tests).
  Status Sync(const std::string& key);

 private:
  // The pods of one DaemonSet by node name, every state included.
  using PodsByNode = std::map<std::string, std::vector<v1::Pod>>;
  struct Deletion {
    v1::Pod pod;
    bool force = false;  // grace 0: its node is gone
  };

  void OnPod(const ObjectEvent& event, const v1::Object* old);
  void OnNode(const ObjectEvent& event, const v1::Object* old);
  void EnqueueAll();
  // The pods `ds` controls, adopting matching orphans first.
  Result<std::vector<v1::Pod>> ClaimPods(const v1::Object& ds, const LabelSelector& selector);
  // Old pods to replace now under the RollingUpdate budget.
  Result<std::vector<v1::Pod>> RollingUpdate(const v1::DaemonSet& ds,
                                             const std::vector<v1::Object>& nodes,
                                             const std::map<std::string, bool>& should_run,
                                             const PodsByNode& by_node, const std::string& hash);
  Status Apply(const v1::Object& ds, const std::string& key,
               const std::vector<std::string>& create_on, const std::vector<Deletion>& deletions,
               const std::string& hash);
  Status UpdateStatus(const v1::DaemonSet& ds, const std::vector<v1::Object>& nodes,
                      const std::map<std::string, bool>& should_run, const PodsByNode& by_node,
                      const std::string& hash);

  Registry& registry_;
  Informer& daemonsets_;
  Informer& pods_;
  Informer& nodes_;
  EventRecorder& events_;
  DaemonSetOptions options_;
  WorkQueue queue_;
  ControllerRunner runner_;
  PodExpectations expectations_;
  PeriodicResync resync_;
};

}  // namespace berth::control
