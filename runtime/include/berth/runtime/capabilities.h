// Linux capabilities for container processes, through libcap.
// ApplyCapabilities runs in the container child (single-threaded) after the
// uid switch; the rest is pure. Errors name the capability or the set.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "berth/common/error.h"
#include "berth/runtime/spec.h"

namespace berth::runtime {

// "CAP_NET_RAW" -> 13. EINVAL naming the capability when unknown.
Result<int> ParseCapability(std::string_view name);

// The 14 capabilities Docker grants by default.
const std::vector<std::string>& DefaultCapabilities();

// Capabilities all sets get when a spec gives no process.capabilities.
Capabilities DefaultCapabilitySets();

// PR_SET_KEEPCAPS, so the permitted set survives the switch to a non-zero uid.
Status KeepCapsAcrossSetuid();

// Drops from the bounding set what `caps.bounding` lacks, then sets effective,
// permitted and inheritable, then raises the ambient ones. Capabilities the
// running kernel does not know (above /proc/sys/kernel/cap_last_cap) are
// skipped and returned as warnings.
Result<std::vector<std::string>> ApplyCapabilities(const Capabilities& caps);

}  // namespace berth::runtime
