// The remaining kinds: Namespace, Node, ResourceQuota, LimitRange,
// PriorityClass, Event and Lease, after the matching Validate* functions of
// Kubernetes' pkg/apis/{core,scheduling,coordination}/validation.
#include <map>
#include <set>

#include "validation_internal.h"

namespace berth::control::internal {
namespace {

// scheduling.HighestUserDefinablePriority: above it only system classes.
constexpr int64_t kHighestUserPriority = 1000000000;

void ValidateTaintEffect(const std::string& path, const std::string& effect, bool allow_empty,
                         ErrorList& errs) {
  if (effect.empty() && allow_empty) return;
  if (effect.empty()) {
    errs.Required(path);
  } else if (effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute") {
    errs.Unsupported(path, effect, {"NoSchedule", "PreferNoSchedule", "NoExecute"});
  }
}

bool IsIpv4Cidr(std::string_view cidr) { return cidr.find(':') == std::string_view::npos; }

// The resource names a ResourceQuota may limit.
bool IsQuotaResource(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "pods",       "cpu",           "memory",   "requests.cpu", "requests.memory",
      "limits.cpu", "limits.memory", "services", "secrets",      "configmaps"};
  if (std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames)) return true;
  // Object counts: count/deployments.apps, count/pods.
  constexpr std::string_view kCount = "count/";
  if (name.substr(0, kCount.size()) != kCount) return false;
  const std::string_view resource = name.substr(kCount.size());
  return !resource.empty() && IsDns1123Subdomain(resource);
}

// One LimitRangeItem list (max, min, default, defaultRequest): the parsed
// quantities by resource name, with the text as given for messages.
struct Limit {
  int64_t value;
  std::string text;
};
std::map<std::string, Limit> ValidateLimitList(
    const google::protobuf::Map<std::string, std::string>& list, const std::string& path,
    ErrorList& errs) {
  std::map<std::string, Limit> out;
  for (const std::string& name : SortedKeys(list)) {
    const std::string at = Key(path, name);
    if (name != "cpu" && name != "memory") {
      errs.Unsupported(at, name, {"cpu", "memory"});
      continue;
    }
    const std::string& text = list.at(name);
    if (auto v = ValidateQuantity(at, text, QuantityKindOf(name), errs)) out[name] = {*v, text};
  }
  return out;
}

void ValidateLimitRangeItem(const v1::LimitRangeItem& item, const std::string& at,
                            ErrorList& errs) {
  const auto max = ValidateLimitList(item.max(), Child(at, "max"), errs);
  const auto min = ValidateLimitList(item.min(), Child(at, "min"), errs);
  std::map<std::string, Limit> def;
  std::map<std::string, Limit> def_request;
  if (item.type() == "Pod") {
    if (!item.default_().empty()) {
      errs.Forbidden(Child(at, "default"), "may not be specified when `type` is 'Pod'");
    }
    if (!item.default_request().empty()) {
      errs.Forbidden(Child(at, "defaultRequest"), "may not be specified when `type` is 'Pod'");
    }
  } else {
    def = ValidateLimitList(item.default_(), Child(at, "default"), errs);
    def_request = ValidateLimitList(item.default_request(), Child(at, "defaultRequest"), errs);
  }
  std::set<std::string> names;
  for (const std::map<std::string, Limit>* list :
       std::initializer_list<const std::map<std::string, Limit>*>{&max, &min, &def, &def_request}) {
    for (const auto& [name, limit] : *list) names.insert(name);
  }
  auto find = [](const std::map<std::string, Limit>& m, const std::string& k) -> const Limit* {
    auto it = m.find(k);
    return it == m.end() ? nullptr : &it->second;
  };
  // Kubernetes' ordering checks: min <= defaultRequest <= default <= max.
  for (const std::string& k : names) {
    const Limit* mx = find(max, k);
    const Limit* mn = find(min, k);
    const Limit* d = find(def, k);
    const Limit* dr = find(def_request, k);
    if (mn && mx && mn->value > mx->value) {
      errs.Invalid(Key(Child(at, "min"), k), mn->text,
                   "min value " + mn->text + " is greater than max value " + mx->text);
    }
    if (dr && mn && mn->value > dr->value) {
      errs.Invalid(Key(Child(at, "defaultRequest"), k), dr->text,
                   "min value " + mn->text + " is greater than default request value " + dr->text);
    }
    if (dr && mx && dr->value > mx->value) {
      errs.Invalid(Key(Child(at, "defaultRequest"), k), dr->text,
                   "default request value " + dr->text + " is greater than max value " + mx->text);
    }
    if (dr && d && dr->value > d->value) {
      errs.Invalid(
          Key(Child(at, "defaultRequest"), k), dr->text,
          "default request value " + dr->text + " is greater than default limit value " + d->text);
    }
    if (d && mn && mn->value > d->value) {
      errs.Invalid(Key(Child(at, "default"), k), mn->text,
                   "min value " + mn->text + " is greater than default value " + d->text);
    }
    if (d && mx && d->value > mx->value) {
      errs.Invalid(Key(Child(at, "default"), k), mx->text,
                   "default value " + d->text + " is greater than max value " + mx->text);
    }
  }
}

}  // namespace

void ValidateKind(const v1::Namespace& ns, ErrorList& errs) {
  for (int i = 0; i < ns.spec().finalizers_size(); ++i) {
    const std::string& f = ns.spec().finalizers(i);
    const std::string at = Index("spec.finalizers", i);
    ValidateQualifiedName(at, f, errs);
    if (f.find('/') == std::string::npos && f != "kubernetes") {
      errs.InvalidString(at, f,
                         "name is neither a standard finalizer name nor is it fully qualified");
    }
  }
}

void ValidateKind(const v1::Node& node, ErrorList& errs) {
  const v1::NodeSpec& spec = node.spec();
  std::set<std::string> taints;  // "key:effect"
  for (int i = 0; i < spec.taints_size(); ++i) {
    const v1::Taint& t = spec.taints(i);
    const std::string at = Index("spec.taints", i);
    ValidateQualifiedName(Child(at, "key"), t.key(), errs);
    ValidateLabelValueAt(Child(at, "value"), t.value(), errs);
    ValidateTaintEffect(Child(at, "effect"), t.effect(), false, errs);
    if (!taints.insert(t.key() + ":" + t.effect()).second) {
      errs.Duplicate(at, Quote(t.key() + "=" + t.value() + ":" + t.effect()) +
                             ": taints must be unique by key and effect pair");
    }
  }
  constexpr std::string_view kCidrRule =
      "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";
  if (!spec.pod_cidr().empty() && !IsCidr(spec.pod_cidr())) {
    errs.InvalidString("spec.podCIDR", spec.pod_cidr(), kCidrRule);
  }
  bool all_valid = true;
  for (int i = 0; i < spec.pod_cidrs_size(); ++i) {
    if (!IsCidr(spec.pod_cidrs(i))) {
      errs.InvalidString(Index("spec.podCIDRs", i), spec.pod_cidrs(i), kCidrRule);
      all_valid = false;
    }
  }
  if (all_valid && spec.pod_cidrs_size() > 1 &&
      (spec.pod_cidrs_size() > 2 ||
       IsIpv4Cidr(spec.pod_cidrs(0)) == IsIpv4Cidr(spec.pod_cidrs(1)))) {
    errs.InvalidOmitted("spec.podCIDRs", "may specify no more than one CIDR for each IP family");
  }
}

void ValidateKindUpdate(const v1::Node& updated, const v1::Node& old, ErrorList& errs) {
  // The pod CIDR is assigned once ("" -> valid) and routes depend on it.
  constexpr std::string_view kWhy = "node updates may not change podCIDR except from \"\" to valid";
  if (!old.spec().pod_cidr().empty() && updated.spec().pod_cidr() != old.spec().pod_cidr()) {
    errs.Forbidden("spec.podCIDR", kWhy);
  }
  if (!old.spec().pod_cidrs().empty() &&
      !std::equal(old.spec().pod_cidrs().begin(), old.spec().pod_cidrs().end(),
                  updated.spec().pod_cidrs().begin(), updated.spec().pod_cidrs().end())) {
    errs.Forbidden("spec.podCIDRs", kWhy);
  }
}

void ValidateKind(const v1::ResourceQuota& quota, ErrorList& errs) {
  for (const std::string& name : SortedKeys(quota.spec().hard())) {
    const std::string at = Key("spec.hard", name);
    if (!IsQuotaResource(name)) {
      errs.InvalidString(at, name,
                         "must be a standard resource for quota (pods, cpu, memory, requests.cpu, "
                         "requests.memory, limits.cpu, limits.memory, services, secrets, "
                         "configmaps) or count/<resource>");
      continue;
    }
    (void)ValidateQuantity(at, quota.spec().hard().at(name), QuantityKindOf(name), errs);
  }
}

void ValidateKind(const v1::LimitRange& lr, ErrorList& errs) {
  std::set<std::string> types;
  for (int i = 0; i < lr.spec().limits_size(); ++i) {
    const v1::LimitRangeItem& item = lr.spec().limits(i);
    const std::string at = Index("spec.limits", i);
    if (item.type().empty()) {
      errs.Required(Child(at, "type"));
    } else if (item.type() != "Container" && item.type() != "Pod") {
      errs.Unsupported(Child(at, "type"), item.type(), {"Container", "Pod"});
    } else if (!types.insert(item.type()).second) {
      errs.Duplicate(Child(at, "type"), Quote(item.type()));
    }
    ValidateLimitRangeItem(item, at, errs);
  }
}

void ValidateKind(const v1::PriorityClass& pc, ErrorList& errs) {
  // Classes named system-* are the cluster's own (system-node-critical at
  // 2000001000); user classes stay at or below 1e9 so they never outrank them.
  if (pc.metadata().name().rfind("system-", 0) != 0 && pc.value() > kHighestUserPriority) {
    errs.Forbidden("value", "maximum allowed value of a user defined priority is " +
                                std::to_string(kHighestUserPriority));
  }
  if (!pc.preemption_policy().empty() && pc.preemption_policy() != "PreemptLowerPriority" &&
      pc.preemption_policy() != "Never") {
    errs.Unsupported("preemptionPolicy", pc.preemption_policy(), {"PreemptLowerPriority", "Never"});
  }
}

void ValidateKindUpdate(const v1::PriorityClass& updated, const v1::PriorityClass& old,
                        ErrorList& errs) {
  // Pods copy the value at admission: changing it would make them disagree.
  if (updated.value() != old.value()) errs.Forbidden("value", "may not be changed in an update.");
  if (updated.preemption_policy() != old.preemption_policy()) {
    errs.InvalidString("preemptionPolicy", updated.preemption_policy(), kImmutable);
  }
}

void ValidateKind(const v1::Event& event, ErrorList& errs) {
  const v1::ObjectReference& obj = event.involved_object();
  if (obj.kind().empty()) errs.Required("involvedObject.kind");
  if (obj.name().empty()) errs.Required("involvedObject.name");
  const std::string& ns = event.metadata().namespace_();
  // A cluster-scoped object's events live in "default" (or no namespace).
  const bool matches =
      obj.namespace_().empty() ? (ns.empty() || ns == "default") : obj.namespace_() == ns;
  if (!matches) {
    errs.InvalidString("involvedObject.namespace", obj.namespace_(),
                       "does not match event.namespace");
  }
  if (event.type().empty()) {
    errs.Required("type");
  } else if (event.type() != "Normal" && event.type() != "Warning") {
    errs.Unsupported("type", event.type(), {"Normal", "Warning"});
  }
  if (event.count() < 0) errs.InvalidInt("count", event.count(), kNonNegative);
}

void ValidateKind(const v1::Lease& lease, ErrorList& errs) {
  const v1::LeaseSpec& spec = lease.spec();
  if (spec.has_lease_duration_seconds() && spec.lease_duration_seconds() <= 0) {
    errs.InvalidInt("spec.leaseDurationSeconds", spec.lease_duration_seconds(),
                    "must be greater than 0");
  }
  if (spec.lease_transitions() < 0) {
    errs.InvalidInt("spec.leaseTransitions", spec.lease_transitions(), kNonNegative);
  }
}

}  // namespace berth::control::internal
