// Compute resources as Kubernetes' quota and limit-range admission reads
// them: quantities by resource name (cpu in millicores, memory and object
// counts in units), a pod's effective requests and limits
// (resourcehelper.PodRequests/PodLimits: the sum over the containers, at
// least the largest init container, since those run one at a time before
// them) and the canonical text Kubernetes prints for a quantity
// (resource.Quantity.String: "500m", "2", "1Gi", "1G").
//
// Functions only; thread-safe. Errors: EINVAL naming the resource and the
// text of a quantity that does not parse.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "control.pb.h"

#include "berth/common/error.h"

namespace berth::control {

// Values by resource name ("cpu", "memory").
using ResourceAmounts = std::map<std::string, int64_t, std::less<>>;

// "cpu", "requests.cpu" and "limits.cpu" are millicores; anything else
// (memory, pods, count/...) a plain number of units.
bool IsCpuResource(std::string_view name);
Result<int64_t> ParseResource(std::string_view name, std::string_view text);
std::string FormatResource(std::string_view name, int64_t value);

// One container's requests or limits; only cpu and memory (the resources
// Berth's validation admits).
Result<ResourceAmounts> ParseResourceList(
    const google::protobuf::Map<std::string, std::string>& list);

// The pod's requests (limits) per resource; a resource no container names
// is absent.
Result<ResourceAmounts> PodRequests(const v1::PodSpec& spec);
Result<ResourceAmounts> PodLimits(const v1::PodSpec& spec);

// Succeeded or Failed: such a pod holds no resources (quota stops counting it).
bool IsTerminal(const v1::Pod& pod);

}  // namespace berth::control
