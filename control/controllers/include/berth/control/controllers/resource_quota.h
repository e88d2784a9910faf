// The ResourceQuota controller, as Kubernetes' (pkg/controller/resourcequota):
// keeps each quota's status.hard (a copy of spec.hard) and status.used
// (MeasureQuotaUsage, quantities printed as Kubernetes prints them)
// current. A quota is recomputed when it changes and when an object of a
// kind it may count changes in its namespace (the replenishment
// controllers' job: pods finishing or deleted give quota back), and on a
// periodic resync. Admission does not read status.used (QuotaAdmission
// measures), so the status is for people and tools (kubectl describe
// quota), and lagging it is harmless.
//
// Thread-safe; Start() runs `workers` threads and a resync thread.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "berth/control/controller.h"
#include "berth/control/informer.h"
#include "berth/control/work_queue.h"

namespace berth::control {

struct ResourceQuotaOptions {
  int workers = 1;
  std::chrono::seconds resync{60};
};

class ResourceQuotaController {
 public:
  // `counted`: informers of the kinds quotas count (Pods, and Services,
  // Secrets, ConfigMaps, ... as wanted); an event on any of them refreshes
  // the quotas of its namespace. Kinds without an informer here are
  // refreshed on the resync.
  ResourceQuotaController(Registry& registry, Informer& quotas, std::vector<Informer*> counted,
                          ResourceQuotaOptions options = {});
  ~ResourceQuotaController();
  ResourceQuotaController(const ResourceQuotaController&) = delete;
  ResourceQuotaController& operator=(const ResourceQuotaController&) = delete;

  Status Start();
  void Stop();
  // One recomputation of quota "namespace/name" (public for tests).
  Status Sync(const std::string& key);

 private:
  void EnqueueNamespace(const std::string& ns);

  Registry& registry_;
  Informer& quotas_;
  std::vector<Informer*> counted_;
  ResourceQuotaOptions options_;
  WorkQueue queue_;
  ControllerRunner runner_;
  PeriodicResync resync_;
};

}  // namespace berth::control
