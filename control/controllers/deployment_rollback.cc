// `kubectl rollout undo` and `kubectl rollout restart` as library calls:
// apps/v1 has no rollback subresource, kubectl rewrites the Deployment's
// template (kubectl/pkg/polymorphichelpers/rollback.go, objectrestarter.go)
// and the controller rolls the change out like any other.
#include <cerrno>

#include <google/protobuf/util/time_util.h>

#include "deployment_util.h"

#include "berth/control/controllers/deployment.h"

namespace berth::control {
namespace {

using namespace deployment_internal;

// The ReplicaSet to roll back to (rollback.go: rsForRevision): revision
// `to_revision`, or for 0 the second highest revision.
Result<v1::ReplicaSet> FindRevision(const std::vector<v1::ReplicaSet>& sets,
                                    const std::string& name, int64_t to_revision) {
  const v1::ReplicaSet* latest = nullptr;
  const v1::ReplicaSet* previous = nullptr;
  int64_t latest_revision = -1, previous_revision = -1;
  for (const auto& rs : sets) {
    const int64_t v = RevisionOf(rs.metadata());
    if (v == 0) continue;
    if (to_revision > 0) {
      if (v == to_revision) return rs;
      continue;
    }
    if (v > latest_revision) {
      previous_revision = latest_revision;
      previous = latest;
      latest_revision = v;
      latest = &rs;
    } else if (v > previous_revision) {
      previous_revision = v;
      previous = &rs;
    }
  }
  if (to_revision > 0) {
    return Error::Sys(
        ENOENT, "unable to find specified revision " + std::to_string(to_revision) + " in history");
  }
  if (previous == nullptr) {
    return Error::Sys(ENOENT, "no rollout history found for deployment \"" + name + "\"");
  }
  return *previous;
}

Result<std::vector<v1::ReplicaSet>> OwnedReplicaSets(Registry& registry, const v1::Deployment& d) {
  BERTH_ASSIGN_OR_RETURN(
      auto list, registry.List({.kind = "ReplicaSet", .namespace_ = d.metadata().namespace_()}));
  std::vector<v1::ReplicaSet> owned;
  for (auto& o : list.items) {
    if (ControlledBy(o.replica_set().metadata(), d.metadata().uid())) {
      owned.push_back(std::move(*o.mutable_replica_set()));
    }
  }
  return owned;
}

}  // namespace

Result<v1::Object> RollbackDeployment(Registry& registry, const std::string& ns,
                                      const std::string& name, int64_t to_revision) {
  const std::string what = "rollback deployment " + ns + "/" + name;
  if (to_revision < 0) return Error::Invalid(what + ": revision must be >= 0");
  auto object = registry.Get({"Deployment", ns, name});
  if (!object.ok()) return std::move(object).error().Wrap(what);
  const v1::Deployment& d = object->deployment();
  if (d.spec().paused()) {
    return Error::Invalid(
        "you cannot rollback a paused deployment; resume it first with "
        "'kubectl rollout resume deployment/" +
        name + "' and try again");
  }
  auto owned = OwnedReplicaSets(registry, d);
  if (!owned.ok()) return std::move(owned).error().Wrap(what);
  auto target = FindRevision(*owned, name, to_revision);
  if (!target.ok()) return std::move(target).error();
  // kubectl: "skipped rollback (current template already matches revision N)".
  if (EqualIgnoreHash(target->spec().template_(), d.spec().template_())) return object;

  v1::PodTemplateSpec tmpl = target->spec().template_();
  tmpl.mutable_metadata()->mutable_labels()->erase(std::string(kPodTemplateHashLabel));
  // The Deployment keeps its own bookkeeping annotations and takes the
  // revision's others (kubectl's annotationsToSkip).
  google::protobuf::Map<std::string, std::string> annotations;
  for (const auto& [k, v] : d.metadata().annotations()) {
    if (SkippedAnnotation(k)) annotations[k] = v;
  }
  for (const auto& [k, v] : target->metadata().annotations()) {
    if (!SkippedAnnotation(k)) annotations[k] = v;
  }
  bool recreated = false;
  auto updated = registry.Modify({"Deployment", ns, name}, [&](v1::Object& o) {
    v1::Deployment& fresh = *o.mutable_deployment();
    recreated = fresh.metadata().uid() != d.metadata().uid();
    if (recreated) return false;
    *fresh.mutable_spec()->mutable_template_() = tmpl;
    *fresh.mutable_metadata()->mutable_annotations() = annotations;
    return true;
  });
  if (!updated.ok()) return std::move(updated).Wrap(what);
  if (recreated) {
    return Error::Sys(ESTALE, what + ": the deployment was deleted and recreated meanwhile");
  }
  return updated;
}

Result<v1::Object> RestartDeployment(Registry& registry, const std::string& ns,
                                     const std::string& name,
                                     std::chrono::system_clock::time_point at) {
  const std::string what = "restart deployment " + ns + "/" + name;
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
  const std::string stamp = google::protobuf::util::TimeUtil::ToString(
      google::protobuf::util::TimeUtil::SecondsToTimestamp(seconds));
  bool paused = false;
  auto updated = registry.Modify({"Deployment", ns, name}, [&](v1::Object& o) {
    v1::Deployment& d = *o.mutable_deployment();
    paused = d.spec().paused();
    if (paused) return false;
    (*d.mutable_spec()->mutable_template_()->mutable_metadata()->mutable_annotations())[std::string(
        kRestartedAtAnnotation)] = stamp;
    return true;
  });
  if (!updated.ok()) return std::move(updated).Wrap(what);
  if (paused) {
    return Error::Invalid("can't restart paused deployment (run rollout resume first)");
  }
  return updated;
}

}  // namespace berth::control
