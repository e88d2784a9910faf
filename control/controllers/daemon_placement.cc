#include "berth/control/controllers/daemon_placement.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "berth/api/kinds.h"
#include "berth/control/controllers/pods.h"
#include "berth/control/rollout.h"
#include "berth/control/scheduler/scheduler.h"

namespace berth::control {
namespace {

namespace sched = scheduler;

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

// The fields of a pod the node predicate reads, in the scheduler core's
// terms (the rest of scheduling's PodInfoOf is about resources, which do
// not apply to daemons).
sched::PodInfo PlacementOf(const v1::PodSpec& spec) {
  sched::PodInfo info;
  info.node_selector.insert(spec.node_selector().begin(), spec.node_selector().end());
  for (const auto& term : spec.affinity()
                              .node_affinity()
                              .required_during_scheduling_ignored_during_execution()
                              .node_selector_terms()) {
    sched::NodeSelectorTerm t;
    for (const auto& e : term.match_expressions()) {
      t.push_back({e.key(), Operator(e.operator_()), {e.values().begin(), e.values().end()}});
    }
    info.required_node_affinity.push_back(std::move(t));
  }
  for (const auto& tol : spec.tolerations()) {
    sched::Toleration t;
    t.key = tol.key();
    t.op = tol.operator_() == "Exists" ? sched::TolerationOperator::kExists
                                       : sched::TolerationOperator::kEqual;
    t.value = tol.value();
    t.effect = Effect(tol.effect());
    info.tolerations.push_back(std::move(t));
  }
  return info;
}

sched::NodeInfo PlacementOf(const v1::Node& node) {
  sched::NodeInfo info;
  info.name = node.metadata().name();
  info.labels.insert(node.metadata().labels().begin(), node.metadata().labels().end());
  for (const auto& t : node.spec().taints()) {
    info.taints.push_back(
        {t.key(), t.value(), Effect(t.effect()).value_or(sched::TaintEffect::kNoSchedule)});
  }
  return info;
}

}  // namespace

std::string DaemonSetTemplateHash(const v1::PodTemplateSpec& tmpl) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    // Map fields (labels, nodeSelector) in key order: the same template
    // always gives the same bytes.
    coded.SetSerializationDeterministic(true);
    tmpl.SerializeToCodedStream(&coded);
  }
  return PodTemplateHash(bytes);
}

void AddDaemonTolerations(v1::PodSpec& spec) {
  struct Wanted {
    const char* key;
    const char* effect;
  };
  static constexpr Wanted kWanted[] = {
      {"node.kubernetes.io/not-ready", "NoExecute"},
      {"node.kubernetes.io/unreachable", "NoExecute"},
      {"node.kubernetes.io/disk-pressure", "NoSchedule"},
      {"node.kubernetes.io/memory-pressure", "NoSchedule"},
      {"node.kubernetes.io/pid-pressure", "NoSchedule"},
      {"node.kubernetes.io/unschedulable", "NoSchedule"},
  };
  for (const Wanted& w : kWanted) {
    bool present = false;
    for (auto& t : *spec.mutable_tolerations()) {
      if (t.key() != w.key || t.effect() != w.effect) continue;
      // Kubernetes replaces a toleration of the same key and effect, so a
      // template's tolerationSeconds cannot get the daemon evicted.
      t.set_operator_("Exists");
      t.clear_value();
      t.clear_toleration_seconds();
      present = true;
    }
    if (present) continue;
    v1::Toleration* t = spec.add_tolerations();
    t->set_key(w.key);
    t->set_operator_("Exists");
    t->set_effect(w.effect);
  }
}

v1::Object DaemonPodFor(const v1::Object& ds, const std::string& node, const std::string& hash) {
  const v1::DaemonSet& set = ds.daemon_set();
  v1::Object pod = PodFromTemplate(set.spec().template_(), ds);
  auto& labels = *pod.mutable_pod()->mutable_metadata()->mutable_labels();
  labels[std::string(kControllerRevisionHash)] = hash;
  labels[std::string(kPodTemplateGeneration)] = std::to_string(set.metadata().generation());
  v1::PodSpec& spec = *pod.mutable_pod()->mutable_spec();
  spec.set_node_name(node);
  AddDaemonTolerations(spec);
  return pod;
}

DaemonNodeFit NodeShouldRunDaemonPod(const v1::Node& node, const v1::PodSpec& spec) {
  DaemonNodeFit fit;
  if (!spec.node_name().empty() && spec.node_name() != node.metadata().name()) return fit;
  const sched::PodInfo pod = PlacementOf(spec);
  const sched::NodeInfo info = PlacementOf(node);
  if (sched::FilterNodeAffinity(pod, info).has_value()) return fit;
  fit.should_run = true;
  fit.should_continue_running = true;
  for (const sched::Taint& taint : info.taints) {
    if (taint.effect == sched::TaintEffect::kPreferNoSchedule) continue;
    if (sched::ToleratesAll(pod.tolerations, taint)) continue;
    fit.should_run = false;
    if (taint.effect == sched::TaintEffect::kNoExecute) fit.should_continue_running = false;
  }
  return fit;
}

}  // namespace berth::control
