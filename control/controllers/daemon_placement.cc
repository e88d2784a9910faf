#include "berth/control/controllers/daemon_placement.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "berth/api/kinds.h"
#include "berth/control/controllers/pods.h"
#include "berth/control/controllers/scheduling_info.h"
#include "berth/control/rollout.h"
#include "berth/control/scheduler/scheduler.h"

namespace berth::control {
namespace sched = scheduler;

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
  v1::Pod as_pod;
  *as_pod.mutable_spec() = spec;
  // Only the node predicate applies to daemons (selector, affinity,
  // taints), not readiness or resources.
  const sched::PodInfo pod = PodInfoOf(as_pod);
  const sched::NodeInfo info = NodeInfoOf(node);
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
