// The node lifecycle controller, as Kubernetes' (node_lifecycle_controller):
// a node whose Lease (namespace berth-node-lease, name = node) has not been
// renewed for `grace` (40 s) is marked unreachable: its Ready condition
// becomes Unknown (NodeStatusUnknown), it gets the taints
// node.kubernetes.io/unreachable with NoSchedule and NoExecute, and a
// NodeNotReady event. Once it has been unreachable for `eviction_timeout`
// (5 min) its pods are deleted with grace 0 (their agent cannot finish a
// graceful stop) so that their owners replace them on healthy nodes. A
// renewal brings the node back: taints removed, Ready from the agent's
// next status report.
//
// Thread-safe; Start() runs one monitor thread that checks every
// `period`.
#pragma once

#include <atomic>
#include <map>
#include <thread>

#include "berth/control/controllers/event_recorder.h"
#include "berth/control/informer.h"

namespace berth::control {

inline constexpr std::string_view kNodeLeaseNamespace = "berth-node-lease";
inline constexpr std::string_view kUnreachableTaint = "node.kubernetes.io/unreachable";

struct NodeLifecycleOptions {
  std::chrono::milliseconds grace{40000};
  std::chrono::milliseconds eviction_timeout{300000};
  std::chrono::milliseconds period{1000};
};

class NodeLifecycleController {
 public:
  // `pods` must carry the kPodsByNode index (AddPodIndexes).
  NodeLifecycleController(Registry& registry, Informer& nodes, Informer& leases, Informer& pods,
                          EventRecorder& events, NodeLifecycleOptions options = {});
  ~NodeLifecycleController();

  Status Start();
  void Stop();
  // One pass over every node (public for tests).
  void MonitorOnce();

 private:
  void MarkUnreachable(const v1::Node& node);
  void MarkReachable(const v1::Node& node);
  void Evict(const v1::Node& node);

  Registry& registry_;
  Informer& nodes_;
  Informer& leases_;
  Informer& pods_;
  EventRecorder& events_;
  NodeLifecycleOptions options_;
  // When each node was first seen (a node without a lease yet gets `grace`
  // from then) and when it became unreachable.
  std::map<std::string, std::chrono::system_clock::time_point> first_seen_;
  std::map<std::string, std::chrono::system_clock::time_point> unreachable_since_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace berth::control
