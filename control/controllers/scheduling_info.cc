#include "berth/control/controllers/scheduling_info.h"

#include <algorithm>

#include "berth/common/quantity.h"
#include "berth/control/controllers/pods.h"

namespace berth::control {
namespace {

namespace sched = scheduler;

int64_t OrZero(Result<int64_t> r) { return r.ok() ? *r : 0; }

sched::Resources Requests(const v1::Container& c) {
  sched::Resources r;
  const auto& req = c.resources().requests();
  // Validation has parsed these already; a bad value counts as 0.
  if (auto it = req.find("cpu"); it != req.end()) r.cpu_milli = OrZero(ParseMilliCpu(it->second));
  if (auto it = req.find("memory"); it != req.end()) {
    r.memory_bytes = OrZero(ParseBytes(it->second));
  }
  return r;
}

std::optional<sched::TaintEffect> Effect(const std::string& effect) {
  if (effect == "NoSchedule") return sched::TaintEffect::kNoSchedule;
  if (effect == "PreferNoSchedule") return sched::TaintEffect::kPreferNoSchedule;
  if (effect == "NoExecute") return sched::TaintEffect::kNoExecute;
  return std::nullopt;
}

sched::SelectorOperator Operator(const std::string& op) {
  if (op == "NotIn") return sched::SelectorOperator::kNotIn;
  if (op == "Exists") return sched::SelectorOperator::kExists;
  if (op == "DoesNotExist") return sched::SelectorOperator::kDoesNotExist;
  if (op == "Gt") return sched::SelectorOperator::kGt;
  if (op == "Lt") return sched::SelectorOperator::kLt;
  return sched::SelectorOperator::kIn;
}

}  // namespace

sched::PodInfo PodInfoOf(const v1::Pod& pod) {
  sched::PodInfo info;
  info.namespace_ = pod.metadata().namespace_();
  info.name = pod.metadata().name();
  info.uid = pod.metadata().uid();
  if (const auto* owner = ControllerOf(pod.metadata())) info.owner_uid = owner->uid();
  info.priority = pod.spec().priority();
  info.terminating = pod.metadata().has_deletion_timestamp();
  info.nominated_node = pod.status().nominated_node_name();
  // Kubernetes' effective request: the larger of the app containers' sum
  // and any single init container.
  for (const auto& c : pod.spec().containers()) info.requests += Requests(c);
  for (const auto& c : pod.spec().init_containers()) {
    const auto r = Requests(c);
    info.requests.cpu_milli = std::max(info.requests.cpu_milli, r.cpu_milli);
    info.requests.memory_bytes = std::max(info.requests.memory_bytes, r.memory_bytes);
  }
  info.node_selector.insert(pod.spec().node_selector().begin(), pod.spec().node_selector().end());
  for (const auto& term : pod.spec()
                              .affinity()
                              .node_affinity()
                              .required_during_scheduling_ignored_during_execution()
                              .node_selector_terms()) {
    sched::NodeSelectorTerm t;
    for (const auto& e : term.match_expressions()) {
      t.push_back({e.key(), Operator(e.operator_()), {e.values().begin(), e.values().end()}});
    }
    info.required_node_affinity.push_back(std::move(t));
  }
  for (const auto& tol : pod.spec().tolerations()) {
    sched::Toleration t;
    t.key = tol.key();
    t.op = tol.operator_() == "Exists" ? sched::TolerationOperator::kExists
                                       : sched::TolerationOperator::kEqual;
    t.value = tol.value();
    t.effect = Effect(tol.effect());
    info.tolerations.push_back(std::move(t));
  }
  for (const auto& c : pod.spec().containers()) {
    for (const auto& p : c.ports()) {
      if (p.host_port() > 0) info.host_ports.push_back({p.host_port(), p.protocol()});
    }
  }
  for (const auto& term : pod.spec()
                              .affinity()
                              .pod_anti_affinity()
                              .required_during_scheduling_ignored_during_execution()) {
    if (term.topology_key() != "kubernetes.io/hostname") continue;
    info.anti_affinity_hostname_labels.insert(term.label_selector().match_labels().begin(),
                                              term.label_selector().match_labels().end());
  }
  info.labels.insert(pod.metadata().labels().begin(), pod.metadata().labels().end());
  return info;
}

sched::NodeInfo NodeInfoOf(const v1::Node& node) {
  sched::NodeInfo info;
  info.name = node.metadata().name();
  info.labels.insert(node.metadata().labels().begin(), node.metadata().labels().end());
  const auto& alloc = node.status().allocatable();
  info.allocatable = {alloc.cpu_milli(), alloc.memory_bytes(), alloc.pods()};
  for (const auto& t : node.spec().taints()) {
    info.taints.push_back(
        {t.key(), t.value(), Effect(t.effect()).value_or(sched::TaintEffect::kNoSchedule)});
  }
  info.unschedulable = node.spec().unschedulable();
  info.ready = false;
  for (const auto& c : node.status().conditions()) {
    if (c.type() == "Ready") info.ready = c.status() == "True";
  }
  return info;
}

}  // namespace berth::control
