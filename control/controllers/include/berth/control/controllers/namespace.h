// The namespace controller: empties a namespace being deleted, then lets it
// go (Kubernetes' pkg/controller/namespace, NamespacedResourcesDeleter).
//
// Deleting a Namespace only marks it: the registry sets deletionTimestamp,
// status.phase Terminating and the "kubernetes" finalizer, and refuses new
// objects in it. This controller deletes every object of every namespaced
// kind in it (api::AllKinds(); background propagation; pods on nodes stop
// gracefully, their agents finish the deletion) and, once a pass finds
// nothing left, removes the finalizer so that the registry drops the
// namespace. While objects remain (graceful pods, finalizers) the namespace
// is checked again after `recheck`.
//
// Level-triggered on a namespace informer; Sync(name) is public for tests.
// Thread-safe; Start() runs `workers` threads. Errors: Start returns
// ETIMEDOUT when the informer does not sync; Sync returns registry errors
// (retried with back-off by the runner).
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "berth/control/controller.h"
#include "berth/control/informer.h"
#include "berth/control/registry.h"
#include "berth/control/work_queue.h"

namespace berth::control {

struct NamespaceControllerOptions {
  int workers = 2;
  // How soon a namespace whose content is still going away is looked at
  // again (nothing else triggers it: the informer watches namespaces only).
  std::chrono::milliseconds recheck{1000};
  std::chrono::seconds resync{30};
};

class NamespaceController {
 public:
  // `namespaces` is an informer of kind Namespace, started by the caller.
  NamespaceController(Registry& registry, Informer& namespaces,
                      NamespaceControllerOptions options = {});
  ~NamespaceController();
  NamespaceController(const NamespaceController&) = delete;
  NamespaceController& operator=(const NamespaceController&) = delete;

  Status Start();
  void Stop();
  // One pass over the namespace `name` (public for tests).
  Status Sync(const std::string& name);

 private:
  // Deletes what is left in `ns`; returns how many objects remain (marked
  // for deletion and waiting for a grace period or finalizers).
  Result<int64_t> DeleteContent(const std::string& ns);

  Registry& registry_;
  Informer& namespaces_;
  NamespaceControllerOptions options_;
  WorkQueue queue_;
  ControllerRunner runner_;
  PeriodicResync resync_;
};

}  // namespace berth::control
