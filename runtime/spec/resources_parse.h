// linux.resources -> cgroups::Resources. Private to runtime/spec.
#pragma once

#include "json_reader.h"

#include "berth/cgroups/resources.h"
#include "berth/common/error.h"

namespace berth::runtime::spec_internal {

Status ParseResources(JsonReader& r, cgroups::Resources* res);

}  // namespace berth::runtime::spec_internal
