#include "berth/control/controllers/quota_admission.h"

#include <algorithm>
#include <cerrno>
#include <vector>

#include "berth/api/kinds.h"
#include "berth/control/validation.h"

namespace berth::control {
namespace {

// "deployments.apps", "pods": how Kubernetes names a resource in errors
// and in count/<resource> quota keys.
std::string ResourceOf(const api::KindInfo& kind) {
  std::string out(kind.plural);
  const auto slash = kind.api_version.find('/');
  if (slash != std::string_view::npos) {
    out += '.';
    out += kind.api_version.substr(0, slash);
  }
  return out;
}

// admission.NewForbidden: `pods "x" is forbidden: <why>`.
Error Forbidden(const v1::Object& object, const std::string& why) {
  return Error::Sys(EACCES, ResourceOf(*api::KindOf(object)) + " \"" + api::MetaOf(object).name() +
                                "\" is forbidden: " + why);
}

// utilerrors.NewAggregate's text: one error as is, several in brackets.
std::string Aggregate(const std::vector<std::string>& errors) {
  if (errors.size() == 1) return errors[0];
  std::string out = "[";
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i > 0) out += ", ";
    out += errors[i];
  }
  return out + "]";
}

std::vector<std::string> SortedKeys(const google::protobuf::Map<std::string, std::string>& map) {
  std::vector<std::string> keys;
  keys.reserve(map.size());
  for (const auto& [k, v] : map) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

// --- LimitRanger ----------------------------------------------------------

// defaultContainerResourceRequirements: only what the container lacks.
bool ApplyContainerDefaults(const v1::LimitRangeItem& item, v1::Container& c) {
  bool changed = false;
  auto& limits = *c.mutable_resources()->mutable_limits();
  auto& requests = *c.mutable_resources()->mutable_requests();
  for (const auto& [name, value] : item.default_()) {
    changed |= limits.insert({name, value}).second;
  }
  for (const auto& [name, value] : item.default_request()) {
    changed |= requests.insert({name, value}).second;
  }
  return changed;
}

// "maximum memory usage per Container is 1Gi": the head of the
// LimitRanger's messages.
std::string Bound(std::string_view bound, const std::string& name, std::string_view type,
                  int64_t enforced) {
  std::string out(bound);
  out += ' ';
  out += name;
  out += " usage per ";
  out += type;
  out += " is ";
  out += FormatResource(name, enforced);
  return out;
}

// minConstraint and maxConstraint of the LimitRanger, with their wording
// (the double space included).
Status CheckMinMax(const v1::LimitRangeItem& item, std::string_view type,
                   const ResourceAmounts& requests, const ResourceAmounts& limits,
                   std::vector<std::string>& errors) {
  for (const std::string& name : SortedKeys(item.min())) {
    BERTH_ASSIGN_OR_RETURN(int64_t min, ParseResource(name, item.min().at(name)));
    auto req = requests.find(name);
    auto lim = limits.find(name);
    if (req == requests.end()) {
      errors.push_back(Bound("minimum", name, type, min) + ".  No request is specified");
    } else if (req->second < min) {
      errors.push_back(Bound("minimum", name, type, min) + ", but request is " +
                       FormatResource(name, req->second));
    } else if (lim != limits.end() && lim->second < min) {
      errors.push_back(Bound("minimum", name, type, min) + ", but limit is " +
                       FormatResource(name, lim->second));
    }
  }
  for (const std::string& name : SortedKeys(item.max())) {
    BERTH_ASSIGN_OR_RETURN(int64_t max, ParseResource(name, item.max().at(name)));
    auto req = requests.find(name);
    auto lim = limits.find(name);
    if (lim == limits.end()) {
      errors.push_back(Bound("maximum", name, type, max) + ".  No limit is specified");
    } else if (lim->second > max) {
      errors.push_back(Bound("maximum", name, type, max) + ", but limit is " +
                       FormatResource(name, lim->second));
    } else if (req != requests.end() && req->second > max) {
      errors.push_back(Bound("maximum", name, type, max) + ", but request is " +
                       FormatResource(name, req->second));
    }
  }
  return {};
}

// PodValidateLimitFunc for one LimitRange: its violations.
Result<std::vector<std::string>> LimitViolations(const v1::LimitRange& range,
                                                 const v1::PodSpec& spec) {
  std::vector<std::string> errors;
  for (const v1::LimitRangeItem& item : range.spec().limits()) {
    if (item.type() == "Container") {
      for (const auto* list : {&spec.init_containers(), &spec.containers()}) {
        for (const v1::Container& c : *list) {
          BERTH_ASSIGN_OR_RETURN(ResourceAmounts requests,
                                 ParseResourceList(c.resources().requests()));
          BERTH_ASSIGN_OR_RETURN(ResourceAmounts limits, ParseResourceList(c.resources().limits()));
          BERTH_TRY(CheckMinMax(item, "Container", requests, limits, errors));
        }
      }
    } else if (item.type() == "Pod") {
      BERTH_ASSIGN_OR_RETURN(ResourceAmounts requests, PodRequests(spec));
      BERTH_ASSIGN_OR_RETURN(ResourceAmounts limits, PodLimits(spec));
      BERTH_TRY(CheckMinMax(item, "Pod", requests, limits, errors));
    }
  }
  return errors;
}

// --- ResourceQuota ----------------------------------------------------------

// The quota keys a pod's create is charged to, and how much of each.
constexpr std::string_view kPodKeys[] = {"pods",       "count/pods",   "cpu",
                                         "memory",     "requests.cpu", "requests.memory",
                                         "limits.cpu", "limits.memory"};

bool IsPodKey(std::string_view key) {
  return std::find(std::begin(kPodKeys), std::end(kPodKeys), key) != std::end(kPodKeys);
}

// The kind a count key counts: the legacy names and count/<resource>.
const api::KindInfo* CountedKind(std::string_view key) {
  if (key == "pods") return api::FindKind("Pod");
  if (key == "services") return api::FindKind("Service");
  if (key == "secrets") return api::FindKind("Secret");
  if (key == "configmaps") return api::FindKind("ConfigMap");
  constexpr std::string_view kCount = "count/";
  if (key.substr(0, kCount.size()) != kCount) return nullptr;
  const std::string_view resource = key.substr(kCount.size());
  for (const api::KindInfo& kind : api::AllKinds()) {
    if (kind.namespaced && ResourceOf(kind) == resource) return &kind;
  }
  return nullptr;
}

bool Charges(const api::KindInfo& kind, std::string_view key) {
  if (kind.object_case == v1::Object::kPod && IsPodKey(key)) return true;
  return CountedKind(key) == &kind;
}

// podComputeUsageHelper: the value of a compute key for given totals.
int64_t ComputeValue(std::string_view key, const ResourceAmounts& requests,
                     const ResourceAmounts& limits) {
  auto get = [](const ResourceAmounts& amounts, std::string_view name) -> int64_t {
    auto it = amounts.find(name);
    return it == amounts.end() ? 0 : it->second;
  };
  if (key == "cpu" || key == "requests.cpu") return get(requests, "cpu");
  if (key == "memory" || key == "requests.memory") return get(requests, "memory");
  if (key == "limits.cpu") return get(limits, "cpu");
  if (key == "limits.memory") return get(limits, "memory");
  return 0;
}

bool IsCountKey(std::string_view key) {
  return key == "pods" || key == "count/pods" || CountedKind(key) != nullptr;
}

// What creating `object` adds to each of `keys`.
Result<ResourceAmounts> ChargeOf(const v1::Object& object, const std::set<std::string>& keys) {
  ResourceAmounts charge;
  if (object.has_pod()) {
    const v1::Pod& pod = object.pod();
    if (IsTerminal(pod)) return charge;
    BERTH_ASSIGN_OR_RETURN(ResourceAmounts requests, PodRequests(pod.spec()));
    BERTH_ASSIGN_OR_RETURN(ResourceAmounts limits, PodLimits(pod.spec()));
    for (const std::string& key : keys) {
      charge[key] = IsCountKey(key) ? 1 : ComputeValue(key, requests, limits);
    }
    return charge;
  }
  for (const std::string& key : keys) charge[key] = 1;
  return charge;
}

// The pod evaluator's Constraints: with cpu or memory under quota every
// container states them ("must specify requests.memory,limits.cpu").
std::vector<std::string> MissingPodResources(const v1::PodSpec& spec,
                                             const v1::ResourceQuota& quota) {
  std::set<std::string> missing;
  for (const auto& [key, hard] : quota.spec().hard()) {
    if (!IsPodKey(key) || IsCountKey(key)) continue;
    // "cpu", "requests.cpu" and "limits.cpu" all name the resource "cpu".
    const bool limit = key.rfind("limits.", 0) == 0;
    const size_t dot = key.find('.');
    const std::string resource = dot == std::string::npos ? key : key.substr(dot + 1);
    for (const auto* list : {&spec.init_containers(), &spec.containers()}) {
      for (const v1::Container& c : *list) {
        const auto& stated = limit ? c.resources().limits() : c.resources().requests();
        if (stated.find(resource) == stated.end()) missing.insert(key);
      }
    }
  }
  return {missing.begin(), missing.end()};
}

// prettyPrint: "k=v,k=v" in key order.
std::string PrettyPrint(const ResourceAmounts& amounts) {
  std::string out;
  for (const auto& [key, value] : amounts) {
    if (!out.empty()) out += ",";
    out += key + "=" + FormatResource(key, value);
  }
  return out;
}

}  // namespace

Result<Admission::Guard> LimitRanger::Admit(v1::Object& object, const v1::Object* old,
                                            Registry& registry) {
  if (!object.has_pod() || old != nullptr) return Guard();
  v1::Pod& pod = *object.mutable_pod();
  BERTH_ASSIGN_OR_RETURN(
      ListResult ranges,
      registry.List({.kind = "LimitRange", .namespace_ = pod.metadata().namespace_()}));
  if (ranges.items.empty()) return Guard();
  bool defaulted = false;
  for (const v1::Object& range : ranges.items) {
    for (const v1::LimitRangeItem& item : range.limit_range().spec().limits()) {
      if (item.type() != "Container") continue;
      for (auto* list : {pod.mutable_spec()->mutable_init_containers(),
                         pod.mutable_spec()->mutable_containers()}) {
        for (v1::Container& c : *list) defaulted |= ApplyContainerDefaults(item, c);
      }
    }
  }
  for (const v1::Object& range : ranges.items) {
    auto errors = LimitViolations(range.limit_range(), pod.spec());
    if (!errors.ok()) {
      return std::move(errors).error().Wrap("limitrange " + range.limit_range().metadata().name());
    }
    if (!errors->empty()) return Forbidden(object, Aggregate(*errors));
  }
  if (defaulted) {
    if (auto invalid = Validate(object); !invalid.empty()) {
      return Error::Invalid(InvalidMessage(object, invalid));
    }
  }
  return Guard();
}

Admission::Guard QuotaAdmission::LockNamespace(const std::string& ns) {
  std::shared_ptr<std::mutex> mu;
  {
    std::lock_guard lock(mu_);
    auto& slot = namespaces_[ns];
    if (!slot) slot = std::make_shared<std::mutex>();
    mu = slot;
  }
  struct Held {
    std::shared_ptr<std::mutex> mu;  // outlives the lock: declared first
    std::unique_lock<std::mutex> lock;
  };
  auto held = std::make_shared<Held>();
  held->mu = std::move(mu);
  held->lock = std::unique_lock(*held->mu);
  return held;
}

Result<Admission::Guard> QuotaAdmission::Admit(v1::Object& object, const v1::Object* old,
                                               Registry& registry) {
  if (old != nullptr) return Guard();
  const api::KindInfo* kind = api::KindOf(object);
  if (kind == nullptr || !kind->namespaced) return Guard();
  const std::string ns = api::MetaOf(object).namespace_();
  BERTH_ASSIGN_OR_RETURN(ListResult quotas,
                         registry.List({.kind = "ResourceQuota", .namespace_ = ns}));
  std::set<std::string> charged;
  for (const v1::Object& q : quotas.items) {
    for (const auto& [key, hard] : q.resource_quota().spec().hard()) {
      if (Charges(*kind, key)) charged.insert(key);
    }
  }
  if (charged.empty()) return Guard();
  if (object.has_pod()) {
    for (const v1::Object& q : quotas.items) {
      const auto missing = MissingPodResources(object.pod().spec(), q.resource_quota());
      if (missing.empty()) continue;
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ",") + m;
      return Forbidden(object, "failed quota: " + q.resource_quota().metadata().name() +
                                   ": must specify " + list);
    }
  }
  BERTH_ASSIGN_OR_RETURN(ResourceAmounts charge, ChargeOf(object, charged));
  Guard guard = LockNamespace(ns);
  BERTH_ASSIGN_OR_RETURN(ResourceAmounts used, MeasureQuotaUsage(registry, ns, charged));
  for (const v1::Object& q : quotas.items) {
    const v1::ResourceQuota& quota = q.resource_quota();
    ResourceAmounts requested;
    ResourceAmounts was;
    ResourceAmounts limited;
    for (const std::string& key : SortedKeys(quota.spec().hard())) {
      auto c = charge.find(key);
      if (c == charge.end() || c->second <= 0) continue;
      BERTH_ASSIGN_OR_RETURN(int64_t hard, ParseResource(key, quota.spec().hard().at(key))
                                               .Wrap("resourcequota " + quota.metadata().name()));
      const int64_t now = used[key];
      if (now + c->second <= hard) continue;
      requested[key] = c->second;
      was[key] = now;
      limited[key] = hard;
    }
    if (!requested.empty()) {
      return Forbidden(object, "exceeded quota: " + quota.metadata().name() + ", requested: " +
                                   PrettyPrint(requested) + ", used: " + PrettyPrint(was) +
                                   ", limited: " + PrettyPrint(limited));
    }
  }
  return guard;
}

Result<ResourceAmounts> MeasureQuotaUsage(Registry& registry, const std::string& ns,
                                          const std::set<std::string>& resources) {
  ResourceAmounts used;
  const bool pods = std::any_of(resources.begin(), resources.end(),
                                [](const std::string& k) { return IsPodKey(k); });
  if (pods) {
    BERTH_ASSIGN_OR_RETURN(ListResult list, registry.List({.kind = "Pod", .namespace_ = ns}));
    int64_t count = 0;
    ResourceAmounts requests;
    ResourceAmounts limits;
    for (const v1::Object& o : list.items) {
      const v1::Pod& pod = o.pod();
      if (IsTerminal(pod)) continue;
      ++count;
      const std::string what = "pod " + ns + "/" + pod.metadata().name();
      BERTH_ASSIGN_OR_RETURN(ResourceAmounts r, PodRequests(pod.spec()).Wrap(what));
      BERTH_ASSIGN_OR_RETURN(ResourceAmounts l, PodLimits(pod.spec()).Wrap(what));
      for (const auto& [name, value] : r) requests[name] += value;
      for (const auto& [name, value] : l) limits[name] += value;
    }
    for (const std::string& key : resources) {
      if (!IsPodKey(key)) continue;
      used[key] = IsCountKey(key) ? count : ComputeValue(key, requests, limits);
    }
  }
  for (const std::string& key : resources) {
    if (IsPodKey(key)) continue;
    const api::KindInfo* kind = CountedKind(key);
    if (kind == nullptr) continue;
    BERTH_ASSIGN_OR_RETURN(ListResult list,
                           registry.List({.kind = std::string(kind->kind), .namespace_ = ns}));
    used[key] = static_cast<int64_t>(list.items.size());
  }
  return used;
}

}  // namespace berth::control
