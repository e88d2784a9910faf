// Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity):
// "500m", "2", "0.5" for CPU; "128Mi", "1G", "1e3", "512" for bytes.
// Values only; thread-safe. Errors: EINVAL naming the text.
#pragma once

#include <cstdint>
#include <string_view>

#include "berth/common/error.h"

namespace berth {

// CPU in millicores ("500m" -> 500, "2" -> 2000, "0.25" -> 250).
Result<int64_t> ParseMilliCpu(std::string_view text);
// Bytes ("128Mi" -> 134217728, "1G" -> 1000000000, "1e3" -> 1000).
Result<int64_t> ParseBytes(std::string_view text);

}  // namespace berth
