// PodSpec-level rules (volumes, restart policy, scheduling: node selector,
// affinity, tolerations) and the Pod kind's create and update validation,
// after Kubernetes' ValidatePodSpec and ValidatePodUpdate. Containers are in
// container.cc.
#include <set>

#include <google/protobuf/util/message_differencer.h>

#include "validation_internal.h"

namespace berth::control::internal {
namespace {

using google::protobuf::util::MessageDifferencer;

void ValidateDefaultMode(bool set, int32_t mode, const std::string& path, ErrorList& errs) {
  if (set && (mode < 0 || mode > 0777)) {
    errs.InvalidInt(path, mode, "must be a number between 0 and 0777 (octal), both inclusive");
  }
}

void ValidateVolumeSource(const v1::Volume& v, const std::string& at, ErrorList& errs) {
  std::vector<std::string> sources;
  if (v.has_empty_dir()) sources.emplace_back("emptyDir");
  if (v.has_host_path()) sources.emplace_back("hostPath");
  if (v.has_config_map()) sources.emplace_back("configMap");
  if (v.has_secret()) sources.emplace_back("secret");
  if (sources.empty()) errs.Required(at, "must specify a volume type");
  for (size_t i = 1; i < sources.size(); ++i) {
    errs.Forbidden(Child(at, sources[i]), "may not specify more than 1 volume type");
  }
  if (v.has_empty_dir()) {
    const std::string path = Child(at, "emptyDir");
    const v1::EmptyDirVolumeSource& e = v.empty_dir();
    if (!e.medium().empty() && e.medium() != "Memory") {
      errs.Unsupported(Child(path, "medium"), e.medium(), {"", "Memory"});
    }
    if (!e.size_limit().empty()) {
      (void)ValidateQuantity(Child(path, "sizeLimit"), e.size_limit(), QuantityKind::kBytes, errs);
    }
  }
  if (v.has_host_path()) {
    const std::string path = Child(at, "hostPath");
    const v1::HostPathVolumeSource& h = v.host_path();
    if (h.path().empty()) {
      errs.Required(Child(path, "path"));
    } else if (!IsAbsolutePath(h.path())) {
      errs.InvalidString(Child(path, "path"), h.path(), "must be an absolute path");
    } else if (("/" + h.path() + "/").find("/../") != std::string::npos) {
      errs.InvalidString(Child(path, "path"), h.path(), "must not contain '..'");
    }
    static const std::vector<std::string_view> kTypes = {
        "",     "BlockDevice",  "CharDevice", "Directory", "DirectoryOrCreate",
        "File", "FileOrCreate", "Socket"};
    if (std::find(kTypes.begin(), kTypes.end(), h.type()) == kTypes.end()) {
      errs.Unsupported(Child(path, "type"), h.type(), kTypes);
    }
  }
  if (v.has_config_map()) {
    const std::string path = Child(at, "configMap");
    ValidateDns1123Subdomain(Child(path, "name"), v.config_map().name(), errs);
    ValidateDefaultMode(v.config_map().has_default_mode(), v.config_map().default_mode(),
                        Child(path, "defaultMode"), errs);
  }
  if (v.has_secret()) {
    const std::string path = Child(at, "secret");
    ValidateDns1123Subdomain(Child(path, "secretName"), v.secret().secret_name(), errs);
    ValidateDefaultMode(v.secret().has_default_mode(), v.secret().default_mode(),
                        Child(path, "defaultMode"), errs);
  }
}

void ValidateVolumes(const v1::PodSpec& spec, const std::string& path, ErrorList& errs) {
  std::set<std::string> names;
  for (int i = 0; i < spec.volumes_size(); ++i) {
    const v1::Volume& v = spec.volumes(i);
    const std::string at = Index(path, i);
    ValidateDns1123Label(Child(at, "name"), v.name(), errs);
    if (!v.name().empty() && !names.insert(v.name()).second) {
      errs.Duplicate(Child(at, "name"), Quote(v.name()));
    }
    ValidateVolumeSource(v, at, errs);
  }
}

void ValidateNodeSelectorRequirement(const v1::NodeSelectorRequirement& r, const std::string& at,
                                     ErrorList& errs) {
  const std::string& op = r.operator_();
  const std::string values = Child(at, "values");
  if (op == "In" || op == "NotIn") {
    if (r.values().empty()) {
      errs.Required(values, "must be specified when `operator` is 'In' or 'NotIn'");
    }
  } else if (op == "Exists" || op == "DoesNotExist") {
    if (!r.values().empty()) {
      errs.Forbidden(values, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    }
  } else if (op == "Gt" || op == "Lt") {
    if (r.values_size() != 1) {
      errs.Required(values, "must be specified single value when `operator` is 'Lt' or 'Gt'");
    } else {
      const std::string& v = r.values(0);
      size_t digits = !v.empty() && v[0] == '-' ? 1 : 0;
      const bool integer =
          v.size() > digits && std::all_of(v.begin() + static_cast<long>(digits), v.end(),
                                           [](char c) { return c >= '0' && c <= '9'; });
      if (!integer) errs.InvalidString(Index(values, 0), v, "must be an integer");
    }
  } else {
    errs.InvalidString(Child(at, "operator"), op, "not a valid selector operator");
  }
  ValidateQualifiedName(Child(at, "key"), r.key(), errs);
}

void ValidateAffinity(const v1::Affinity& affinity, const std::string& path, ErrorList& errs) {
  if (affinity.has_node_affinity() &&
      affinity.node_affinity().has_required_during_scheduling_ignored_during_execution()) {
    const std::string at =
        Child(Child(Child(path, "nodeAffinity"), "requiredDuringSchedulingIgnoredDuringExecution"),
              "nodeSelectorTerms");
    const v1::NodeSelector& selector =
        affinity.node_affinity().required_during_scheduling_ignored_during_execution();
    if (selector.node_selector_terms().empty()) {
      errs.Required(at, "must have at least one node selector term");
    }
    for (int i = 0; i < selector.node_selector_terms_size(); ++i) {
      const v1::NodeSelectorTerm& term = selector.node_selector_terms(i);
      for (int j = 0; j < term.match_expressions_size(); ++j) {
        ValidateNodeSelectorRequirement(term.match_expressions(j),
                                        Index(Child(Index(at, i), "matchExpressions"), j), errs);
      }
    }
  }
  if (affinity.has_pod_anti_affinity()) {
    const std::string at =
        Child(Child(path, "podAntiAffinity"), "requiredDuringSchedulingIgnoredDuringExecution");
    const auto& terms =
        affinity.pod_anti_affinity().required_during_scheduling_ignored_during_execution();
    for (int i = 0; i < terms.size(); ++i) {
      const v1::PodAffinityTerm& term = terms.Get(i);
      if (term.has_label_selector()) {
        ValidateLabelSelector(term.label_selector(), Child(Index(at, i), "labelSelector"), errs);
      }
      if (term.topology_key().empty()) {
        errs.Required(Child(Index(at, i), "topologyKey"), "can not be empty");
      } else {
        ValidateQualifiedName(Child(Index(at, i), "topologyKey"), term.topology_key(), errs);
      }
    }
  }
}

void ValidateTolerations(const v1::PodSpec& spec, const std::string& path, ErrorList& errs) {
  for (int i = 0; i < spec.tolerations_size(); ++i) {
    const v1::Toleration& t = spec.tolerations(i);
    const std::string at = Index(path, i);
    if (!t.key().empty()) ValidateQualifiedName(Child(at, "key"), t.key(), errs);
    // An empty key with Exists tolerates every taint; with Equal it matches nothing.
    if (t.key().empty() && t.operator_() != "Exists") {
      errs.InvalidString(Child(at, "operator"), t.operator_(),
                         "operator must be Exists when `key` is empty, which means \"match all "
                         "values and all keys\"");
    }
    if (t.has_toleration_seconds() && t.effect() != "NoExecute") {
      errs.InvalidString(Child(at, "effect"), t.effect(),
                         "effect must be 'NoExecute' when `tolerationSeconds` is set");
    }
    if (t.operator_().empty() || t.operator_() == "Equal") {
      ValidateLabelValueAt(Child(at, "operator"), t.value(), errs);
    } else if (t.operator_() == "Exists") {
      if (!t.value().empty()) {
        errs.InvalidString(Child(at, "operator"), t.value(),
                           "value must be empty when `operator` is 'Exists'");
      }
    } else {
      errs.Unsupported(Child(at, "operator"), t.operator_(), {"Equal", "Exists"});
    }
    if (!t.effect().empty() && t.effect() != "NoSchedule" && t.effect() != "PreferNoSchedule" &&
        t.effect() != "NoExecute") {
      errs.Unsupported(Child(at, "effect"), t.effect(),
                       {"NoSchedule", "PreferNoSchedule", "NoExecute"});
    }
  }
}

bool ContainsToleration(const google::protobuf::RepeatedPtrField<v1::Toleration>& list,
                        const v1::Toleration& t) {
  return std::any_of(list.begin(), list.end(),
                     [&](const v1::Toleration& x) { return MessageDifferencer::Equals(x, t); });
}

}  // namespace

void ValidatePodSpec(const v1::PodSpec& spec, const std::string& path, const PodSpecRules& rules,
                     ErrorList& errs) {
  ValidateVolumes(spec, Child(path, "volumes"), errs);
  ValidateContainers(spec, path, errs);
  const std::string restart = Child(path, "restartPolicy");
  if (spec.restart_policy().empty()) {
    errs.Required(restart);
  } else if (std::find(rules.restart_policies.begin(), rules.restart_policies.end(),
                       spec.restart_policy()) == rules.restart_policies.end()) {
    errs.Unsupported(restart, spec.restart_policy(), rules.restart_policies);
  }
  if (spec.has_termination_grace_period_seconds() && spec.termination_grace_period_seconds() < 0) {
    errs.InvalidInt(Child(path, "terminationGracePeriodSeconds"),
                    spec.termination_grace_period_seconds(), kNonNegative);
  }
  if (spec.has_active_deadline_seconds()) {
    const std::string at = Child(path, "activeDeadlineSeconds");
    const int64_t v = spec.active_deadline_seconds();
    if (!rules.forbid_active_deadline_for.empty()) {
      errs.Forbidden(at, "activeDeadlineSeconds in " +
                             std::string(rules.forbid_active_deadline_for) + " is not Supported");
    } else if (v < 1 || v > 2147483647) {
      errs.InvalidInt(at, v, InclusiveRange(1, 2147483647));
    }
  }
  ValidateLabels(spec.node_selector(), Child(path, "nodeSelector"), errs);
  if (!spec.node_name().empty()) {
    ValidateDns1123Subdomain(Child(path, "nodeName"), spec.node_name(), errs);
  }
  if (spec.has_affinity()) ValidateAffinity(spec.affinity(), Child(path, "affinity"), errs);
  ValidateTolerations(spec, Child(path, "tolerations"), errs);
  if (!spec.scheduler_name().empty()) {
    ValidateDns1123Subdomain(Child(path, "schedulerName"), spec.scheduler_name(), errs);
  }
  if (!spec.priority_class_name().empty()) {
    ValidateDns1123Subdomain(Child(path, "priorityClassName"), spec.priority_class_name(), errs);
  }
  if (!spec.hostname().empty())
    ValidateDns1123Label(Child(path, "hostname"), spec.hostname(), errs);
  if (!spec.preemption_policy().empty() && spec.preemption_policy() != "PreemptLowerPriority" &&
      spec.preemption_policy() != "Never") {
    errs.Unsupported(Child(path, "preemptionPolicy"), spec.preemption_policy(),
                     {"PreemptLowerPriority", "Never"});
  }
}

void ValidatePodSpecUpdate(const v1::PodSpec& updated, const v1::PodSpec& old,
                           const std::string& path, ErrorList& errs) {
  const std::string deadline = Child(path, "activeDeadlineSeconds");
  if (updated.has_active_deadline_seconds()) {
    if (old.has_active_deadline_seconds() &&
        updated.active_deadline_seconds() > old.active_deadline_seconds()) {
      errs.InvalidInt(deadline, updated.active_deadline_seconds(),
                      "must be less than or equal to previous value");
    }
  } else if (old.has_active_deadline_seconds()) {
    errs.Invalid(deadline, "null", "must not update from a positive integer to nil value");
  }

  // Compare what remains after taking the mutable fields from `old`.
  v1::PodSpec rest = updated;
  if (rest.containers_size() == old.containers_size()) {
    for (int i = 0; i < rest.containers_size(); ++i) {
      rest.mutable_containers(i)->set_image(old.containers(i).image());
    }
  }
  if (rest.init_containers_size() == old.init_containers_size()) {
    for (int i = 0; i < rest.init_containers_size(); ++i) {
      rest.mutable_init_containers(i)->set_image(old.init_containers(i).image());
    }
  }
  if (old.has_active_deadline_seconds()) {
    rest.set_active_deadline_seconds(old.active_deadline_seconds());
  } else {
    rest.clear_active_deadline_seconds();
  }
  const bool keeps_tolerations = std::all_of(
      old.tolerations().begin(), old.tolerations().end(),
      [&](const v1::Toleration& t) { return ContainsToleration(updated.tolerations(), t); });
  if (keeps_tolerations) *rest.mutable_tolerations() = old.tolerations();
  // Binding: the scheduler sets nodeName once.
  if (old.node_name().empty()) rest.set_node_name(old.node_name());
  if (!MessageDifferencer::Equals(rest, old)) {
    errs.Forbidden(path,
                   "pod updates may not change fields other than `spec.containers[*].image`, "
                   "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, "
                   "`spec.tolerations` (only additions to existing tolerations), `spec.nodeName` "
                   "(only from empty, by binding)");
  }
}

void ValidateKind(const v1::Pod& pod, ErrorList& errs) {
  ValidatePodSpec(pod.spec(), "spec", PodSpecRules{{"Always", "OnFailure", "Never"}, {}}, errs);
}

void ValidateKindUpdate(const v1::Pod& updated, const v1::Pod& old, ErrorList& errs) {
  ValidatePodSpecUpdate(updated.spec(), old.spec(), "spec", errs);
}

}  // namespace berth::control::internal
