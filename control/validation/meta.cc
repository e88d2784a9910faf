// ObjectMeta (names, namespaces, labels, annotations, ownerReferences,
// finalizers) and label selectors, after Kubernetes' ValidateObjectMeta,
// ValidateObjectMetaUpdate and metav1validation.ValidateLabelSelector.
#include <set>

#include "validation_internal.h"

#include "berth/control/selector.h"

namespace berth::control::internal {
namespace {

// Kubernetes' limit on the sum of annotation key and value sizes.
constexpr int64_t kTotalAnnotationSizeLimit = int64_t{256} * 1024;

// The selector module words its errors `label key "k": reason`; the field
// error already shows the value, so keep only the reason.
std::string Reason(const Error& error, std::string_view what, std::string_view value) {
  const std::string prefix = std::string(what) + " " + Quote(value) + ": ";
  const std::string& msg = error.message();
  if (msg.compare(0, prefix.size(), prefix) == 0) return msg.substr(prefix.size());
  return msg;
}

bool IsStandardFinalizer(std::string_view name) {
  return name == "kubernetes" || name == "orphan" || name == "foregroundDeletion";
}

void ValidateOwnerReferences(const v1::ObjectMeta& meta, ErrorList& errs) {
  const std::string path = "metadata.ownerReferences";
  std::string controller;  // "Kind/name" of the first controller reference
  for (int i = 0; i < meta.owner_references_size(); ++i) {
    const v1::OwnerReference& ref = meta.owner_references(i);
    const std::string at = Index(path, i);
    const std::string_view api_version = ref.api_version();
    const std::string_view version = api_version.substr(api_version.rfind('/') + 1);
    if (version.empty()) {
      errs.InvalidString(Child(at, "apiVersion"), ref.api_version(), "version must not be empty");
    }
    if (ref.kind().empty()) errs.InvalidString(Child(at, "kind"), "", "kind must not be empty");
    if (ref.name().empty()) errs.InvalidString(Child(at, "name"), "", "name must not be empty");
    if (ref.uid().empty()) errs.InvalidString(Child(at, "uid"), "", "uid must not be empty");
    if (!ref.has_controller() || !ref.controller()) continue;
    const std::string who = ref.kind() + "/" + ref.name();
    if (controller.empty()) {
      controller = who;
    } else {
      std::string detail =
          "Only one reference can have Controller set to true. Found \"true\" in references for ";
      detail.append(controller).append(" and ").append(who);
      errs.InvalidOmitted(path, detail);
    }
  }
}

void ValidateFinalizers(const v1::ObjectMeta& meta, ErrorList& errs) {
  const std::string path = "metadata.finalizers";
  bool orphan = false;
  bool foreground = false;
  for (int i = 0; i < meta.finalizers_size(); ++i) {
    const std::string& f = meta.finalizers(i);
    ValidateQualifiedName(Index(path, i), f, errs);
    if (f.find('/') == std::string::npos && !IsStandardFinalizer(f)) {
      errs.InvalidString(Index(path, i), f,
                         "name is neither a standard finalizer name nor is it fully qualified");
    }
    orphan = orphan || f == "orphan";
    foreground = foreground || f == "foregroundDeletion";
  }
  if (orphan && foreground) {
    errs.InvalidOmitted(path, "finalizer orphan and foregroundDeletion cannot be both set");
  }
}

// `generateName` is a prefix: Kubernetes masks its trailing dash and
// checks the rest with the kind's name rule.
void ValidateGenerateName(std::string_view prefix, NameRule rule, ErrorList& errs) {
  std::string masked(prefix);
  if (!masked.empty() && masked.back() == '-') masked.back() = 'a';
  ErrorList inner;
  ValidateName("metadata.generateName", masked, rule, inner);
  if (!inner.empty()) {
    errs.InvalidString("metadata.generateName", prefix,
                       rule == NameRule::kDns1123Subdomain ? "must be a DNS-1123 subdomain prefix"
                                                           : "must be a DNS label prefix");
  }
}

}  // namespace

void ValidateAnnotations(const google::protobuf::Map<std::string, std::string>& annotations,
                         const std::string& path, ErrorList& errs) {
  int64_t total = 0;
  for (const std::string& k : SortedKeys(annotations)) {
    std::string lower = k;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const Status key = ValidateLabelKey(lower);
    if (!key.ok()) errs.InvalidString(path, k, Reason(key.error(), "label key", lower));
    total += static_cast<int64_t>(k.size() + annotations.at(k).size());
  }
  if (total > kTotalAnnotationSizeLimit) errs.TooLong(path, kTotalAnnotationSizeLimit);
}

void ValidateQualifiedName(const std::string& path, std::string_view name, ErrorList& errs) {
  const Status s = ValidateLabelKey(name);
  if (!s.ok()) errs.InvalidString(path, name, Reason(s.error(), "label key", name));
}

void ValidateLabelValueAt(const std::string& path, std::string_view value, ErrorList& errs) {
  const Status s = ValidateLabelValue(value);
  if (!s.ok()) errs.InvalidString(path, value, Reason(s.error(), "label value", value));
}

void ValidateLabels(const google::protobuf::Map<std::string, std::string>& labels,
                    const std::string& path, ErrorList& errs) {
  for (const std::string& k : SortedKeys(labels)) {
    ValidateQualifiedName(path, k, errs);
    ValidateLabelValueAt(path, labels.at(k), errs);
  }
}

void ValidateLabelSelector(const v1::LabelSelector& selector, const std::string& path,
                           ErrorList& errs) {
  ValidateLabels(selector.match_labels(), Child(path, "matchLabels"), errs);
  for (int i = 0; i < selector.match_expressions_size(); ++i) {
    const v1::LabelSelectorRequirement& r = selector.match_expressions(i);
    const std::string at = Index(Child(path, "matchExpressions"), i);
    const std::string& op = r.operator_();
    if (op == "In" || op == "NotIn") {
      if (r.values().empty()) {
        errs.Required(Child(at, "values"), "must be specified when `operator` is 'In' or 'NotIn'");
      }
    } else if (op == "Exists" || op == "DoesNotExist") {
      if (!r.values().empty()) {
        errs.Forbidden(Child(at, "values"),
                       "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
      }
    } else {
      errs.InvalidString(Child(at, "operator"), op, "not a valid selector operator");
    }
    ValidateQualifiedName(Child(at, "key"), r.key(), errs);
    for (int j = 0; j < r.values_size(); ++j) {
      ValidateLabelValueAt(Index(Child(at, "values"), j), r.values(j), errs);
    }
  }
}

bool SelectorIsEmpty(const v1::LabelSelector& selector) {
  return selector.match_labels().empty() && selector.match_expressions().empty();
}

bool SelectorMatches(const v1::LabelSelector& selector,
                     const google::protobuf::Map<std::string, std::string>& labels) {
  for (const auto& [k, v] : selector.match_labels()) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const v1::LabelSelectorRequirement& r : selector.match_expressions()) {
    auto it = labels.find(r.key());
    const bool has = it != labels.end();
    const bool in =
        has && std::find(r.values().begin(), r.values().end(), it->second) != r.values().end();
    const std::string& op = r.operator_();
    bool ok = false;
    if (op == "In") {
      ok = in;
    } else if (op == "NotIn") {
      ok = !in;
    } else if (op == "Exists") {
      ok = has;
    } else if (op == "DoesNotExist") {
      ok = !has;
    }
    if (!ok) return false;
  }
  return true;
}

void ValidateName(const std::string& path, std::string_view name, NameRule rule, ErrorList& errs) {
  switch (rule) {
    case NameRule::kDns1123Subdomain:
      ValidateDns1123Subdomain(path, name, errs);
      return;
    case NameRule::kDns1123Label:
      ValidateDns1123Label(path, name, errs);
      return;
    case NameRule::kDns1035Label:
      if (name.empty()) {
        errs.Required(path);
        return;
      }
      if (name.size() > 63) errs.InvalidString(path, name, "must be no more than 63 characters");
      if (!IsDns1035Label(name.substr(0, 63))) {
        errs.InvalidString(path, name, "must be a DNS-1035 label");
      }
      return;
  }
}

void ValidateObjectMeta(const v1::ObjectMeta& meta, bool namespaced, NameRule rule,
                        ErrorList& errs) {
  if (!meta.generate_name().empty()) ValidateGenerateName(meta.generate_name(), rule, errs);
  if (!meta.name().empty()) {
    ValidateName("metadata.name", meta.name(), rule, errs);
  } else if (meta.generate_name().empty()) {
    errs.Required("metadata.name", "name or generateName is required");
  }
  if (namespaced) {
    ValidateDns1123Label("metadata.namespace", meta.namespace_(), errs);
  } else if (!meta.namespace_().empty()) {
    errs.Forbidden("metadata.namespace", "not allowed on this type");
  }
  if (meta.generation() < 0)
    errs.InvalidInt("metadata.generation", meta.generation(), kNonNegative);
  ValidateLabels(meta.labels(), "metadata.labels", errs);
  ValidateAnnotations(meta.annotations(), "metadata.annotations", errs);
  ValidateOwnerReferences(meta, errs);
  ValidateFinalizers(meta, errs);
}

void ValidateObjectMetaUpdate(const v1::ObjectMeta& updated, const v1::ObjectMeta& old,
                              ErrorList& errs) {
  if (updated.name() != old.name()) errs.InvalidString("metadata.name", updated.name(), kImmutable);
  if (updated.namespace_() != old.namespace_()) {
    errs.InvalidString("metadata.namespace", updated.namespace_(), kImmutable);
  }
  // An empty uid keeps the stored one (the apiserver's BeforeUpdate fills it in).
  if (!updated.uid().empty() && updated.uid() != old.uid()) {
    errs.InvalidString("metadata.uid", updated.uid(), kImmutable);
  }
  if (old.has_deletion_timestamp()) {
    const std::set<std::string> before(old.finalizers().begin(), old.finalizers().end());
    std::string added;
    for (const std::string& f : updated.finalizers()) {
      if (before.count(f) == 0) added += (added.empty() ? "" : ", ") + Quote(f);
    }
    if (!added.empty()) {
      errs.Forbidden("metadata.finalizers",
                     "no new finalizers can be added if the object is being deleted, found new "
                     "finalizers []string{" +
                         added + "}");
    }
  }
}

}  // namespace berth::control::internal
