// Where a DaemonSet's pods run and what they look like, as Kubernetes'
// DaemonSet controller decides it (pkg/controller/daemon, util/): the
// tolerations every daemon pod gets, the node predicate
// (NodeShouldRunDaemonPod), the template hash that tells updated pods from
// old ones, and the bound pod for one node.
//
// Functions only; thread-safe. No errors.
#pragma once

#include <string>
#include <string_view>

#include "control.pb.h"

namespace berth::control {

// The label carrying the template hash of the pod's revision (Kubernetes
// names it after the ControllerRevision that holds the template).
inline constexpr std::string_view kControllerRevisionHash = "controller-revision-hash";
// The DaemonSet's generation when the pod was made (kubectl shows it).
inline constexpr std::string_view kPodTemplateGeneration = "pod-template-generation";

// The hash of a template: rollout's PodTemplateHash over the template's
// deterministic serialization. Equal templates hash equal.
std::string DaemonSetTemplateHash(const v1::PodTemplateSpec& tmpl);

// Kubernetes' AddOrUpdateDaemonPodTolerations: daemons keep running on
// NotReady and unreachable nodes (NoExecute), and ignore the pressure and
// cordon taints (NoSchedule), since they are often what fixes the node.
void AddDaemonTolerations(v1::PodSpec& spec);

// The pod of DaemonSet `ds` for `node`: its template, the hash and
// generation labels, the daemon tolerations, a controller reference, and
// spec.nodeName set. Berth binds daemon pods itself, like Kubernetes'
// controller before ScheduleDaemonSetPods: simpler than a node-affinity
// term for the scheduler, and a daemon must not wait behind other pods for
// a node's resources.
v1::Object DaemonPodFor(const v1::Object& ds, const std::string& node, const std::string& hash);

struct DaemonNodeFit {
  // A pod should be created there.
  bool should_run = false;
  // A pod already there may stay (an untolerated NoSchedule taint keeps
  // new pods away but evicts nobody; NoExecute does).
  bool should_continue_running = false;
};
// Kubernetes' NodeShouldRunDaemonPod for a daemon pod spec (tolerations
// added): spec.nodeName if set, nodeSelector, required node affinity and
// the node's NoSchedule/NoExecute taints. Node readiness, cordoning and
// resources do not matter.
DaemonNodeFit NodeShouldRunDaemonPod(const v1::Node& node, const v1::PodSpec& spec);

}  // namespace berth::control
