// The Deployment controller's plumbing (handlers, workers, the sync entry)
// and its ReplicaSet bookkeeping: claiming, revisions, creating the
// current revision, scaling one ReplicaSet and trimming history.
// deployment_rollout.cc holds the strategies, deployment_status.cc the
// status and conditions.
#include "berth/control/controllers/deployment.h"

#include <algorithm>
#include <cerrno>

#include "deployment_util.h"

#include "berth/control/controllers/pods.h"

namespace berth::control {
namespace {

using namespace deployment_internal;

std::string DeploymentKey(const v1::ObjectMeta& rs_meta) {
  const auto* owner = ControllerOf(rs_meta);
  if (owner == nullptr || owner->kind() != "Deployment") return "";
  return rs_meta.namespace_() + "/" + owner->name();
}

// Copies the Deployment's annotations (but the skipped ones) into a
// ReplicaSet's (copyDeploymentAnnotationsToReplicaSet); true when any
// changed.
bool CopyAnnotations(const v1::Deployment& d, v1::ObjectMeta& rs_meta) {
  bool changed = false;
  auto& annotations = *rs_meta.mutable_annotations();
  for (const auto& [k, v] : d.metadata().annotations()) {
    if (SkippedAnnotation(k)) continue;
    auto it = annotations.find(k);
    if (it != annotations.end() && it->second == v) continue;
    annotations[k] = v;
    changed = true;
  }
  return changed;
}

// Raises the revision annotation to `revision`, keeping the one it replaces
// in revision-history (a template rolled back to); true when changed.
bool RaiseRevision(v1::ObjectMeta& rs_meta, int64_t revision) {
  const int64_t old = RevisionOf(rs_meta);
  if (old >= revision) return false;
  auto& annotations = *rs_meta.mutable_annotations();
  if (old > 0) {
    std::string& history = annotations[std::string(kRevisionHistoryAnnotation)];
    history = history.empty() ? std::to_string(old) : history + "," + std::to_string(old);
  }
  annotations[std::string(kRevisionAnnotation)] = std::to_string(revision);
  return true;
}

}  // namespace

DeploymentController::DeploymentController(Registry& registry, Informer& deployments,
                                           Informer& replicasets, Informer& pods,
                                           EventRecorder& events, DeploymentOptions options)
    : registry_(registry),
      deployments_(deployments),
      replicasets_(replicasets),
      pods_(pods),
      events_(events),
      options_(options),
      runner_("deployment", queue_, [this](const std::string& key) { return Sync(key); }) {
  // Same names and functions as other controllers add: a second AddIndex
  // replaces the first harmlessly.
  replicasets_.AddIndex(std::string(kReplicaSetsByOwner), IndexByControllerUid);
  AddPodIndexes(pods_);
  deployments_.AddHandler([this](const ObjectEvent& e, const v1::Object*) { Enqueue(e.object); });
  replicasets_.AddHandler(
      [this](const ObjectEvent& e, const v1::Object* old) { OnReplicaSet(e, old); });
  pods_.AddHandler([this](const ObjectEvent& e, const v1::Object*) { OnPod(e); });
}

DeploymentController::~DeploymentController() { Stop(); }

Status DeploymentController::Start() {
  BERTH_TRY(WaitForInformers({&deployments_, &replicasets_, &pods_}, "deployment controller"));
  resync_.Start(options_.resync, [this] {
    for (const auto& d : deployments_.List()) Enqueue(d);
  });
  return runner_.Start(options_.workers);
}

void DeploymentController::Stop() {
  resync_.Stop();
  queue_.ShutDown();
  runner_.Stop();
}

void DeploymentController::Enqueue(const v1::Object& object) { queue_.Add(KeyOf(object)); }

void DeploymentController::OnReplicaSet(const ObjectEvent& event, const v1::Object* old) {
  if (!event.object.has_replica_set()) return;
  const v1::ObjectMeta& meta = event.object.replica_set().metadata();
  const std::string owner = DeploymentKey(meta);
  if (!owner.empty()) queue_.Add(owner);
  // A changed controller: the one it left re-counts too (updateReplicaSet).
  if (old != nullptr && old->has_replica_set()) {
    const std::string previous = DeploymentKey(old->replica_set().metadata());
    if (!previous.empty() && previous != owner) queue_.Add(previous);
  }
  if (owner.empty() && event.type != ObjectEvent::Type::kDeleted && ControllerOf(meta) == nullptr &&
      !meta.has_deletion_timestamp()) {
    // An orphan: the Deployments that select it may adopt it.
    const Labels labels(meta.labels().begin(), meta.labels().end());
    for (const auto& d : deployments_.List(meta.namespace_())) {
      auto selector = ToSelector(d.deployment().spec().selector());
      if (selector.ok() && selector->Matches(labels)) Enqueue(d);
    }
  }
}

void DeploymentController::OnPod(const ObjectEvent& event) {
  // Only deletions matter: Recreate waits for the old pods to be gone
  // (deletePod). Pod state otherwise reaches us as ReplicaSet status.
  if (event.type != ObjectEvent::Type::kDeleted || !event.object.has_pod()) return;
  const v1::ObjectMeta& meta = event.object.pod().metadata();
  const auto* owner = ControllerOf(meta);
  if (owner == nullptr || owner->kind() != "ReplicaSet") return;
  auto rs = replicasets_.Get(meta.namespace_(), owner->name());
  if (!rs) return;
  const std::string key = DeploymentKey(rs->replica_set().metadata());
  if (!key.empty()) queue_.Add(key);
}

Status DeploymentController::Sync(const std::string& key) {
  const auto [ns, name] = SplitKey(key);
  auto object = deployments_.Get(ns, name);
  if (!object) return {};  // deleted: its ReplicaSets are the garbage collector's
  v1::Deployment d = object->deployment();
  if (d.metadata().has_deletion_timestamp()) return {};

  Status synced = [&]() -> Status {
    BERTH_ASSIGN_OR_RETURN(auto owned, ClaimReplicaSets(d));
    BERTH_TRY(CheckPausedConditions(d));
    BERTH_ASSIGN_OR_RETURN(Revisions revisions, SyncRevisions(d, std::move(owned)));
    if (d.spec().paused() || IsScalingEvent(d, revisions)) return SyncScaling(d, revisions);
    if (d.spec().strategy().type() == "Recreate") return RolloutRecreate(d, revisions);
    return RolloutRolling(d, revisions);
  }();
  if (!synced.ok() && synced.error().err() == ESTALE) {
    // Decided on a cached ReplicaSet that has changed since: the informer
    // event for that change requeues the key; the delay is a backstop.
    queue_.AddAfter(key, std::chrono::milliseconds(500));
    return {};
  }
  return std::move(synced).Wrap("deployment " + key);
}

Result<std::vector<v1::ReplicaSet>> DeploymentController::ClaimReplicaSets(
    const v1::Deployment& d) {
  const std::string& uid = d.metadata().uid();
  const std::string& ns = d.metadata().namespace_();
  std::vector<v1::ReplicaSet> owned;
  for (auto& o : replicasets_.ByIndex(kReplicaSetsByOwner, uid)) {
    if (o.has_replica_set() && ControlledBy(o.replica_set().metadata(), uid)) {
      owned.push_back(std::move(*o.mutable_replica_set()));
    }
  }
  BERTH_ASSIGN_OR_RETURN(auto selector, ToSelector(d.spec().selector()));
  // Orphans the selector matches are adopted (ClaimReplicaSets), so a
  // Deployment recreated over its old ReplicaSets takes them back.
  for (const auto& o : replicasets_.List(ns, selector)) {
    const v1::ObjectMeta& meta = o.replica_set().metadata();
    if (ControllerOf(meta) != nullptr || meta.has_deletion_timestamp()) continue;
    auto adopted = registry_.Modify({"ReplicaSet", ns, meta.name()}, [&](v1::Object& rs) {
      auto* m = rs.mutable_replica_set()->mutable_metadata();
      if (ControllerOf(*m) != nullptr || m->has_deletion_timestamp()) return false;
      auto* ref = m->add_owner_references();
      ref->set_api_version("apps/v1");
      ref->set_kind("Deployment");
      ref->set_name(d.metadata().name());
      ref->set_uid(uid);
      ref->set_controller(true);
      ref->set_block_owner_deletion(true);
      return true;
    });
    if (!adopted.ok()) {
      if (adopted.error().err() == ENOENT) continue;
      return std::move(adopted).error().Wrap("adopt replicaset " + meta.name());
    }
    if (ControlledBy(adopted->replica_set().metadata(), uid)) {
      owned.push_back(adopted->replica_set());
    }
  }
  SortOldestFirst(owned);
  return owned;
}

Result<DeploymentController::Revisions> DeploymentController::SyncRevisions(
    v1::Deployment& d, std::vector<v1::ReplicaSet> owned) {
  Revisions revisions;
  // The oldest ReplicaSet with the template is the current one
  // (FindNewReplicaSet): after a hash collision two may match.
  for (auto& rs : owned) {
    if (!revisions.current && EqualIgnoreHash(rs.spec().template_(), d.spec().template_())) {
      revisions.current = std::move(rs);
    } else {
      revisions.old.push_back(std::move(rs));
    }
  }
  if (!revisions.current) return revisions;

  // getNewReplicaSet for an existing one: its revision becomes the highest
  // (a template rolled back to), annotations and minReadySeconds follow
  // the Deployment's.
  v1::ReplicaSet& current = *revisions.current;
  const int64_t revision = MaxRevision(revisions.old) + 1;
  auto sync_rs = [&](v1::ReplicaSet& rs) {
    bool changed = CopyAnnotations(d, *rs.mutable_metadata());
    changed = RaiseRevision(*rs.mutable_metadata(), revision) || changed;
    if (rs.spec().min_ready_seconds() != d.spec().min_ready_seconds()) {
      rs.mutable_spec()->set_min_ready_seconds(d.spec().min_ready_seconds());
      changed = true;
    }
    return changed;
  };
  v1::ReplicaSet probe = current;
  if (sync_rs(probe)) {
    bool stale = false;
    auto updated =
        registry_.Modify({"ReplicaSet", current.metadata().namespace_(), current.metadata().name()},
                         [&](v1::Object& o) {
                           v1::ReplicaSet& fresh = *o.mutable_replica_set();
                           if (fresh.metadata().generation() != current.metadata().generation()) {
                             stale = true;
                             return false;
                           }
                           return sync_rs(fresh);
                         });
    if (!updated.ok()) {
      if (updated.error().err() == ENOENT) return Error::Sys(ESTALE, "replicaset deleted");
      return std::move(updated).error().Wrap("update replicaset " + current.metadata().name());
    }
    if (stale) return Error::Sys(ESTALE, "replicaset " + current.metadata().name() + " changed");
    current = updated->replica_set();
  }

  // The Deployment shows its current revision (SetDeploymentRevision).
  const std::string rs_revision = std::to_string(RevisionOf(current.metadata()));
  auto it = d.metadata().annotations().find(std::string(kRevisionAnnotation));
  if (it == d.metadata().annotations().end() || it->second != rs_revision) {
    auto updated = registry_.Modify(
        {"Deployment", d.metadata().namespace_(), d.metadata().name()}, [&](v1::Object& o) {
          auto& annotations = *o.mutable_deployment()->mutable_metadata()->mutable_annotations();
          if (annotations[std::string(kRevisionAnnotation)] == rs_revision) return false;
          annotations[std::string(kRevisionAnnotation)] = rs_revision;
          return true;
        });
    if (!updated.ok()) return std::move(updated).error().Wrap("set deployment revision");
    (*d.mutable_metadata()->mutable_annotations())[std::string(kRevisionAnnotation)] = rs_revision;
  }
  // Progress is estimated from the first time the current ReplicaSet was
  // seen when nothing was recorded before.
  if (GetCondition(d.status(), kProgressing) == nullptr && HasProgressDeadline(d)) {
    v1::DeploymentStatus status = d.status();
    SetCondition(status, NewCondition(kProgressing, "True", kFoundNewReplicaSet,
                                      "Found new replica set \"" + current.metadata().name() + "\"",
                                      registry_.Now()));
    BERTH_TRY(WriteStatus(d, status));
  }
  return revisions;
}

Status DeploymentController::CreateCurrent(v1::Deployment& d, Revisions& revisions,
                                           int32_t replicas) {
  BERTH_ASSIGN_OR_RETURN(RollingLimits limits, LimitsOf(d));
  const std::string hash = TemplateHash(d.spec().template_(), d.status().collision_count());
  const int64_t revision = MaxRevision(revisions.old) + 1;
  const std::string ns = d.metadata().namespace_();
  const std::string name = d.metadata().name() + "-" + hash;

  v1::Object object;
  v1::ReplicaSet& rs = *object.mutable_replica_set();
  v1::ObjectMeta& meta = *rs.mutable_metadata();
  meta.set_name(name);
  meta.set_namespace_(ns);
  *meta.mutable_labels() = d.spec().template_().metadata().labels();
  (*meta.mutable_labels())[std::string(kPodTemplateHashLabel)] = hash;
  CopyAnnotations(d, meta);
  auto& annotations = *meta.mutable_annotations();
  annotations[std::string(kRevisionAnnotation)] = std::to_string(revision);
  annotations[std::string(kDesiredReplicasAnnotation)] = std::to_string(d.spec().replicas());
  annotations[std::string(kMaxReplicasAnnotation)] =
      std::to_string(d.spec().replicas() + limits.max_surge);
  auto* ref = meta.add_owner_references();
  ref->set_api_version("apps/v1");
  ref->set_kind("Deployment");
  ref->set_name(d.metadata().name());
  ref->set_uid(d.metadata().uid());
  ref->set_controller(true);
  ref->set_block_owner_deletion(true);
  v1::ReplicaSetSpec& spec = *rs.mutable_spec();
  spec.set_replicas(replicas);
  spec.set_min_ready_seconds(d.spec().min_ready_seconds());
  *spec.mutable_selector() = d.spec().selector();
  (*spec.mutable_selector()->mutable_match_labels())[std::string(kPodTemplateHashLabel)] = hash;
  *spec.mutable_template_() = d.spec().template_();
  (*spec.mutable_template_()->mutable_metadata()->mutable_labels())[std::string(
      kPodTemplateHashLabel)] = hash;

  bool already_exists = false;
  auto created = registry_.Create(object);
  if (!created.ok()) {
    if (created.error().err() != EEXIST) {
      return std::move(created).error().Wrap("create replicaset " + name);
    }
    // Ours already, created by a sync whose result the cache has not
    // shown yet; anything else is a hash collision: a new collisionCount
    // gives a new name on the next try.
    auto existing = registry_.Get({"ReplicaSet", ns, name});
    if (existing.ok() && ControlledBy(existing->replica_set().metadata(), d.metadata().uid()) &&
        EqualIgnoreHash(existing->replica_set().spec().template_(), d.spec().template_())) {
      already_exists = true;
      created = std::move(existing);
    } else {
      v1::DeploymentStatus status = d.status();
      status.set_collision_count(d.status().collision_count() + 1);
      BERTH_TRY(WriteStatus(d, status));
      return Error::Sys(EEXIST, "replicaset " + name +
                                    " exists with another template: hash "
                                    "collision, collisionCount now " +
                                    std::to_string(status.collision_count()));
    }
  }
  revisions.current = created->replica_set();
  if (!already_exists) {
    v1::Object about;
    *about.mutable_deployment() = d;
    if (replicas > 0) {
      events_.Normal(about, "ScalingReplicaSet",
                     "Scaled up replica set " + name + " to " + std::to_string(replicas));
    }
    if (HasProgressDeadline(d)) {
      v1::DeploymentStatus status = d.status();
      SetCondition(status,
                   NewCondition(kProgressing, "True", kNewReplicaSetCreated,
                                "Created new replica set \"" + name + "\"", registry_.Now()));
      BERTH_TRY(WriteStatus(d, status));
    }
  }
  return {};
}

Result<bool> DeploymentController::ScaleReplicaSet(v1::ReplicaSet& rs, int32_t size,
                                                   const v1::Deployment& d) {
  BERTH_ASSIGN_OR_RETURN(RollingLimits limits, LimitsOf(d));
  const std::string desired = std::to_string(d.spec().replicas());
  const std::string max = std::to_string(d.spec().replicas() + limits.max_surge);
  auto annotate = [&](v1::ObjectMeta& meta) {
    auto& annotations = *meta.mutable_annotations();
    bool changed = false;
    for (const auto& [k, v] : {std::pair{kDesiredReplicasAnnotation, &desired},
                               std::pair{kMaxReplicasAnnotation, &max}}) {
      std::string& value = annotations[std::string(k)];
      changed = changed || value != *v;
      value = *v;
    }
    return changed;
  };
  const int32_t was = rs.spec().replicas();
  v1::ObjectMeta probe = rs.metadata();
  if (was == size && !annotate(probe)) return false;

  bool stale = false;
  const std::string name = rs.metadata().name();  // a copy: `rs` is reassigned below
  auto updated =
      registry_.Modify({"ReplicaSet", rs.metadata().namespace_(), name}, [&](v1::Object& o) {
        v1::ReplicaSet& fresh = *o.mutable_replica_set();
        // Decided on this generation's size.
        if (fresh.metadata().generation() != rs.metadata().generation()) {
          stale = true;
          return false;
        }
        const bool annotated = annotate(*fresh.mutable_metadata());
        if (fresh.spec().replicas() == size && !annotated) {
          return false;
        }
        fresh.mutable_spec()->set_replicas(size);
        return true;
      });
  if (!updated.ok()) {
    if (updated.error().err() == ENOENT) return Error::Sys(ESTALE, "replicaset " + name + " gone");
    return std::move(updated).error().Wrap("scale replicaset " + name);
  }
  if (stale) return Error::Sys(ESTALE, "replicaset " + name + " changed");
  rs = updated->replica_set();
  if (was != size) {
    v1::Object about;
    *about.mutable_deployment() = d;
    events_.Normal(about, "ScalingReplicaSet",
                   std::string("Scaled ") + (size > was ? "up" : "down") + " replica set " + name +
                       " to " + std::to_string(size));
  }
  return true;
}

Status DeploymentController::CleanupHistory(const v1::Deployment& d,
                                            const std::vector<v1::ReplicaSet>& old) {
  if (!d.spec().has_revision_history_limit()) return {};
  std::vector<v1::ReplicaSet> cleanable;
  for (const auto& rs : old) {
    if (!rs.metadata().has_deletion_timestamp()) cleanable.push_back(rs);
  }
  const int64_t excess = static_cast<int64_t>(cleanable.size()) - d.spec().revision_history_limit();
  if (excess <= 0) return {};
  std::stable_sort(cleanable.begin(), cleanable.end(),
                   [](const v1::ReplicaSet& a, const v1::ReplicaSet& b) {
                     return RevisionOf(a.metadata()) < RevisionOf(b.metadata());
                   });
  for (int64_t i = 0; i < excess; ++i) {
    const v1::ReplicaSet& rs = cleanable[i];
    // Only sets that are scaled down and known to be empty.
    if (rs.status().replicas() != 0 || rs.spec().replicas() != 0 ||
        rs.metadata().generation() > rs.status().observed_generation()) {
      continue;
    }
    auto deleted =
        registry_.Delete({"ReplicaSet", rs.metadata().namespace_(), rs.metadata().name()},
                         {.precondition_uid = rs.metadata().uid()});
    if (!deleted.ok() && deleted.error().err() != ENOENT) {
      return std::move(deleted).error().Wrap("delete old replicaset " + rs.metadata().name());
    }
  }
  return {};
}

int64_t DeploymentController::LivePods(const v1::ReplicaSet& rs) const {
  int64_t n = 0;
  for (const auto& o : pods_.ByIndex(kPodsByOwner, rs.metadata().uid())) {
    const std::string& phase = o.pod().status().phase();
    if (phase != "Succeeded" && phase != "Failed") ++n;
  }
  return n;
}

ReplicaSetState DeploymentController::StateOf(const v1::ReplicaSet& rs) const {
  // Pods still terminating or not yet counted occupy the surge; pods a
  // lowered spec.replicas is about to remove are not available any more
  // (the ReplicaSet controller deletes unavailable pods first).
  const int64_t spec = rs.spec().replicas();
  return {rs.metadata().name(), std::max({spec, int64_t{rs.status().replicas()}, LivePods(rs)}),
          std::min(int64_t{rs.status().available_replicas()}, spec)};
}

}  // namespace berth::control
