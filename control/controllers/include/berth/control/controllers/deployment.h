// The Deployment controller (Kubernetes' pkg/controller/deployment): rolls
// a Deployment's pod template out through ReplicaSets, one per revision.
//
// A revision is a ReplicaSet owned by the Deployment (controller: true),
// named "<deployment>-<pod-template-hash>", whose selector and template
// carry the label pod-template-hash=<hash>; the hash is PodTemplateHash
// (rollout.h) over the template's deterministic serialization and
// status.collisionCount. Annotations, as Kubernetes writes them:
// deployment.kubernetes.io/revision on every ReplicaSet and on the
// Deployment (a template rolled back to gets a new, highest number and keeps
// its old ones in revision-history), desired-replicas and max-replicas for
// proportional scaling.
//
// Each sync, in Kubernetes' order (syncDeployment):
//  - claim the ReplicaSets it controls, adopting matching orphans;
//  - paused (spec.paused) or a scaling event (spec.replicas changed since
//    the ReplicaSets were sized): scale only, never create a revision;
//    several active ReplicaSets mid-rollout are scaled proportionally to
//    their sizes (sync.go: scale);
//  - otherwise one RollingUpdate or Recreate step (rollout.h) on the
//    ReplicaSets' spec.replicas and status.availableReplicas, written back
//    to each ReplicaSet's spec.replicas with a ScalingReplicaSet event;
//  - once complete, ReplicaSets beyond revisionHistoryLimit that have
//    scaled to zero are deleted, oldest revision first;
//  - status: counts from the ReplicaSets, the Available condition and the
//    Progressing condition with its progress deadline, re-checked with a
//    delayed requeue (progress.go).
// A deleted Deployment needs nothing (the garbage collector removes its
// ReplicaSets) and one being deleted is left alone.
//
// Level-triggered like ReplicaSetController: Sync(key) reads the informers
// and converges. Writes to a ReplicaSet are made only against the
// generation the decision was based on; a ReplicaSet changed since (a
// stale cache) ends the sync and its informer event brings it back.
//
// Thread-safe; Start() runs `workers` threads. The constructor adds
// handlers and indexes to the informers, so it must run before they start.
// Errors: Start returns ETIMEDOUT when the informers do not sync; Sync
// returns the registry's errors with the deployment's key as context.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "berth/control/controller.h"
#include "berth/control/controllers/event_recorder.h"
#include "berth/control/informer.h"
#include "berth/control/rollout.h"
#include "berth/control/work_queue.h"

namespace berth::control {

// Labels and annotations Kubernetes' deployment controller and kubectl use.
inline constexpr std::string_view kPodTemplateHashLabel = "pod-template-hash";
inline constexpr std::string_view kRevisionAnnotation = "deployment.kubernetes.io/revision";
inline constexpr std::string_view kRevisionHistoryAnnotation =
    "deployment.kubernetes.io/revision-history";
inline constexpr std::string_view kDesiredReplicasAnnotation =
    "deployment.kubernetes.io/desired-replicas";
inline constexpr std::string_view kMaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas";
inline constexpr std::string_view kRestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt";
// Informer index on ReplicaSets: the controlling owner's uid.
inline constexpr std::string_view kReplicaSetsByOwner = "controller-uid";

struct DeploymentOptions {
  int workers = 4;
  std::chrono::seconds resync{30};
};

class DeploymentController {
 public:
  DeploymentController(Registry& registry, Informer& deployments, Informer& replicasets,
                       Informer& pods, EventRecorder& events, DeploymentOptions options = {});
  ~DeploymentController();
  DeploymentController(const DeploymentController&) = delete;
  DeploymentController& operator=(const DeploymentController&) = delete;

  Status Start();
  void Stop();
  // One reconciliation of "namespace/name" (public for tests).
  Status Sync(const std::string& key);

 private:
  // One sync's view of a Deployment's revisions: `current` has the
  // Deployment's template (Kubernetes' "new" ReplicaSet), `old` every
  // other owned ReplicaSet, oldest first.
  struct Revisions {
    std::optional<v1::ReplicaSet> current;
    std::vector<v1::ReplicaSet> old;
  };

  void Enqueue(const v1::Object& object);
  void OnReplicaSet(const ObjectEvent& event, const v1::Object* old);
  void OnPod(const ObjectEvent& event);

  // deployment.cc: claiming, revisions, scaling one ReplicaSet, cleanup.
  Result<std::vector<v1::ReplicaSet>> ClaimReplicaSets(const v1::Deployment& d);
  // Splits `owned` (oldest first) and brings the current ReplicaSet's
  // revision, annotations and minReadySeconds, and the Deployment's
  // revision, up to date (getAllReplicaSetsAndSyncRevision). Updates `d`
  // with what it writes.
  Result<Revisions> SyncRevisions(v1::Deployment& d, std::vector<v1::ReplicaSet> owned);
  // Creates the current ReplicaSet with `replicas` (there is none yet).
  Status CreateCurrent(v1::Deployment& d, Revisions& revisions, int32_t replicas);
  // Sets spec.replicas (and the replica annotations) of `rs` against the
  // generation it was read at (ESTALE when it changed); records
  // ScalingReplicaSet when the size changed. Returns whether it wrote.
  Result<bool> ScaleReplicaSet(v1::ReplicaSet& rs, int32_t size, const v1::Deployment& d);
  Status CleanupHistory(const v1::Deployment& d, const std::vector<v1::ReplicaSet>& old);
  // What the rollout arithmetic sees of a ReplicaSet: spec.replicas raised
  // to the pods that still exist, available capped at spec.replicas.
  ReplicaSetState StateOf(const v1::ReplicaSet& rs) const;
  int64_t LivePods(const v1::ReplicaSet& rs) const;

  // deployment_rollout.cc: the strategies and scaling.
  Status RolloutRolling(v1::Deployment& d, Revisions& revisions);
  Status RolloutRecreate(v1::Deployment& d, Revisions& revisions);
  // Paused or a scaling event: sync.go's sync().
  Status SyncScaling(v1::Deployment& d, Revisions& revisions);
  Status Scale(const v1::Deployment& d, Revisions& revisions);
  // An active ReplicaSet was sized for another spec.replicas.
  static bool IsScalingEvent(const v1::Deployment& d, const Revisions& revisions);

  // deployment_status.cc: status and conditions.
  Status CheckPausedConditions(v1::Deployment& d);
  // Counts and the Available condition (syncDeploymentStatus).
  Status SyncStatus(v1::Deployment& d, const Revisions& revisions);
  // The same plus Progressing and its deadline (syncRolloutStatus).
  Status SyncRolloutStatus(v1::Deployment& d, const Revisions& revisions);
  // Writes `status` unless unchanged and keeps `d` in step.
  Status WriteStatus(v1::Deployment& d, const v1::DeploymentStatus& status);
  // Requeues a rollout without progress for when its deadline passes.
  void RequeueStuck(const v1::Deployment& d, const v1::DeploymentStatus& status);

  Registry& registry_;
  Informer& deployments_;
  Informer& replicasets_;
  Informer& pods_;
  EventRecorder& events_;
  DeploymentOptions options_;
  WorkQueue queue_;
  ControllerRunner runner_;
  PeriodicResync resync_;
};

// `kubectl rollout undo`: copies the template of the ReplicaSet at
// `to_revision` (0: the revision before the current one) into the
// Deployment, without its pod-template-hash label, and takes over that
// ReplicaSet's annotations the way kubectl does; the controller then rolls
// it out as a new revision. A template that already matches is left alone
// (kubectl's "skipped rollback") and the Deployment returned unchanged.
// Errors: ENOENT "unable to find specified revision 7 in history" or "no
// rollout history found for deployment \"web\"", EINVAL for a paused
// Deployment, the registry's errors.
Result<v1::Object> RollbackDeployment(Registry& registry, const std::string& ns,
                                      const std::string& name, int64_t to_revision = 0);

// `kubectl rollout restart`: sets the template annotation
// kubectl.kubernetes.io/restartedAt to `at` (RFC 3339, seconds), which
// changes the pod-template-hash and so rolls out every pod again.
// Errors: EINVAL for a paused Deployment, the registry's errors.
Result<v1::Object> RestartDeployment(Registry& registry, const std::string& ns,
                                     const std::string& name,
                                     std::chrono::system_clock::time_point at);

}  // namespace berth::control
