// The Deployment controller's strategies (Kubernetes' rolling.go and
// recreate.go, with the arithmetic of rollout.h) and its scaling of a
// paused or resized Deployment (sync.go: sync, scale).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

#include <google/protobuf/util/time_util.h>

#include "deployment_util.h"

#include "berth/control/controllers/deployment.h"

namespace berth::control {
namespace {

using namespace deployment_internal;
using google::protobuf::util::TimeUtil;

// An integer annotation; nullopt when missing or malformed.
std::optional<int64_t> IntAnnotation(const v1::ObjectMeta& meta, std::string_view key) {
  auto it = meta.annotations().find(std::string(key));
  if (it == meta.annotations().end()) return std::nullopt;
  int64_t v = 0;
  const std::string& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The replicas `rs` gains (or loses, negative) when the Deployment goes
// from the max-replicas it was sized for to its current replicas + maxSurge
// (deploymentutil.getReplicaSetFraction).
int64_t Fraction(const v1::ReplicaSet& rs, const v1::Deployment& d, int64_t max_surge) {
  const int64_t size = rs.spec().replicas();
  if (d.spec().replicas() == 0) return -size;
  const int64_t max_now = d.spec().replicas() + max_surge;
  int64_t before = IntAnnotation(rs.metadata(), kMaxReplicasAnnotation).value_or(0);
  // Someone edited the annotation away: the Deployment's current size is
  // the best estimate (and getProportion's bounds keep the total right).
  if (before == 0) before = d.status().replicas();
  if (before == 0) return 0;
  const double scaled = static_cast<double>(size * max_now) / static_cast<double>(before);
  return static_cast<int64_t>(std::llround(scaled)) - size;
}

// getProportion: the fraction, bounded by what is left to distribute.
int64_t Proportion(const v1::ReplicaSet& rs, const v1::Deployment& d, int64_t max_surge,
                   int64_t to_add, int64_t added) {
  if (rs.spec().replicas() == 0 || to_add == 0 || to_add == added) return 0;
  const int64_t fraction = Fraction(rs, d, max_surge);
  const int64_t allowed = to_add - added;
  return to_add > 0 ? std::min(fraction, allowed) : std::max(fraction, allowed);
}

int64_t CreatedNanos(const v1::ReplicaSet& rs) {
  return TimeUtil::TimestampToNanoseconds(rs.metadata().creation_timestamp());
}

}  // namespace

bool DeploymentController::IsScalingEvent(const v1::Deployment& d, const Revisions& revisions) {
  auto sized_otherwise = [&](const v1::ReplicaSet& rs) {
    if (!IsActive(rs)) return false;
    auto desired = IntAnnotation(rs.metadata(), kDesiredReplicasAnnotation);
    return desired && *desired != d.spec().replicas();
  };
  if (revisions.current && sized_otherwise(*revisions.current)) return true;
  return std::any_of(revisions.old.begin(), revisions.old.end(), sized_otherwise);
}

Status DeploymentController::RolloutRolling(v1::Deployment& d, Revisions& revisions) {
  BERTH_ASSIGN_OR_RETURN(RollingLimits limits, LimitsOf(d));
  const int64_t replicas = d.spec().replicas();
  std::vector<ReplicaSetState> old;
  old.reserve(revisions.old.size());
  for (const auto& rs : revisions.old) old.push_back(StateOf(rs));

  if (!revisions.current) {
    // Created at the size the first step would give it (NewRSNewReplicas).
    const RolloutStep first = RollingUpdateStep(replicas, limits, {}, old);
    BERTH_TRY(CreateCurrent(d, revisions, static_cast<int32_t>(first.new_replicas)));
  }
  v1::ReplicaSet& current = *revisions.current;
  const ReplicaSetState now = StateOf(current);
  const RolloutStep step = RollingUpdateStep(replicas, limits, now, old);

  // Both halves of the step are safe together: the scale-up is bounded by
  // the pods before the scale-down, the scale-down by the pods available
  // before the scale-up. The new set goes first, as rolling.go does.
  if (step.new_replicas != now.replicas) {
    BERTH_TRY(StatusOf(ScaleReplicaSet(current, static_cast<int32_t>(step.new_replicas), d)));
  }
  for (auto& rs : revisions.old) {
    auto it = step.old_replicas.find(rs.metadata().name());
    if (it == step.old_replicas.end()) continue;
    // Never above spec.replicas: the state counted pods still terminating.
    const int64_t target = std::min<int64_t>(it->second, rs.spec().replicas());
    if (target != rs.spec().replicas()) {
      BERTH_TRY(StatusOf(ScaleReplicaSet(rs, static_cast<int32_t>(target), d)));
    }
  }
  if (DeploymentComplete(d, d.status())) BERTH_TRY(CleanupHistory(d, revisions.old));
  return SyncRolloutStatus(d, revisions);
}

Status DeploymentController::RolloutRecreate(v1::Deployment& d, Revisions& revisions) {
  const int64_t replicas = d.spec().replicas();
  std::vector<ReplicaSetState> old;
  old.reserve(revisions.old.size());
  for (const auto& rs : revisions.old) old.push_back(StateOf(rs));
  const ReplicaSetState now = revisions.current ? StateOf(*revisions.current) : ReplicaSetState{};
  const RolloutStep step = RecreateStep(replicas, now, old);

  // Every old pod goes first; the new set is created only once they are
  // gone (recreate.go: scaleDownOldReplicaSetsForRecreate, oldPodsRunning).
  bool scaled_down = false;
  for (auto& rs : revisions.old) {
    const auto it = step.old_replicas.find(rs.metadata().name());
    const int64_t target = it == step.old_replicas.end() ? 0 : it->second;
    if (rs.spec().replicas() == target) continue;
    BERTH_ASSIGN_OR_RETURN(bool scaled, ScaleReplicaSet(rs, static_cast<int32_t>(target), d));
    scaled_down = scaled_down || scaled;
  }
  const bool old_pods =
      std::any_of(old.begin(), old.end(), [](const ReplicaSetState& s) { return s.replicas > 0; });
  if (scaled_down || old_pods) return SyncRolloutStatus(d, revisions);

  if (!revisions.current) {
    BERTH_TRY(CreateCurrent(d, revisions, static_cast<int32_t>(step.new_replicas)));
  } else if (step.new_replicas != revisions.current->spec().replicas()) {
    BERTH_TRY(
        StatusOf(ScaleReplicaSet(*revisions.current, static_cast<int32_t>(step.new_replicas), d)));
  }
  if (DeploymentComplete(d, d.status())) BERTH_TRY(CleanupHistory(d, revisions.old));
  return SyncRolloutStatus(d, revisions);
}

Status DeploymentController::SyncScaling(v1::Deployment& d, Revisions& revisions) {
  BERTH_TRY(Scale(d, revisions));
  // A paused Deployment still trims its history (no rollout will).
  if (d.spec().paused()) BERTH_TRY(CleanupHistory(d, revisions.old));
  return SyncStatus(d, revisions);
}

Status DeploymentController::Scale(const v1::Deployment& d, Revisions& revisions) {
  const int32_t replicas = d.spec().replicas();
  std::vector<v1::ReplicaSet*> active;
  for (auto& rs : revisions.old) {
    if (IsActive(rs)) active.push_back(&rs);
  }
  if (revisions.current && IsActive(*revisions.current)) active.push_back(&*revisions.current);

  // One active set (or none: the newest) takes the whole size
  // (FindActiveOrLatest).
  if (active.size() <= 1) {
    v1::ReplicaSet* target = nullptr;
    if (!active.empty()) {
      target = active.front();
    } else if (revisions.current) {
      target = &*revisions.current;
    } else if (!revisions.old.empty()) {
      target = &*std::max_element(
          revisions.old.begin(), revisions.old.end(),
          [](const auto& a, const auto& b) { return CreatedNanos(a) < CreatedNanos(b); });
    }
    if (target == nullptr) return {};
    return StatusOf(ScaleReplicaSet(*target, replicas, d));
  }

  // The new set is saturated: the old ones are leftovers (adopted).
  if (revisions.current) {
    const v1::ReplicaSet& cur = *revisions.current;
    if (cur.spec().replicas() == replicas &&
        IntAnnotation(cur.metadata(), kDesiredReplicasAnnotation) == replicas &&
        cur.status().available_replicas() == replicas) {
      for (auto& rs : revisions.old) {
        if (IsActive(rs)) BERTH_TRY(StatusOf(ScaleReplicaSet(rs, 0, d)));
      }
      return {};
    }
  }
  // Mid-rollout: spread the change over the active sets in proportion to
  // their sizes, so that neither version gains weight by a resize. A
  // Recreate rollout is left to its next step.
  if (d.spec().strategy().type() != "RollingUpdate") return {};
  BERTH_ASSIGN_OR_RETURN(RollingLimits limits, LimitsOf(d));
  int64_t total = 0;
  for (const auto* rs : active) total += rs->spec().replicas();
  const int64_t allowed = replicas > 0 ? replicas + limits.max_surge : 0;
  const int64_t to_add = allowed - total;
  // Largest first; among equals, newer first when growing and older first
  // when shrinking (ReplicaSetsBySizeNewer / BySizeOlder).
  std::stable_sort(active.begin(), active.end(), [&](const auto* a, const auto* b) {
    if (a->spec().replicas() != b->spec().replicas()) {
      return a->spec().replicas() > b->spec().replicas();
    }
    return to_add > 0 ? CreatedNanos(*a) > CreatedNanos(*b) : CreatedNanos(*a) < CreatedNanos(*b);
  });
  std::vector<int64_t> sizes;
  int64_t added = 0;
  for (const auto* rs : active) {
    const int64_t p = Proportion(*rs, d, limits.max_surge, to_add, added);
    sizes.push_back(rs->spec().replicas() + p);
    added += p;
  }
  // The rounding leftover goes to the largest set.
  if (to_add != 0) sizes[0] = std::max<int64_t>(0, sizes[0] + to_add - added);
  for (size_t i = 0; i < active.size(); ++i) {
    BERTH_TRY(StatusOf(ScaleReplicaSet(*active[i], static_cast<int32_t>(sizes[i]), d)));
  }
  return {};
}

}  // namespace berth::control
