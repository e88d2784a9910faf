// API objects in the scheduling core's terms (berth/control/scheduler):
// what the scheduler service decides on and what the DaemonSet controller
// checks a node with. Functions only; thread-safe.
#pragma once

#include "control.pb.h"

#include "berth/control/scheduler/types.h"

namespace berth::control {

// Requests, node selector, required affinity, tolerations, host ports,
// anti-affinity, priority and owner of a pod.
scheduler::PodInfo PodInfoOf(const v1::Pod& pod);
// A node's labels, allocatable, taints, cordon and readiness, without the
// pods placed on it.
scheduler::NodeInfo NodeInfoOf(const v1::Node& node);

}  // namespace berth::control
