// What the workload controllers share about pods: the informer indexes
// they read pods by, building a pod from a template for an owner, the
// state predicates Kubernetes' controllers use (active, ready, available)
// and the order in which surplus pods are deleted.
//
// Functions only; thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "control.pb.h"

#include "berth/control/informer.h"

namespace berth::control {

// Informer index names on the pod informer.
inline constexpr std::string_view kPodsByOwner = "controller-uid";  // the controlling owner's uid
inline constexpr std::string_view kPodsByNode = "node";             // spec.nodeName
void AddPodIndexes(Informer& pods);

// A workload's structured selector (matchLabels + matchExpressions).
Result<LabelSelector> ToSelector(const v1::LabelSelector& selector);

// The controlling owner reference (controller: true), or nullptr.
const v1::OwnerReference* ControllerOf(const v1::ObjectMeta& meta);

// A new pod (generateName "<owner>-") from `tmpl`, owned by `owner`.
v1::Object PodFromTemplate(const v1::PodTemplateSpec& tmpl, const v1::Object& owner);

// Not finished and not being deleted: counts toward replicas.
bool IsActive(const v1::Pod& pod);
bool IsReady(const v1::Pod& pod);
// Ready for at least min_ready_seconds at `now`.
bool IsAvailable(const v1::Pod& pod, int32_t min_ready_seconds,
                 std::chrono::system_clock::time_point now);

// Sorts pods so that the first ones are the best to delete when scaling
// down (Kubernetes' ActivePods ordering): not on a node before on a node,
// Pending before Running, not ready before ready, ready for less time
// before longer, more restarts before fewer, newer before older.
void SortForDeletion(std::vector<v1::Pod>& pods);

}  // namespace berth::control
