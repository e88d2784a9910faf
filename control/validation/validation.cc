// The public entry points: kind facts (name, API version, scope, name
// rule), Validate / ValidateUpdate dispatching to the per-kind rules, and
// the kubectl-shaped message (Kubernetes' errors.NewInvalid).
#include <set>
#include <type_traits>

#include "validation_internal.h"

namespace berth::control {
namespace {

using internal::ErrorList;
using internal::NameRule;

struct KindInfo {
  v1::Object::ObjectCase object_case;
  std::string_view kind;
  std::string_view api_version;
  bool namespaced;
  NameRule name_rule;
};

// Name rules as Kubernetes has them: namespaces are DNS labels (they become
// DNS names' parts), Services DNS-1035 labels (they become env var names and
// DNS names), everything else DNS subdomains.
constexpr KindInfo kKinds[] = {
    {v1::Object::kNamespace, "Namespace", "v1", false, NameRule::kDns1123Label},
    {v1::Object::kNode, "Node", "v1", false, NameRule::kDns1123Subdomain},
    {v1::Object::kPod, "Pod", "v1", true, NameRule::kDns1123Subdomain},
    {v1::Object::kReplicaSet, "ReplicaSet", "apps/v1", true, NameRule::kDns1123Subdomain},
    {v1::Object::kDeployment, "Deployment", "apps/v1", true, NameRule::kDns1123Subdomain},
    {v1::Object::kDaemonSet, "DaemonSet", "apps/v1", true, NameRule::kDns1123Subdomain},
    {v1::Object::kJob, "Job", "batch/v1", true, NameRule::kDns1123Subdomain},
    {v1::Object::kService, "Service", "v1", true, NameRule::kDns1035Label},
    {v1::Object::kEndpoints, "Endpoints", "v1", true, NameRule::kDns1123Subdomain},
    {v1::Object::kConfigMap, "ConfigMap", "v1", true, NameRule::kDns1123Subdomain},
    {v1::Object::kSecret, "Secret", "v1", true, NameRule::kDns1123Subdomain},
    {v1::Object::kResourceQuota, "ResourceQuota", "v1", true, NameRule::kDns1123Subdomain},
    {v1::Object::kLimitRange, "LimitRange", "v1", true, NameRule::kDns1123Subdomain},
    {v1::Object::kPriorityClass, "PriorityClass", "scheduling.k8s.io/v1", false,
     NameRule::kDns1123Subdomain},
    {v1::Object::kEvent, "Event", "v1", true, NameRule::kDns1123Subdomain},
    {v1::Object::kLease, "Lease", "coordination.k8s.io/v1", true, NameRule::kDns1123Subdomain},
};

const KindInfo* InfoOf(v1::Object::ObjectCase c) {
  for (const KindInfo& k : kKinds) {
    if (k.object_case == c) return &k;
  }
  return nullptr;
}

const KindInfo* InfoOf(std::string_view kind) {
  for (const KindInfo& k : kKinds) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

// apiVersion and kind inside the message, when a client sent them, must
// name the message's own kind.
template <typename T>
void ValidateTypeMeta(const T& message, const KindInfo& info, ErrorList& errs) {
  if (!message.api_version().empty() && message.api_version() != info.api_version) {
    errs.Unsupported("apiVersion", message.api_version(), {info.api_version});
  }
  if (!message.kind().empty() && message.kind() != info.kind) {
    errs.Unsupported("kind", message.kind(), {info.kind});
  }
}

void ValidateInto(const v1::Object& object, ErrorList& errs) {
  const KindInfo* info = InfoOf(object.object_case());
  if (info == nullptr) {
    errs.Required("kind");
    return;
  }
  internal::VisitKind(object, [&](const auto& message) {
    ValidateTypeMeta(message, *info, errs);
    internal::ValidateObjectMeta(message.metadata(), info->namespaced, info->name_rule, errs);
    internal::ValidateKind(message, errs);
  });
}

}  // namespace

std::string FieldError::ToString() const { return path.empty() ? detail : path + ": " + detail; }

std::string_view KindOf(const v1::Object& object) {
  const KindInfo* info = InfoOf(object.object_case());
  return info == nullptr ? std::string_view() : info->kind;
}

std::string_view ApiVersionOf(std::string_view kind) {
  const KindInfo* info = InfoOf(kind);
  return info == nullptr ? std::string_view() : info->api_version;
}

bool IsNamespaced(std::string_view kind) {
  const KindInfo* info = InfoOf(kind);
  return info != nullptr && info->namespaced;
}

const v1::ObjectMeta& MetadataOf(const v1::Object& object) {
  const v1::ObjectMeta* meta = &v1::ObjectMeta::default_instance();
  internal::VisitKind(object, [&](const auto& message) { meta = &message.metadata(); });
  return *meta;
}

v1::ObjectMeta* MutableMetadataOf(v1::Object& object) {
  v1::ObjectMeta* meta = nullptr;
  internal::VisitMutableKind(object, [&](auto& message) { meta = message.mutable_metadata(); });
  return meta;
}

std::vector<FieldError> Validate(const v1::Object& object) {
  ErrorList errs;
  ValidateInto(object, errs);
  return std::move(errs).Take();
}

std::vector<FieldError> ValidateUpdate(const v1::Object& updated, const v1::Object& old) {
  ErrorList errs;
  if (updated.object_case() == v1::Object::OBJECT_NOT_SET) {
    ValidateInto(updated, errs);
    return std::move(errs).Take();
  }
  if (updated.object_case() != old.object_case()) {
    errs.InvalidString("kind", KindOf(updated),
                       "may not be changed in an update, was " + internal::Quote(KindOf(old)));
    ValidateInto(updated, errs);
    return std::move(errs).Take();
  }
  internal::ValidateObjectMetaUpdate(MetadataOf(updated), MetadataOf(old), errs);
  ValidateInto(updated, errs);
  internal::VisitKind(updated, [&](const auto& u) {
    using T = std::decay_t<decltype(u)>;
    internal::VisitKind(old, [&](const auto& o) {
      if constexpr (std::is_same_v<T, std::decay_t<decltype(o)>>) {
        internal::ValidateKindUpdate(u, o, errs);
      }
    });
  });
  return std::move(errs).Take();
}

std::string InvalidMessage(const v1::Object& object, const std::vector<FieldError>& errors) {
  const KindInfo* info = InfoOf(object.object_case());
  std::string qualified = info == nullptr ? "Object" : std::string(info->kind);
  if (info != nullptr) {
    // "apps/v1" -> ".apps"; the core group ("v1") has no suffix.
    const size_t slash = info->api_version.find('/');
    if (slash != std::string_view::npos) {
      qualified += ".";
      qualified += info->api_version.substr(0, slash);
    }
  }
  std::string msg = qualified + " " + internal::Quote(MetadataOf(object).name()) + " is invalid";
  std::vector<std::string> parts;
  std::set<std::string> seen;
  for (const FieldError& e : errors) {
    std::string text = e.ToString();
    if (seen.insert(text).second) parts.push_back(std::move(text));
  }
  if (parts.empty()) return msg;
  msg += ": ";
  if (parts.size() == 1) return msg + parts[0];
  msg += "[";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) msg += ", ";
    msg += parts[i];
  }
  return msg + "]";
}

}  // namespace berth::control
