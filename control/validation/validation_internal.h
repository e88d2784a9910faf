// Shared pieces of berth_control_validation (private to the library): the
// error list that renders Kubernetes' field.Error shapes, field paths, Go-like
// value rendering, string formats (DNS names, IANA port names, IPs, config
// keys), quantities, labels and selectors, and the per-kind entry points the
// dispatch in validation.cc and defaults.cc call. Values only; thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control.pb.h"

#include "berth/control/validation.h"

namespace berth::control::internal {

// --- Paths --------------------------------------------------------------------

// "spec" + "replicas" -> "spec.replicas"; "" + "spec" -> "spec".
std::string Child(std::string_view base, std::string_view name);
// "spec.containers" + 0 -> "spec.containers[0]".
std::string Index(std::string_view base, size_t i);
// "metadata.labels" + "app" -> "metadata.labels[app]".
std::string Key(std::string_view base, std::string_view key);

// --- Rendering values the way field.Error prints them --------------------------

// Go's %q: "a\"b".
std::string Quote(std::string_view s);
// Go's %#v of map[string]string: map[string]string{"a":"b"} (nil when empty).
std::string RenderLabels(const google::protobuf::Map<std::string, std::string>& labels);
// Go's %#v of a metav1.LabelSelector, as the famous immutable-selector error shows it.
std::string RenderSelector(const v1::LabelSelector& selector);
// An IntOrString held in a protobuf Value: 8080 or "http".
std::string RenderIntOrString(const google::protobuf::Value& value);

// --- Errors -------------------------------------------------------------------

// Collects FieldErrors with Kubernetes' wording for each error type
// (k8s.io/apimachinery/pkg/util/validation/field/errors.go).
class ErrorList {
 public:
  void Required(std::string path, std::string_view detail = {});
  // `rendered` is the bad value already rendered (Quote() a string).
  void Invalid(std::string path, std::string_view rendered, std::string_view detail);
  void InvalidString(std::string path, std::string_view value, std::string_view detail) {
    Invalid(std::move(path), Quote(value), detail);
  }
  void InvalidInt(std::string path, int64_t value, std::string_view detail) {
    Invalid(std::move(path), std::to_string(value), detail);
  }
  // field.Invalid with an omitted value: "Invalid value: <detail>".
  void InvalidOmitted(std::string path, std::string_view detail);
  void Unsupported(std::string path, std::string_view value,
                   const std::vector<std::string_view>& supported);
  void Duplicate(std::string path, std::string_view rendered);
  void NotFound(std::string path, std::string_view rendered);
  void Forbidden(std::string path, std::string_view detail);
  void TooLong(std::string path, int64_t max_bytes);
  void TooMany(std::string path, int64_t actual, int64_t max);

  void Append(ErrorList&& other);

  bool empty() const { return errors_.empty(); }
  size_t size() const { return errors_.size(); }
  std::vector<FieldError> Take() && { return std::move(errors_); }

 private:
  void Add(std::string path, std::string detail);
  std::vector<FieldError> errors_;
};

// Kubernetes' message texts shared by several files.
inline constexpr std::string_view kNonNegative = "must be greater than or equal to 0";
inline constexpr std::string_view kImmutable = "field is immutable";
std::string InclusiveRange(int64_t lo, int64_t hi);  // "must be between 1 and 65535, inclusive"

// --- Formats (formats.cc) -----------------------------------------------------

bool IsDns1123Label(std::string_view s);
bool IsDns1123Subdomain(std::string_view s);
bool IsDns1035Label(std::string_view s);
// Each reports "Invalid value" (or "Required value" when empty) at `path`.
void ValidateDns1123Label(const std::string& path, std::string_view value, ErrorList& errs);
void ValidateDns1123Subdomain(const std::string& path, std::string_view value, ErrorList& errs);
// IANA_SVC_NAME (RFC 6335): what is wrong with a port name; empty = valid.
std::vector<std::string> PortNameErrors(std::string_view name);
bool IsIp(std::string_view s);
bool IsCidr(std::string_view s);
// ConfigMap and Secret keys; empty = valid.
std::vector<std::string> ConfigKeyErrors(std::string_view key);
// Kubernetes' relaxed env var name: printable ASCII other than '='.
bool IsEnvVarName(std::string_view s);
bool IsAbsolutePath(std::string_view s);

// A port given as a number or an IANA name (probes, Service targetPort).
// A Value with no kind is "Required value".
void ValidatePortNumOrName(const google::protobuf::Value& port, const std::string& path,
                           ErrorList& errs);
// The integral number a Value holds, if it holds one.
std::optional<int64_t> IntegerOf(const google::protobuf::Value& value);

// --- Quantities ---------------------------------------------------------------

enum class QuantityKind {
  kCpu,    // millicores
  kBytes,  // bytes (memory, storage)
  kCount,  // whole numbers (pods, services, count/*)
};
// The quantity's value (millicores for kCpu), or nullopt after reporting why
// it is not one ("quantities must match ...", "must be greater than or
// equal to 0", "must be an integer").
std::optional<int64_t> ValidateQuantity(const std::string& path, std::string_view text,
                                        QuantityKind kind, ErrorList& errs);
// cpu-like resource names (cpu, requests.cpu, limits.cpu) are millicores,
// memory-like are bytes, the rest counts.
QuantityKind QuantityKindOf(std::string_view resource);

// --- Labels and selectors (meta.cc) ---------------------------------------------

// Keys and values of a label map (metadata.labels, nodeSelector, Service
// selector), errors at `path` as Kubernetes reports them.
void ValidateLabels(const google::protobuf::Map<std::string, std::string>& labels,
                    const std::string& path, ErrorList& errs);
// Keys (qualified names) and the 256 KiB total size.
void ValidateAnnotations(const google::protobuf::Map<std::string, std::string>& annotations,
                         const std::string& path, ErrorList& errs);
void ValidateQualifiedName(const std::string& path, std::string_view name, ErrorList& errs);
void ValidateLabelValueAt(const std::string& path, std::string_view value, ErrorList& errs);
// matchLabels and matchExpressions (operators In, NotIn, Exists, DoesNotExist).
void ValidateLabelSelector(const v1::LabelSelector& selector, const std::string& path,
                           ErrorList& errs);
bool SelectorIsEmpty(const v1::LabelSelector& selector);
// Whether `selector` (assumed valid) selects `labels`; an unknown operator
// matches nothing.
bool SelectorMatches(const v1::LabelSelector& selector,
                     const google::protobuf::Map<std::string, std::string>& labels);

template <typename Map>
std::vector<std::string> SortedKeys(const Map& map) {
  std::vector<std::string> keys;
  keys.reserve(map.size());
  for (const auto& [k, v] : map) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

// --- Metadata (meta.cc) ---------------------------------------------------------

enum class NameRule { kDns1123Subdomain, kDns1123Label, kDns1035Label };
void ValidateName(const std::string& path, std::string_view name, NameRule rule, ErrorList& errs);
void ValidateObjectMeta(const v1::ObjectMeta& meta, bool namespaced, NameRule rule,
                        ErrorList& errs);
void ValidateObjectMetaUpdate(const v1::ObjectMeta& updated, const v1::ObjectMeta& old,
                              ErrorList& errs);

// --- Pods (pod.cc, container.cc) ------------------------------------------------

struct PodSpecRules {
  // The restart policies the owner allows (a bare Pod: all three).
  std::vector<std::string_view> restart_policies;
  // "ReplicaSet" etc. when activeDeadlineSeconds is forbidden in the template.
  std::string_view forbid_active_deadline_for;
};
void ValidatePodSpec(const v1::PodSpec& spec, const std::string& path, const PodSpecRules& rules,
                     ErrorList& errs);
// Both container lists of `spec`, with the names of its volumes.
void ValidateContainers(const v1::PodSpec& spec, const std::string& path, ErrorList& errs);
void ValidatePodSpecUpdate(const v1::PodSpec& updated, const v1::PodSpec& old,
                           const std::string& path, ErrorList& errs);

// --- Per kind: create, update ----------------------------------------------------

void ValidateKind(const v1::Pod& pod, ErrorList& errs);
void ValidateKind(const v1::ReplicaSet& rs, ErrorList& errs);
void ValidateKind(const v1::Deployment& d, ErrorList& errs);
void ValidateKind(const v1::DaemonSet& ds, ErrorList& errs);
void ValidateKind(const v1::Job& job, ErrorList& errs);
void ValidateKind(const v1::Service& svc, ErrorList& errs);
void ValidateKind(const v1::Endpoints& ep, ErrorList& errs);
void ValidateKind(const v1::ConfigMap& cm, ErrorList& errs);
void ValidateKind(const v1::Secret& secret, ErrorList& errs);
void ValidateKind(const v1::Namespace& ns, ErrorList& errs);
void ValidateKind(const v1::Node& node, ErrorList& errs);
void ValidateKind(const v1::ResourceQuota& quota, ErrorList& errs);
void ValidateKind(const v1::LimitRange& lr, ErrorList& errs);
void ValidateKind(const v1::PriorityClass& pc, ErrorList& errs);
void ValidateKind(const v1::Event& event, ErrorList& errs);
void ValidateKind(const v1::Lease& lease, ErrorList& errs);

void ValidateKindUpdate(const v1::Pod& updated, const v1::Pod& old, ErrorList& errs);
void ValidateKindUpdate(const v1::ReplicaSet& updated, const v1::ReplicaSet& old, ErrorList& errs);
void ValidateKindUpdate(const v1::Deployment& updated, const v1::Deployment& old, ErrorList& errs);
void ValidateKindUpdate(const v1::DaemonSet& updated, const v1::DaemonSet& old, ErrorList& errs);
void ValidateKindUpdate(const v1::Job& updated, const v1::Job& old, ErrorList& errs);
void ValidateKindUpdate(const v1::Service& updated, const v1::Service& old, ErrorList& errs);
void ValidateKindUpdate(const v1::ConfigMap& updated, const v1::ConfigMap& old, ErrorList& errs);
void ValidateKindUpdate(const v1::Secret& updated, const v1::Secret& old, ErrorList& errs);
void ValidateKindUpdate(const v1::Node& updated, const v1::Node& old, ErrorList& errs);
void ValidateKindUpdate(const v1::PriorityClass& updated, const v1::PriorityClass& old,
                        ErrorList& errs);
// Kinds without update rules beyond metadata.
template <typename T>
void ValidateKindUpdate(const T& /*updated*/, const T& /*old*/, ErrorList& /*errs*/) {}

// --- Defaults (defaults.cc, pod_defaults.cc) -------------------------------------

// restartPolicy is defaulted to Always unless the owner (a Job) leaves it.
void DefaultPodSpec(v1::PodSpec& spec, bool default_restart_policy);

// Calls f(message) with the concrete message set in the oneof; false when
// nothing is set.
template <typename F>
bool VisitKind(const v1::Object& object, F&& f) {
  switch (object.object_case()) {
    case v1::Object::kNamespace:
      f(object.namespace_());
      return true;
    case v1::Object::kNode:
      f(object.node());
      return true;
    case v1::Object::kPod:
      f(object.pod());
      return true;
    case v1::Object::kReplicaSet:
      f(object.replica_set());
      return true;
    case v1::Object::kDeployment:
      f(object.deployment());
      return true;
    case v1::Object::kDaemonSet:
      f(object.daemon_set());
      return true;
    case v1::Object::kJob:
      f(object.job());
      return true;
    case v1::Object::kService:
      f(object.service());
      return true;
    case v1::Object::kEndpoints:
      f(object.endpoints());
      return true;
    case v1::Object::kConfigMap:
      f(object.config_map());
      return true;
    case v1::Object::kSecret:
      f(object.secret());
      return true;
    case v1::Object::kResourceQuota:
      f(object.resource_quota());
      return true;
    case v1::Object::kLimitRange:
      f(object.limit_range());
      return true;
    case v1::Object::kPriorityClass:
      f(object.priority_class());
      return true;
    case v1::Object::kEvent:
      f(object.event());
      return true;
    case v1::Object::kLease:
      f(object.lease());
      return true;
    case v1::Object::OBJECT_NOT_SET:
      break;
  }
  return false;
}

// The same with a mutable message.
template <typename F>
bool VisitMutableKind(v1::Object& object, F&& f) {
  switch (object.object_case()) {
    case v1::Object::kNamespace:
      f(*object.mutable_namespace_());
      return true;
    case v1::Object::kNode:
      f(*object.mutable_node());
      return true;
    case v1::Object::kPod:
      f(*object.mutable_pod());
      return true;
    case v1::Object::kReplicaSet:
      f(*object.mutable_replica_set());
      return true;
    case v1::Object::kDeployment:
      f(*object.mutable_deployment());
      return true;
    case v1::Object::kDaemonSet:
      f(*object.mutable_daemon_set());
      return true;
    case v1::Object::kJob:
      f(*object.mutable_job());
      return true;
    case v1::Object::kService:
      f(*object.mutable_service());
      return true;
    case v1::Object::kEndpoints:
      f(*object.mutable_endpoints());
      return true;
    case v1::Object::kConfigMap:
      f(*object.mutable_config_map());
      return true;
    case v1::Object::kSecret:
      f(*object.mutable_secret());
      return true;
    case v1::Object::kResourceQuota:
      f(*object.mutable_resource_quota());
      return true;
    case v1::Object::kLimitRange:
      f(*object.mutable_limit_range());
      return true;
    case v1::Object::kPriorityClass:
      f(*object.mutable_priority_class());
      return true;
    case v1::Object::kEvent:
      f(*object.mutable_event());
      return true;
    case v1::Object::kLease:
      f(*object.mutable_lease());
      return true;
    case v1::Object::OBJECT_NOT_SET:
      break;
  }
  return false;
}

}  // namespace berth::control::internal
