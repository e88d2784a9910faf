// The pure core of the cluster scheduler: filters, scores, preemption and the
// per-pod decision, in the shape of the Kubernetes scheduler framework.
//
// Ownership: every function takes its inputs by const reference and returns
// values; nothing is retained. Thread-safety: pure functions with no shared
// state, safe to call concurrently on the same inputs.
// Errors: scheduling failures are not errors but outcomes: a filter returns
// the Kubernetes reason text, Schedule() the FailedScheduling message.
// Cost: O(nodes) per pod; per node, filters and scores touch only the
// derived NodeInfo fields unless the pod itself uses anti-affinity.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "berth/control/scheduler/types.h"

namespace berth::control::scheduler {

// ---- Filters: nullopt when the pod fits, else the Kubernetes reason. ----

// "node(s) were not ready".
std::optional<std::string> FilterReady(const PodInfo& pod, const NodeInfo& node);
// "node(s) were unschedulable", unless the pod tolerates the
// node.kubernetes.io/unschedulable:NoSchedule taint (as DaemonSets do).
std::optional<std::string> FilterUnschedulable(const PodInfo& pod, const NodeInfo& node);
// nodeSelector and required node affinity:
// "node(s) didn't match Pod's node affinity/selector".
std::optional<std::string> FilterNodeAffinity(const PodInfo& pod, const NodeInfo& node);
// NoSchedule and NoExecute taints must be tolerated:
// "node(s) had untolerated taint {key: value}" for the first one that is not.
std::optional<std::string> FilterTaints(const PodInfo& pod, const NodeInfo& node);
// "node(s) didn't have free ports for the requested pod ports".
std::optional<std::string> FilterHostPorts(const PodInfo& pod, const NodeInfo& node);
// "Too many pods", "Insufficient cpu", "Insufficient memory" (checked in that
// order, like NodeResourcesFit). A zero request always fits.
std::optional<std::string> FilterResources(const PodInfo& pod, const NodeInfo& node);
// The pod's anti-affinity against placed pods, and placed pods'
// anti-affinity against the pod (Kubernetes checks both directions):
// "node(s) didn't match pod anti-affinity rules" and
// "node(s) didn't satisfy existing pods anti-affinity rules".
std::optional<std::string> FilterAntiAffinity(const PodInfo& pod, const NodeInfo& node);

// Runs every filter in the order above and returns the first failure.
std::optional<std::string> RunFilters(const PodInfo& pod, const NodeInfo& node);
// True when every filter but FilterResources passes and FilterResources
// fails: the node could take the pod if some placed pods were evicted.
bool FailsOnlyOnResources(const PodInfo& pod, const NodeInfo& node);

// Matching helpers, exposed for tests and for the control service.
bool Tolerates(const Toleration& toleration, const Taint& taint);
bool ToleratesAll(const std::vector<Toleration>& tolerations, const Taint& taint);
bool MatchesRequirement(const NodeSelectorRequirement& req, const Labels& labels);
// matchLabels semantics: every selector entry is present in `labels`.
bool MatchesLabels(const Labels& selector, const Labels& labels);

// ---- Scores: each component is 0..100, higher is better. ----

enum class ScorePolicy {
  // LeastAllocated: (cpu free fraction + memory free fraction) / 2.
  kSpread,
  // MostAllocated: (cpu used fraction + memory used fraction) / 2.
  kPack,
  // BalancedAllocation: 1 - |cpu used fraction - memory used fraction|.
  kBalanced,
};

// The policy score computed as if the pod were placed on the node. A
// resource with zero allocatable counts as fully used.
int64_t ResourceScore(const PodInfo& pod, const NodeInfo& node, ScorePolicy policy);
// Same-owner pods already on the node (0 when the pod has no owner).
int32_t OwnerPodCount(const PodInfo& pod, const NodeInfo& node);
// PreferNoSchedule taints on the node that the pod does not tolerate.
int32_t UntoleratedPreferNoSchedule(const PodInfo& pod, const NodeInfo& node);

// Weights of the components in the total score. Owner spreading weighs as
// much as the resource policy so replicas spread even under kPack (as the
// default Kubernetes profile does with SelectorSpread + PodTopologySpread);
// PreferNoSchedule is a soft preference, half as strong.
inline constexpr int64_t kResourceWeight = 2;
inline constexpr int64_t kOwnerSpreadWeight = 2;
inline constexpr int64_t kTaintPreferenceWeight = 1;

// Total scores for feasible nodes, in input order: the weighted sum of the
// resource score, the owner spread score 100 * (max - count) / max and the
// taint score 100 * (max - count) / max, where max is taken over `feasible`
// (the normalisation Kubernetes applies to these plugins).
std::vector<int64_t> ScoreNodes(const PodInfo& pod, const std::vector<const NodeInfo*>& feasible,
                                ScorePolicy policy);

// ---- Preemption ----

struct Preemption {
  const NodeInfo* node = nullptr;
  std::vector<PodInfo> victims;
};

// When no node fits, finds where the pod could run after evicting placed pods
// of strictly lower priority. Only nodes that fail on resources alone are
// candidates: evicting never helps with taints, selectors or readiness, and
// removing pods cannot make the other filters fail.
// Per node, victims are chosen greedily, lowest priority first and then
// largest requests first, until the pod fits; then each victim is reprieved,
// highest priority and smallest first, if the pod still fits without
// evicting it. The set is minimal (no victim can be spared), not guaranteed
// minimum: that would be a knapsack problem.
// The node needing the fewest victims wins, then the lowest highest victim
// priority, then the name. nullopt when no node qualifies, and while the
// node the pod was nominated for still holds lower-priority pods that are
// terminating: the room it preempted for is coming, and preempting again
// elsewhere would evict a second set of pods (Kubernetes'
// PodEligibleToPreemptOthers).
std::optional<Preemption> FindPreemption(const PodInfo& pod, const std::vector<NodeInfo>& nodes);

// ---- Decision ----

struct Decision {
  // The chosen node. With victims, this is only a nomination: the caller
  // evicts the victims and schedules the pod again once they are gone.
  std::optional<std::string> node;
  // Empty when a node fits; otherwise the FailedScheduling message, e.g.
  // "0/3 nodes are available: 2 Insufficient memory, 1 node(s) had
  // untolerated taint {dedicated: gpu}." (also when preemption nominates).
  std::string message;
  std::vector<PodInfo> victims;
};

// Filters every node, picks the highest total score (ties go to the smallest
// name), or, when nothing fits, reports why and tries preemption.
Decision Schedule(const PodInfo& pod, const std::vector<NodeInfo>& nodes, ScorePolicy policy);

// Large clusters, as kube-scheduler does it: filtering starts at `start`
// (wrapping around) and stops once `feasible_to_find` nodes fit; only
// those are scored. `next_start` is where the following pod should start,
// so every node gets its turn. With no fitting node every node was tried
// and the message and preemption are those of Schedule().
struct Sampling {
  size_t start = 0;
  size_t feasible_to_find = 0;  // 0: all nodes
};
Decision Schedule(const PodInfo& pod, const std::vector<NodeInfo>& nodes, ScorePolicy policy,
                  const Sampling& sampling, size_t* next_start);
// kube-scheduler's default: all nodes up to 100; otherwise a percentage
// falling from 50% by 1% per 125 nodes to at least 5%, and at least 100.
size_t FeasibleNodesToFind(size_t nodes);

// The FailedScheduling message for per-node failure reasons: each node
// counted once under its first failing reason, reasons sorted by count
// descending, then by text.
std::string FailureMessage(size_t total_nodes, const std::vector<std::string>& reasons);

}  // namespace berth::control::scheduler
