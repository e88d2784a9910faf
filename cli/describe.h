// `berth describe`: the text `kubectl describe` (kubectl 1.28,
// k8s.io/kubectl/pkg/describe) prints for Berth's API objects. The object's
// own describer where kubectl has one (Pod, Deployment, ReplicaSet,
// DaemonSet, Job, Service, Endpoints, Node, Namespace, ConfigMap, Secret,
// ResourceQuota, LimitRange, PriorityClass); kubectl's generic describer
// (the metadata block, then every field as "Field Name:  value") for Event
// and Lease. Lines are aligned as kubectl's tabwriter aligns them.
//
// Functions over values only; thread-safe; nothing fails. Times print in
// UTC (kubectl prints them in the local zone).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control.pb.h"
#include "printers.h"

namespace berth::cli {

// What kubectl's describers look up besides the object. Every part is
// optional; a section whose input is missing is left out, except as noted.
struct DescribeContext {
  // Events about the object, in any order; an event whose involvedObject
  // names another object (kind, namespace, name, or uid when both are set)
  // is skipped.
  std::vector<v1::Event> events;
  // false: no Events section at all (kubectl describe --show-events=false).
  bool show_events = true;
  // ReplicaSet, DaemonSet: "Pods Status" counts the phases of those of
  // these pods the object controls (all 0 without them). Node: the pods
  // bound to it that have not terminated make "Non-terminated Pods" and
  // "Allocated resources".
  std::optional<std::vector<v1::Pod>> pods;
  // Deployment: the ReplicaSets it controls; the one whose template is the
  // Deployment's (pod-template-hash aside) is the NewReplicaSet, the others
  // are OldReplicaSets. Empty: neither line, as kubectl.
  std::vector<v1::ReplicaSet> replica_sets;
  // Service: its Endpoints (the "Endpoints:" lines; "<none>" without).
  std::optional<v1::Endpoints> endpoints;
  // Namespace: the quotas and limit ranges in it.
  std::optional<std::vector<v1::ResourceQuota>> resource_quotas;
  std::optional<std::vector<v1::LimitRange>> limit_ranges;
  // Node: its heartbeat Lease.
  std::optional<v1::Lease> node_lease;
};

std::string Describe(const v1::Object& object, const DescribeContext& context,
                     Clock::time_point now);
// The object and the events about it, nothing else looked up.
std::string Describe(const v1::Object& object, const std::vector<v1::Event>& events,
                     Clock::time_point now);

}  // namespace berth::cli
