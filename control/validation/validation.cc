// The public entry points: kind facts (name, API version, scope, name
// rule), Validate / ValidateUpdate dispatching to the per-kind rules, and
// the kubectl-shaped message (Kubernetes' errors.NewInvalid).
#include <set>
#include <type_traits>

#include "validation_internal.h"

#include "berth/api/kinds.h"

namespace berth::control {
namespace {

using internal::ErrorList;
using internal::NameRule;

// Name rules as Kubernetes has them: namespaces are DNS labels (they become
// DNS names' parts), Services DNS-1035 labels (they become env var names and
// DNS names), everything else DNS subdomains. The kinds themselves are
// api::AllKinds().
NameRule NameRuleOf(v1::Object::ObjectCase c) {
  if (c == v1::Object::kNamespace) return NameRule::kDns1123Label;
  if (c == v1::Object::kService) return NameRule::kDns1035Label;
  return NameRule::kDns1123Subdomain;
}

const api::KindInfo* InfoOf(std::string_view kind) {
  const api::KindInfo* info = api::FindKind(kind);
  return info != nullptr && info->kind == kind ? info : nullptr;
}

// apiVersion and kind inside the message, when a client sent them, must
// name the message's own kind.
template <typename T>
void ValidateTypeMeta(const T& message, const api::KindInfo& info, ErrorList& errs) {
  if (!message.api_version().empty() && message.api_version() != info.api_version) {
    errs.Unsupported("apiVersion", message.api_version(), {info.api_version});
  }
  if (!message.kind().empty() && message.kind() != info.kind) {
    errs.Unsupported("kind", message.kind(), {info.kind});
  }
}

void ValidateInto(const v1::Object& object, ErrorList& errs) {
  const api::KindInfo* info = api::KindOf(object);
  if (info == nullptr) {
    errs.Required("kind");
    return;
  }
  internal::VisitKind(object, [&](const auto& message) {
    ValidateTypeMeta(message, *info, errs);
    internal::ValidateObjectMeta(message.metadata(), info->namespaced,
                                 NameRuleOf(info->object_case), errs);
    internal::ValidateKind(message, errs);
  });
}

}  // namespace

std::string FieldError::ToString() const { return path.empty() ? detail : path + ": " + detail; }

std::string_view KindOf(const v1::Object& object) {
  const api::KindInfo* info = api::KindOf(object);
  return info == nullptr ? std::string_view() : info->kind;
}

std::string_view ApiVersionOf(std::string_view kind) {
  const api::KindInfo* info = InfoOf(kind);
  return info == nullptr ? std::string_view() : info->api_version;
}

bool IsNamespaced(std::string_view kind) {
  const api::KindInfo* info = InfoOf(kind);
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
  const api::KindInfo* info = api::KindOf(object);
  const std::string qualified = info == nullptr ? "Object" : api::QualifiedKind(*info);
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
