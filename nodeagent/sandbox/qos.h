// Kubernetes QoS classes and what they mean for cgroups and the OOM killer,
// as kubelet computes them: requests default to limits; Guaranteed when
// every container has cpu and memory limits equal to its requests,
// BestEffort when none has any, else Burstable. Pure functions; thread-safe.
#pragma once

#include <cstdint>

#include "manifest.h"

#include "berth/cgroups/resources.h"

namespace berth::nodeagent {

enum class QosClass { kGuaranteed, kBurstable, kBestEffort };

const char* QosClassName(QosClass q);
QosClass PodQosClass(const PodManifest& pod);

// cgroup values for one container: cpu shares from the cpu request (2 when
// none, as kubelet's MinShares), a CFS quota from the cpu limit (period
// 100 ms), memory.max from the memory limit.
cgroups::Resources ContainerResources(const Resources& r);
// The pod cgroup: shares of the summed requests; quota and memory.max of the
// summed limits when every app container has one (init containers run
// alone, so their largest value counts, as kubelet's effective requests).
cgroups::Resources PodResources(const PodManifest& pod);
// oom_score_adj: Guaranteed -997, BestEffort 1000, Burstable
// 1000 - 1000 * memory request / node memory, kept within [2, 999].
int OomScoreAdj(QosClass qos, const Resources& r, int64_t node_memory_bytes);

}  // namespace berth::nodeagent
