// What the Deployment controller's files and the rollback functions share
// (Kubernetes' pkg/controller/deployment/util): revision numbers, template
// comparison and hashing, the resolved maxSurge/maxUnavailable, ordering of
// ReplicaSets and the condition helpers.
//
// Functions only; thread-safe. Errors: EINVAL for a malformed
// maxSurge/maxUnavailable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "control.pb.h"

#include "berth/common/error.h"
#include "berth/control/rollout.h"

namespace berth::control::deployment_internal {

// Condition types and reasons (deploymentutil's constants).
inline constexpr std::string_view kAvailable = "Available";
inline constexpr std::string_view kProgressing = "Progressing";
inline constexpr std::string_view kReplicaFailure = "ReplicaFailure";
inline constexpr std::string_view kMinimumReplicasAvailable = "MinimumReplicasAvailable";
inline constexpr std::string_view kMinimumReplicasUnavailable = "MinimumReplicasUnavailable";
inline constexpr std::string_view kNewReplicaSetCreated = "NewReplicaSetCreated";
inline constexpr std::string_view kFoundNewReplicaSet = "FoundNewReplicaSet";
inline constexpr std::string_view kReplicaSetUpdated = "ReplicaSetUpdated";
inline constexpr std::string_view kNewReplicaSetAvailable = "NewReplicaSetAvailable";
inline constexpr std::string_view kProgressDeadlineExceeded = "ProgressDeadlineExceeded";
inline constexpr std::string_view kDeploymentPaused = "DeploymentPaused";
inline constexpr std::string_view kDeploymentResumed = "DeploymentResumed";

// The revision annotation as a number; 0 when missing or not a number.
int64_t RevisionOf(const v1::ObjectMeta& meta);
// The highest revision among `sets` (0 for none).
int64_t MaxRevision(const std::vector<v1::ReplicaSet>& sets);

// Templates equal but for the pod-template-hash label (EqualIgnoreHash).
bool EqualIgnoreHash(const v1::PodTemplateSpec& a, const v1::PodTemplateSpec& b);
// PodTemplateHash over the template's deterministic serialization (map
// entries sorted by key, so equal templates hash equally).
std::string TemplateHash(const v1::PodTemplateSpec& tmpl, int32_t collision_count);

// maxSurge and maxUnavailable resolved against spec.replicas the way
// deploymentutil.MaxSurge/MaxUnavailable do: both 0 for Recreate,
// maxUnavailable 0 for 0 replicas and never above spec.replicas.
Result<RollingLimits> LimitsOf(const v1::Deployment& d);

// Annotations a ReplicaSet does not copy from its Deployment, nor kubectl
// from a ReplicaSet back into the Deployment on rollback.
bool SkippedAnnotation(std::string_view key);

// spec.replicas > 0 (FilterActiveReplicaSets).
bool IsActive(const v1::ReplicaSet& rs);
// Oldest first: creation time, then revision, then name.
void SortOldestFirst(std::vector<v1::ReplicaSet>& sets);
// The controlling owner is the Deployment with this uid.
bool ControlledBy(const v1::ObjectMeta& meta, const std::string& uid);

// Conditions (deploymentutil's Get/Set/RemoveDeploymentCondition). Set
// keeps the existing condition when status and reason are unchanged, and
// its lastTransitionTime when only the reason changed.
const v1::WorkloadCondition* GetCondition(const v1::DeploymentStatus& status,
                                          std::string_view type);
v1::WorkloadCondition NewCondition(std::string_view type, std::string_view status,
                                   std::string_view reason, std::string message,
                                   std::chrono::system_clock::time_point now);
void SetCondition(v1::DeploymentStatus& status, v1::WorkloadCondition condition);
void RemoveCondition(v1::DeploymentStatus& status, std::string_view type);

// spec.progressDeadlineSeconds set and not "never" (MaxInt32).
bool HasProgressDeadline(const v1::Deployment& d);

// Every replica updated, present and available, and this generation
// observed (DeploymentComplete).
bool DeploymentComplete(const v1::Deployment& d, const v1::DeploymentStatus& status);

}  // namespace berth::control::deployment_internal
