// Deployment rollout arithmetic, as Kubernetes' deployment controller does
// it (pkg/controller/deployment/rolling.go, recreate.go): one step of a
// RollingUpdate or Recreate given the replica sets' current sizes and
// available counts, plus maxSurge/maxUnavailable resolution and the
// pod-template-hash that names a revision's ReplicaSet. Pure functions on
// plain values; thread-safe. Errors: EINVAL naming the bad field.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/error.h"

namespace berth::control {

// "25%" or 1 (maxSurge, maxUnavailable).
struct IntOrPercent {
  int64_t value = 0;
  bool percent = false;
  static Result<IntOrPercent> Parse(std::string_view text, std::string_view field);
};

// Percentages of `total`, maxSurge rounded up and maxUnavailable down; both
// zero is refused by validation, and treated as maxUnavailable 1 here.
struct RollingLimits {
  int64_t max_surge = 0;
  int64_t max_unavailable = 0;
};
Result<RollingLimits> ResolveLimits(const IntOrPercent& surge, const IntOrPercent& unavailable,
                                    int64_t replicas);

struct ReplicaSetState {
  std::string name;
  int64_t replicas = 0;   // spec.replicas
  int64_t available = 0;  // ready for minReadySeconds
};

// Target spec.replicas per ReplicaSet after one reconcile.
struct RolloutStep {
  int64_t new_replicas = 0;
  std::map<std::string, int64_t> old_replicas;
  bool done = false;  // the new set has every replica available and no old pods remain
};

// `old` oldest first. One RollingUpdate step: scale the new set up within
// replicas + maxSurge, and old sets down while at least replicas -
// maxUnavailable pods stay available (unavailable old pods go first).
RolloutStep RollingUpdateStep(int64_t replicas, const RollingLimits& limits,
                              const ReplicaSetState& new_rs,
                              const std::vector<ReplicaSetState>& old);
// Recreate: every old pod goes first, then the new set is scaled up.
RolloutStep RecreateStep(int64_t replicas, const ReplicaSetState& new_rs,
                         const std::vector<ReplicaSetState>& old);

// The pod-template-hash label: FNV-32a of the template's canonical text
// (and the collision count), encoded with Kubernetes' safe alphabet.
std::string PodTemplateHash(std::string_view canonical_template, int32_t collision_count = 0);

}  // namespace berth::control
