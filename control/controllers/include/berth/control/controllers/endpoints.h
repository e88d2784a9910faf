// The Endpoints controller, as Kubernetes' (pkg/controller/endpoint): for
// every Service with a selector, an Endpoints object of the same name
// listing the pods the selector matches. A pod with status.podIP that is
// not finished goes into `addresses` when its Ready condition is True and
// it is not terminating, into `notReadyAddresses` otherwise (a terminating
// pod is left out, unless publishNotReadyAddresses, which puts every pod in
// `addresses`); each address carries the pod's nodeName and a targetRef.
// Ports come from each Service port's targetPort: a number as is, a name
// looked up among the pod's container ports (same name and protocol); a pod
// without that name is left out of that port (Kubernetes' FindPort). A
// headless Service without ports lists its pods with no ports. Addresses
// with the same ports share a subset (endpoints.RepackSubsets); addresses,
// ports and subsets are sorted, so an unchanged set of pods gives the same
// object and nothing is written. The Service's labels are copied (and
// service.kubernetes.io/headless marks a headless Service's Endpoints).
//
// A Service without a selector keeps its Endpoints as its owner wrote them;
// a deleted Service's Endpoints are deleted. Service events enqueue the
// Service; a pod event enqueues the Services of its namespace whose
// selector matches the pod's old or new labels. Level-triggered: Sync(key)
// recomputes from the informers and the stored Endpoints, so a periodic
// resync or a restart converges.
//
// Thread-safe; Start() runs `workers` threads and a resync thread.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "berth/control/controller.h"
#include "berth/control/informer.h"
#include "berth/control/work_queue.h"

namespace berth::control {

inline constexpr std::string_view kHeadlessServiceLabel = "service.kubernetes.io/headless";

struct EndpointsOptions {
  int workers = 2;
  std::chrono::seconds resync{30};
};

class EndpointsController {
 public:
  EndpointsController(Registry& registry, Informer& services, Informer& pods,
                      EndpointsOptions options = {});
  ~EndpointsController();
  EndpointsController(const EndpointsController&) = delete;
  EndpointsController& operator=(const EndpointsController&) = delete;

  Status Start();
  void Stop();
  // One reconciliation of Service "namespace/name" (public for tests).
  Status Sync(const std::string& key);

 private:
  void OnPod(const ObjectEvent& event, const v1::Object* old);

  Registry& registry_;
  Informer& services_;
  Informer& pods_;
  EndpointsOptions options_;
  WorkQueue queue_;
  ControllerRunner runner_;
  PeriodicResync resync_;
};

// The subsets Kubernetes' controller would write for `svc` and `pods` (all
// of the Service's namespace that its selector matches), sorted.
std::vector<v1::EndpointSubset> DesiredSubsets(const v1::Service& svc,
                                               const std::vector<v1::Object>& pods);

}  // namespace berth::control
