// The garbage collector: Kubernetes' GC on ownerReferences
// (pkg/controller/garbagecollector), level-triggered over informers.
//
//  - Background: an object whose owners (by uid) all no longer exist is
//    deleted. An owner that exists under the same name with another uid is
//    a different object and counts as gone. An object that keeps at least
//    one live owner only loses the references to the gone ones.
//  - Foreground: an owner being deleted with the "foregroundDeletion"
//    finalizer has its dependents deleted (themselves in the foreground
//    when they have dependents of their own, so a chain goes bottom-up);
//    once no dependent with blockOwnerDeletion remains, the finalizer is
//    removed and the registry drops the owner.
//  - Orphan: an owner with the "orphan" finalizer has the references to it
//    removed from its dependents, then loses the finalizer.
//
// The GC builds its own view: it creates one informer per watched kind
// (GarbageCollectorOptions::kinds; by default every kind but Event, which
// nothing owns and which is the most numerous) and keeps a uid index of
// every object with its owners, plus the reverse (owner uid -> dependent
// uids). Informers of different kinds run on different threads, so a pod
// may be seen before the ReplicaSet that owns it: an owner missing from the
// index is looked up in the registry before anything is deleted (Kubernetes'
// "verify the owner is absent with a live lookup"), and deletes carry the
// dependent's uid as a precondition.
//
// Ownership: owns its informers, work queue and threads. Thread-safe; Start
// and Stop belong to the owner. Errors: Start returns ETIMEDOUT when the
// informers do not sync, EINVAL for an unknown kind; Sync returns registry
// errors, which the runner retries with back-off.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "berth/control/controller.h"
#include "berth/control/informer.h"
#include "berth/control/registry.h"
#include "berth/control/work_queue.h"

namespace berth::control {

struct GarbageCollectorOptions {
  int workers = 4;
  // Kinds (api::FindKind names) whose objects are owners or dependents;
  // empty: every kind but Event.
  std::vector<std::string> kinds;
  // Every object with owners is checked again this often, for the events
  // a re-listing informer could not replay (an owner created and deleted
  // while its informer was not watching).
  std::chrono::seconds resync{30};
  std::chrono::seconds sync_timeout{60};
};

class GarbageCollector {
 public:
  GarbageCollector(Registry& registry, GarbageCollectorOptions options = {});
  ~GarbageCollector();
  GarbageCollector(const GarbageCollector&) = delete;
  GarbageCollector& operator=(const GarbageCollector&) = delete;

  // Starts the informers, waits for them to sync, then the workers.
  Status Start();
  void Stop();
  // One pass over the object with this uid (public for tests): its owners
  // when it has some, its dependents when it is being deleted with the
  // foreground or orphan finalizer. Unknown uids are done at once.
  Status Sync(const std::string& uid);
  // The uids of the indexed objects whose ownerReferences name `owner_uid`.
  std::vector<std::string> DependentsOf(const std::string& owner_uid) const;

 private:
  // One object in the ownership graph (Kubernetes' graph node).
  struct GraphNode {
    std::string kind;  // as api::KindInfo::kind spells it
    std::string ns;    // "" for cluster-scoped kinds
    std::string name;
    std::string uid;
    std::vector<v1::OwnerReference> owners;
    bool deleting = false;    // deletionTimestamp set
    bool foreground = false;  // finalizer foregroundDeletion
    bool orphan = false;      // finalizer orphan
  };
  enum class OwnerState { kSolid, kWaiting, kDangling };

  void OnEvent(const ObjectEvent& event, const v1::Object* old);
  // Callers hold mu_; the uids to enqueue are appended to `touched`.
  void UpsertLocked(GraphNode node, std::vector<std::string>& touched);
  void RemoveLocked(const std::string& uid, std::vector<std::string>& touched);

  Status SyncDependent(const GraphNode& node);
  Status DeleteDependents(const GraphNode& owner);
  Status OrphanDependents(const GraphNode& owner);
  Result<OwnerState> StateOf(const v1::OwnerReference& ref, const GraphNode& dependent);
  // Removes `finalizer` from the owner, which the registry then drops when
  // it was the last one.
  Status RemoveFinalizer(const GraphNode& owner, std::string_view finalizer);
  void Resync();

  Registry& registry_;
  GarbageCollectorOptions options_;
  std::vector<std::unique_ptr<Informer>> informers_;
  WorkQueue queue_;
  ControllerRunner runner_;

  mutable std::mutex mu_;                                    // guards nodes_ and dependents_
  std::map<std::string, GraphNode> nodes_;                   // uid -> object
  std::map<std::string, std::set<std::string>> dependents_;  // owner uid -> dependent uids

  PeriodicResync resync_;
};

}  // namespace berth::control
