// The ReplicaSet controller: keeps the number of active pods a ReplicaSet
// owns equal to spec.replicas, creating pods from its template and deleting
// the surplus in Kubernetes' order (pods.h); a pod that fails, finishes or
// is deleted is replaced (self-healing); pods without a controller that
// match the selector are adopted. Writes status (replicas, ready,
// available, observedGeneration) and records SuccessfulCreate /
// SuccessfulDelete / FailedCreate events.
//
// Level-triggered: Sync(key) reads the informers and converges, so any
// event or the periodic resync may run it, and it is correct after a
// restart at any moment. Expectations (client-go's) keep it from acting
// twice on pods its informer has not seen yet.
//
// Thread-safe; Start() runs `workers` threads.
#pragma once

#include <map>
#include <mutex>

#include "berth/control/controller.h"
#include "berth/control/controllers/event_recorder.h"
#include "berth/control/informer.h"
#include "berth/control/work_queue.h"

namespace berth::control {

struct ReplicaSetOptions {
  int workers = 4;
  // Pods created (or deleted) per sync at most: large scale-ups proceed in
  // steps, each re-reading state (Kubernetes' burstReplicas).
  int burst = 500;
  std::chrono::seconds resync{30};
};

class ReplicaSetController {
 public:
  ReplicaSetController(Registry& registry, Informer& replicasets, Informer& pods,
                       EventRecorder& events, ReplicaSetOptions options = {});
  ~ReplicaSetController();

  Status Start();
  void Stop();
  // One reconciliation of "namespace/name" (public for tests).
  Status Sync(const std::string& key);

 private:
  struct Expectation {
    int64_t adds = 0;
    int64_t deletes = 0;
    std::chrono::steady_clock::time_point set;
  };
  void Enqueue(const v1::Object& object);
  void OnPod(const ObjectEvent& event, const v1::Object* old);
  bool Satisfied(const std::string& key);
  void Expect(const std::string& key, int64_t adds, int64_t deletes);
  void Observed(const std::string& owner_key, bool added);
  Status UpdateStatus(const v1::ReplicaSet& rs, const std::vector<v1::Pod>& active);

  Registry& registry_;
  Informer& replicasets_;
  Informer& pods_;
  EventRecorder& events_;
  ReplicaSetOptions options_;
  WorkQueue queue_;
  ControllerRunner runner_;
  std::mutex mu_;
  std::map<std::string, Expectation> expectations_;
  PeriodicResync resync_;
};

}  // namespace berth::control
