// Preemption: which lower-priority pods to evict so a pending pod can run.
// Mirrors Kubernetes' DefaultPreemption in spirit (strictly lower priority
// only, reprieve as many as possible), with the node choice the brief asks:
// fewest victims first.
#include <algorithm>

#include "berth/control/scheduler/scheduler.h"

namespace berth::control::scheduler {
namespace {

bool Fits(const Resources& need, const Resources& used, const Resources& alloc) {
  if (used.pods + need.pods > alloc.pods) return false;
  if (need.cpu_milli > 0 && used.cpu_milli + need.cpu_milli > alloc.cpu_milli) return false;
  if (need.memory_bytes > 0 && used.memory_bytes + need.memory_bytes > alloc.memory_bytes) {
    return false;
  }
  return true;
}

// Eviction preference: lowest priority, then largest memory, then largest
// cpu, then uid so equal pods are chosen deterministically.
bool EvictBefore(const PodInfo* a, const PodInfo* b) {
  if (a->priority != b->priority) return a->priority < b->priority;
  if (a->requests.memory_bytes != b->requests.memory_bytes) {
    return a->requests.memory_bytes > b->requests.memory_bytes;
  }
  if (a->requests.cpu_milli != b->requests.cpu_milli) {
    return a->requests.cpu_milli > b->requests.cpu_milli;
  }
  return a->uid < b->uid;
}

// The victims on one node, or nullopt when evicting every lower-priority pod
// still would not make room.
std::optional<std::vector<const PodInfo*>> VictimsOn(const PodInfo& pod, const NodeInfo& node) {
  std::vector<const PodInfo*> candidates;
  for (const PodInfo& placed : node.placed) {
    if (placed.priority < pod.priority) candidates.push_back(&placed);
  }
  std::sort(candidates.begin(), candidates.end(), EvictBefore);

  const Resources need = EffectiveRequests(pod);
  Resources used = node.requested;
  std::vector<const PodInfo*> victims;
  for (const PodInfo* c : candidates) {
    if (Fits(need, used, node.allocatable)) break;
    used -= EffectiveRequests(*c);
    victims.push_back(c);
  }
  if (!Fits(need, used, node.allocatable)) return std::nullopt;

  // Reprieve: give back the most valuable victims first while the pod still
  // fits, so a large early victim can spare several small later ones.
  std::vector<const PodInfo*> kept;
  for (auto it = victims.rbegin(); it != victims.rend(); ++it) {
    Resources with = used;
    with += EffectiveRequests(**it);
    if (Fits(need, with, node.allocatable)) {
      used = with;
    } else {
      kept.push_back(*it);
    }
  }
  std::sort(kept.begin(), kept.end(), EvictBefore);
  return kept;
}

// A lower-priority pod on the nominated node is still terminating: an
// earlier preemption for this pod is under way.
bool AwaitingEarlierPreemption(const PodInfo& pod, const std::vector<NodeInfo>& nodes) {
  if (pod.nominated_node.empty()) return false;
  for (const NodeInfo& node : nodes) {
    if (node.name != pod.nominated_node) continue;
    return std::any_of(node.placed.begin(), node.placed.end(), [&](const PodInfo& placed) {
      return placed.terminating && placed.priority < pod.priority;
    });
  }
  return false;
}

}  // namespace

std::optional<Preemption> FindPreemption(const PodInfo& pod, const std::vector<NodeInfo>& nodes) {
  if (AwaitingEarlierPreemption(pod, nodes)) return std::nullopt;
  const NodeInfo* best = nullptr;
  std::vector<const PodInfo*> best_victims;
  int32_t best_max_priority = 0;
  for (const NodeInfo& node : nodes) {
    if (!FailsOnlyOnResources(pod, node)) continue;
    std::optional<std::vector<const PodInfo*>> victims = VictimsOn(pod, node);
    if (!victims || victims->empty()) continue;
    int32_t max_priority = victims->front()->priority;
    for (const PodInfo* v : *victims) max_priority = std::max(max_priority, v->priority);
    const bool better = best == nullptr || victims->size() < best_victims.size() ||
                        (victims->size() == best_victims.size() &&
                         (max_priority < best_max_priority ||
                          (max_priority == best_max_priority && node.name < best->name)));
    if (better) {
      best = &node;
      best_victims = std::move(*victims);
      best_max_priority = max_priority;
    }
  }
  if (best == nullptr) return std::nullopt;
  Preemption out{best, {}};
  out.victims.reserve(best_victims.size());
  for (const PodInfo* v : best_victims) out.victims.push_back(*v);
  return out;
}

}  // namespace berth::control::scheduler
