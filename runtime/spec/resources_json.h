// linux.resources <-> cgroups::Resources, in both directions, under the OCI
// names (cpu.shares, memory.limit, blockIO.weightDevice, ...). Private to
// runtime/spec.
#pragma once

#include <nlohmann/json.hpp>

#include "json_reader.h"

#include "berth/cgroups/resources.h"
#include "berth/common/error.h"

namespace berth::runtime::spec_internal {

Status ParseResources(JsonReader& r, cgroups::Resources* res);

// The inverse of ParseResources: ParseResources(ResourcesToJson(x)) == x.
nlohmann::ordered_json ResourcesToJson(const cgroups::Resources& res);

}  // namespace berth::runtime::spec_internal
