// Plain value types the scheduler decides on: nodes, pods and their
// constraints, mirroring the Kubernetes fields the scheduler reads. The
// control service maps its API objects onto these; nothing here knows protos.
//
// Ownership: plain values, no pointers. Thread-safety: like any value type,
// safe to read concurrently, not to mutate concurrently.
// Errors: RemovePod returns ENOENT when the pod is not placed on the node.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "berth/common/error.h"

namespace berth::control::scheduler {

struct Resources {
  int64_t cpu_milli = 0;
  int64_t memory_bytes = 0;
  int64_t pods = 0;

  Resources& operator+=(const Resources& o) {
    cpu_milli += o.cpu_milli;
    memory_bytes += o.memory_bytes;
    pods += o.pods;
    return *this;
  }
  Resources& operator-=(const Resources& o) {
    cpu_milli -= o.cpu_milli;
    memory_bytes -= o.memory_bytes;
    pods -= o.pods;
    return *this;
  }
  friend bool operator==(const Resources&, const Resources&) = default;
};

enum class TaintEffect { kNoSchedule, kPreferNoSchedule, kNoExecute };

struct Taint {
  std::string key;
  std::string value;
  TaintEffect effect = TaintEffect::kNoSchedule;
};

enum class TolerationOperator { kEqual, kExists };

struct Toleration {
  // Empty key with kExists tolerates every taint (Kubernetes semantics).
  std::string key;
  TolerationOperator op = TolerationOperator::kEqual;
  std::string value;
  // nullopt tolerates every effect.
  std::optional<TaintEffect> effect;
};

enum class SelectorOperator { kIn, kNotIn, kExists, kDoesNotExist, kGt, kLt };

// One node affinity requirement. Gt/Lt take exactly one integer value and
// compare it with the node label parsed as an integer; NotIn and DoesNotExist
// match nodes without the label (as in Kubernetes).
struct NodeSelectorRequirement {
  std::string key;
  SelectorOperator op = SelectorOperator::kIn;
  std::vector<std::string> values;
};

// A term matches when all its requirements match; an empty term matches no
// node (Kubernetes: "an empty term matches no objects").
using NodeSelectorTerm = std::vector<NodeSelectorRequirement>;

struct HostPort {
  int32_t port = 0;
  // Empty means "TCP", the Kubernetes default.
  std::string protocol;
};

using Labels = std::map<std::string, std::string>;

struct PodInfo {
  std::string namespace_;
  std::string name;
  std::string uid;
  // uid of the controlling owner (ReplicaSet, ...); empty = no spreading.
  std::string owner_uid;
  int32_t priority = 0;
  // requests.pods is ignored: every pod counts as one (see EffectiveRequests).
  Resources requests;
  Labels node_selector;
  // Required node affinity: the terms are ORed; empty = no constraint.
  std::vector<NodeSelectorTerm> required_node_affinity;
  std::vector<Toleration> tolerations;
  std::vector<HostPort> host_ports;
  // Required pod anti-affinity with topologyKey kubernetes.io/hostname and a
  // matchLabels selector over pods of the same namespace. Empty = none (unlike
  // an empty LabelSelector in Kubernetes, which would match every pod).
  Labels anti_affinity_hostname_labels;
  Labels labels;
  // Being deleted (deletionTimestamp set): still occupies its node.
  bool terminating = false;
  // status.nominatedNodeName: where an earlier preemption made room for it.
  std::string nominated_node;
};

// What the pod consumes on a node: its requests plus one pod slot.
Resources EffectiveRequests(const PodInfo& pod);

struct NodeInfo {
  std::string name;
  Labels labels;
  Resources allocatable;
  std::vector<Taint> taints;
  bool unschedulable = false;
  bool ready = true;
  // Pods already bound to this node.
  std::vector<PodInfo> placed;

  // Derived from `placed`, kept in step by AddPod/RemovePod (or rebuilt by
  // RecomputeDerived) so that filtering and scoring one pod costs O(1) per
  // node instead of O(placed pods): the scheduler runs 5,000 nodes x 50,000
  // pods.
  Resources requested;
  std::unordered_map<std::string, int32_t> pods_per_owner;
  std::vector<HostPort> used_host_ports;
  // Placed pods carrying anti-affinity; when 0 the symmetric check is skipped.
  int32_t anti_affinity_pods = 0;
};

// Places `pod` on `node` and updates the derived fields.
void AddPod(NodeInfo& node, PodInfo pod);
// Removes the pod with `uid` from `node`; ENOENT when it is not there.
Status RemovePod(NodeInfo& node, std::string_view uid);
// Rebuilds the derived fields from `placed` (for callers that fill `placed`
// directly).
void RecomputeDerived(NodeInfo& node);

}  // namespace berth::control::scheduler
