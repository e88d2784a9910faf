// Filters: whether a pod may run on a node, with Kubernetes' reason texts so
// FailedScheduling events read the same as upstream.
#include <charconv>
#include <string_view>

#include "berth/control/scheduler/scheduler.h"

namespace berth::control::scheduler {
namespace {

// The taint the node lifecycle controller puts on cordoned nodes; tolerating
// it lets a pod ignore `unschedulable` (see NodeUnschedulable plugin).
constexpr std::string_view kUnschedulableTaintKey = "node.kubernetes.io/unschedulable";

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end || s.empty()) return std::nullopt;
  return v;
}

bool MatchesTerm(const NodeSelectorTerm& term, const Labels& labels) {
  if (term.empty()) return false;
  for (const NodeSelectorRequirement& req : term) {
    if (!MatchesRequirement(req, labels)) return false;
  }
  return true;
}

// Empty means TCP, the Kubernetes default.
std::string_view Protocol(const HostPort& hp) {
  return hp.protocol.empty() ? std::string_view("TCP") : std::string_view(hp.protocol);
}

}  // namespace

bool Tolerates(const Toleration& t, const Taint& taint) {
  if (t.effect.has_value() && *t.effect != taint.effect) return false;
  if (t.op == TolerationOperator::kExists) return t.key.empty() || t.key == taint.key;
  return t.key == taint.key && t.value == taint.value;
}

bool ToleratesAll(const std::vector<Toleration>& tolerations, const Taint& taint) {
  for (const Toleration& t : tolerations) {
    if (Tolerates(t, taint)) return true;
  }
  return false;
}

bool MatchesRequirement(const NodeSelectorRequirement& req, const Labels& labels) {
  auto it = labels.find(req.key);
  const bool present = it != labels.end();
  auto in_values = [&] {
    for (const std::string& v : req.values) {
      if (v == it->second) return true;
    }
    return false;
  };
  switch (req.op) {
    case SelectorOperator::kIn:
      return present && in_values();
    case SelectorOperator::kNotIn:
      return !present || !in_values();
    case SelectorOperator::kExists:
      return present;
    case SelectorOperator::kDoesNotExist:
      return !present;
    case SelectorOperator::kGt:
    case SelectorOperator::kLt: {
      // Kubernetes requires exactly one integer value; anything else never
      // matches rather than failing the whole pod.
      if (!present || req.values.size() != 1) return false;
      std::optional<int64_t> node_value = ParseInt(it->second);
      std::optional<int64_t> bound = ParseInt(req.values[0]);
      if (!node_value || !bound) return false;
      return req.op == SelectorOperator::kGt ? *node_value > *bound : *node_value < *bound;
    }
  }
  return false;
}

bool MatchesLabels(const Labels& selector, const Labels& labels) {
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

std::optional<std::string> FilterReady(const PodInfo& /*pod*/, const NodeInfo& node) {
  if (node.ready) return std::nullopt;
  return "node(s) were not ready";
}

std::optional<std::string> FilterUnschedulable(const PodInfo& pod, const NodeInfo& node) {
  if (!node.unschedulable) return std::nullopt;
  const Taint cordon{std::string(kUnschedulableTaintKey), "", TaintEffect::kNoSchedule};
  if (ToleratesAll(pod.tolerations, cordon)) return std::nullopt;
  return "node(s) were unschedulable";
}

std::optional<std::string> FilterNodeAffinity(const PodInfo& pod, const NodeInfo& node) {
  static constexpr const char* kReason = "node(s) didn't match Pod's node affinity/selector";
  if (!MatchesLabels(pod.node_selector, node.labels)) return kReason;
  if (pod.required_node_affinity.empty()) return std::nullopt;
  for (const NodeSelectorTerm& term : pod.required_node_affinity) {
    if (MatchesTerm(term, node.labels)) return std::nullopt;
  }
  return kReason;
}

std::optional<std::string> FilterTaints(const PodInfo& pod, const NodeInfo& node) {
  for (const Taint& taint : node.taints) {
    if (taint.effect == TaintEffect::kPreferNoSchedule) continue;
    if (ToleratesAll(pod.tolerations, taint)) continue;
    return "node(s) had untolerated taint {" + taint.key + ": " + taint.value + "}";
  }
  return std::nullopt;
}

std::optional<std::string> FilterHostPorts(const PodInfo& pod, const NodeInfo& node) {
  for (const HostPort& want : pod.host_ports) {
    if (want.port == 0) continue;
    for (const HostPort& used : node.used_host_ports) {
      if (used.port == want.port && Protocol(used) == Protocol(want)) {
        return "node(s) didn't have free ports for the requested pod ports";
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> FilterResources(const PodInfo& pod, const NodeInfo& node) {
  const Resources& alloc = node.allocatable;
  const Resources& used = node.requested;
  if (used.pods + 1 > alloc.pods) return "Too many pods";
  const Resources& req = pod.requests;
  if (req.cpu_milli > 0 && req.cpu_milli > alloc.cpu_milli - used.cpu_milli) {
    return "Insufficient cpu";
  }
  if (req.memory_bytes > 0 && req.memory_bytes > alloc.memory_bytes - used.memory_bytes) {
    return "Insufficient memory";
  }
  return std::nullopt;
}

std::optional<std::string> FilterAntiAffinity(const PodInfo& pod, const NodeInfo& node) {
  if (!pod.anti_affinity_hostname_labels.empty()) {
    for (const PodInfo& other : node.placed) {
      if (other.namespace_ == pod.namespace_ &&
          MatchesLabels(pod.anti_affinity_hostname_labels, other.labels)) {
        return "node(s) didn't match pod anti-affinity rules";
      }
    }
  }
  if (node.anti_affinity_pods > 0) {
    for (const PodInfo& other : node.placed) {
      if (!other.anti_affinity_hostname_labels.empty() && other.namespace_ == pod.namespace_ &&
          MatchesLabels(other.anti_affinity_hostname_labels, pod.labels)) {
        return "node(s) didn't satisfy existing pods anti-affinity rules";
      }
    }
  }
  return std::nullopt;
}

namespace {

using Filter = std::optional<std::string> (*)(const PodInfo&, const NodeInfo&);

// Cheap, node-level checks first so most rejections cost nothing; resources
// before anti-affinity because the latter may scan placed pods.
constexpr Filter kNonResourceFilters[] = {FilterReady, FilterUnschedulable, FilterNodeAffinity,
                                          FilterTaints, FilterHostPorts};

}  // namespace

std::optional<std::string> RunFilters(const PodInfo& pod, const NodeInfo& node) {
  for (Filter f : kNonResourceFilters) {
    if (auto reason = f(pod, node)) return reason;
  }
  if (auto reason = FilterResources(pod, node)) return reason;
  return FilterAntiAffinity(pod, node);
}

bool FailsOnlyOnResources(const PodInfo& pod, const NodeInfo& node) {
  for (Filter f : kNonResourceFilters) {
    if (f(pod, node)) return false;
  }
  return FilterResources(pod, node).has_value() && !FilterAntiAffinity(pod, node).has_value();
}

}  // namespace berth::control::scheduler
