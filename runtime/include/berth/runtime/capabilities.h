// Linux capabilities for container processes, through libcap.
//
// Owns: nothing long-lived; ApplyCapabilities changes the calling process's
// capability sets (run it in the container child, single-threaded).
// Thread-safety: ParseCapability and DefaultCapabilities are pure and
// thread-safe; the two process-changing calls act on the calling thread.
// Errors: EINVAL naming an unknown capability name and the set it is in
// ("bounding: unknown capability \"CAP_FOO\""); otherwise the errno of the
// failing prctl/capset, naming the capability.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "berth/common/error.h"
#include "berth/runtime/spec.h"

namespace berth::runtime {

// "CAP_NET_RAW" -> 13 (case-insensitive). EINVAL naming the name when unknown
// to libcap. The number may exceed what the running kernel knows.
Result<int> ParseCapability(std::string_view name);

// The 14 capabilities Docker grants by default (moby oci/caps/defaults.go).
const std::vector<std::string>& DefaultCapabilities();

// Capabilities all sets get when a spec gives no process.capabilities:
// DefaultCapabilities() as bounding, effective and permitted.
Capabilities DefaultCapabilitySets();

// PR_SET_KEEPCAPS, so the permitted set survives the switch from uid 0 to the
// container user (see man 7 capabilities, "Effect of user ID changes").
Status KeepCapsAcrossSetuid();

// Makes the calling process's capabilities exactly `caps`: drops from the
// bounding set what `caps.bounding` lacks, sets effective, permitted and
// inheritable, then clears the ambient set and raises the listed ambient
// ones. Works before or after the uid switch (it first re-enables the
// permitted set, since setuid(2) clears the effective one). Capabilities the
// running kernel does not know (above /proc/sys/kernel/cap_last_cap) are
// skipped and returned as warnings, not errors. `proc_dir` is where procfs
// is mounted (a parameter so tests can fake cap_last_cap).
Result<std::vector<std::string>> ApplyCapabilities(const Capabilities& caps,
                                                   const std::string& proc_dir = "/proc");

}  // namespace berth::runtime
