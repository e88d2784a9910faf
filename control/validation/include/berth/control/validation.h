// Validation and defaulting of the control service's API objects, as
// Kubernetes' apiserver does it (pkg/apis/*/validation, pkg/apis/*/v1
// defaults, the registry strategies' PrepareForCreate): every write is
// ApplyDefaults, then Validate (create) or ValidateUpdate (update against the
// stored object); a non-empty error list becomes INVALID_ARGUMENT with
// InvalidMessage as its text, shaped like kubectl's
// `Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: ...]`.
//
// Owns nothing; every function is a pure function of its arguments and
// thread-safe. Rules that need other objects (a unique global-default
// PriorityClass, quota usage, node-port allocation) are the caller's.
// Errors are values: a list of FieldError, empty when the object is valid.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "control.pb.h"

namespace berth::control {

// One violated rule, as Kubernetes' field.Error renders it.
struct FieldError {
  std::string path;    // "spec.template.spec.containers[0].image"
  std::string detail;  // "Required value", "Invalid value: -1: must be greater than ..."

  // "path: detail" (just the detail for an empty path).
  std::string ToString() const;
  bool operator==(const FieldError&) const = default;
};

// Kubernetes' defaults, applied on every write before validation; only
// unset fields are touched and applying twice changes nothing. Among them:
// namespace "default" (cleared for cluster-scoped kinds), apiVersion/kind,
// pod restartPolicy Always, terminationGracePeriodSeconds 30, schedulerName,
// imagePullPolicy by tag, port protocols, probe timings; replicas 1;
// Deployment RollingUpdate 25%/25%, revisionHistoryLimit 10,
// progressDeadlineSeconds 600; DaemonSet RollingUpdate 1/0; Job
// parallelism/completions 1, backoffLimit 6 and, without manualSelector, a
// selector and template labels controller-uid=<metadata.uid>,
// job-name=<name> (so the caller sets metadata.uid first); Service
// ClusterIP/None/TCP/targetPort=port; Secret type Opaque with stringData
// merged into data; Namespace phase Active; Event count 1; PriorityClass
// PreemptLowerPriority; LimitRange container defaults from max/min.
// Workloads without a selector get none: that is a validation error.
void ApplyDefaults(v1::Object& object);

// Create-time validation; empty = valid.
std::vector<FieldError> Validate(const v1::Object& object);

// Update-time: Validate(updated) plus the immutability rules against the
// stored object `old` (names, selectors, Job templates, Service clusterIP,
// Pod specs except images, activeDeadlineSeconds, toleration additions and
// binding, immutable ConfigMaps and Secrets). A different kind in `updated`
// and `old` is an error on "kind". An empty updated metadata.uid means "keep
// the stored one", as the apiserver fills it in before validating.
std::vector<FieldError> ValidateUpdate(const v1::Object& updated, const v1::Object& old);

// `Deployment.apps "web" is invalid: [a, b]`; one error without brackets,
// duplicates dropped (Kubernetes' errors.NewInvalid).
std::string InvalidMessage(const v1::Object& object, const std::vector<FieldError>& errors);

// The kind set in the oneof as Kubernetes spells it ("Deployment"); "" when
// nothing is set.
std::string_view KindOf(const v1::Object& object);
// "v1", "apps/v1", "batch/v1", "scheduling.k8s.io/v1", "coordination.k8s.io/v1"
// for a kind KindOf returns; "" for an unknown kind.
std::string_view ApiVersionOf(std::string_view kind);
// False for the cluster-scoped kinds: Namespace, Node, PriorityClass.
bool IsNamespaced(std::string_view kind);
// The object's metadata; the default (empty) instance when nothing is set.
const v1::ObjectMeta& MetadataOf(const v1::Object& object);
// Mutable metadata; nullptr when nothing is set.
v1::ObjectMeta* MutableMetadataOf(v1::Object& object);

}  // namespace berth::control
