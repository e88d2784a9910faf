// Scores: how much a feasible node is preferred, as Kubernetes' score
// plugins do (NodeResourcesFit strategies, SelectorSpread, TaintToleration).
#include <algorithm>
#include <cmath>

#include "berth/control/scheduler/scheduler.h"

namespace berth::control::scheduler {
namespace {

constexpr int64_t kMaxScore = 100;

// Used fraction after placing `request`; a resource the node does not offer
// counts as full so it never attracts pods.
double UsedFraction(int64_t requested, int64_t request, int64_t allocatable) {
  if (allocatable <= 0) return 1.0;
  return std::min(1.0, static_cast<double>(requested + request) / static_cast<double>(allocatable));
}

// 100 * (max - count) / max: fewest occurrences score highest.
int64_t InverseNormalized(int64_t count, int64_t max) {
  if (max <= 0) return kMaxScore;
  return kMaxScore * (max - count) / max;
}

}  // namespace

int64_t ResourceScore(const PodInfo& pod, const NodeInfo& node, ScorePolicy policy) {
  const double cpu =
      UsedFraction(node.requested.cpu_milli, pod.requests.cpu_milli, node.allocatable.cpu_milli);
  const double mem = UsedFraction(node.requested.memory_bytes, pod.requests.memory_bytes,
                                  node.allocatable.memory_bytes);
  double score = 0;
  switch (policy) {
    case ScorePolicy::kSpread:
      score = ((1.0 - cpu) + (1.0 - mem)) / 2.0;
      break;
    case ScorePolicy::kPack:
      score = (cpu + mem) / 2.0;
      break;
    case ScorePolicy::kBalanced:
      score = 1.0 - std::abs(cpu - mem);
      break;
  }
  // Rounded, not truncated, so 0.3 (stored as 0.2999...) scores 30.
  return std::llround(score * static_cast<double>(kMaxScore));
}

int32_t OwnerPodCount(const PodInfo& pod, const NodeInfo& node) {
  if (pod.owner_uid.empty()) return 0;
  auto it = node.pods_per_owner.find(pod.owner_uid);
  return it == node.pods_per_owner.end() ? 0 : it->second;
}

int32_t UntoleratedPreferNoSchedule(const PodInfo& pod, const NodeInfo& node) {
  int32_t count = 0;
  for (const Taint& taint : node.taints) {
    if (taint.effect == TaintEffect::kPreferNoSchedule && !ToleratesAll(pod.tolerations, taint)) {
      ++count;
    }
  }
  return count;
}

std::vector<int64_t> ScoreNodes(const PodInfo& pod, const std::vector<const NodeInfo*>& feasible,
                                ScorePolicy policy) {
  struct Raw {
    int64_t resource;
    int32_t owner_pods;
    int32_t prefer_taints;
  };
  std::vector<Raw> raw;
  raw.reserve(feasible.size());
  int32_t max_owner = 0;
  int32_t max_taints = 0;
  for (const NodeInfo* node : feasible) {
    Raw r{ResourceScore(pod, *node, policy), OwnerPodCount(pod, *node),
          UntoleratedPreferNoSchedule(pod, *node)};
    max_owner = std::max(max_owner, r.owner_pods);
    max_taints = std::max(max_taints, r.prefer_taints);
    raw.push_back(r);
  }
  std::vector<int64_t> totals;
  totals.reserve(raw.size());
  for (const Raw& r : raw) {
    totals.push_back(kResourceWeight * r.resource +
                     kOwnerSpreadWeight * InverseNormalized(r.owner_pods, max_owner) +
                     kTaintPreferenceWeight * InverseNormalized(r.prefer_taints, max_taints));
  }
  return totals;
}

}  // namespace berth::control::scheduler
