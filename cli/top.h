// `berth top nodes|pods`: the tables kubectl top prints (kubectl 1.28,
// pkg/cmd/top and pkg/metricsutil): CPU in millicores ("250m"), memory in
// whole MiB ("64Mi"), a node's share of its allocatable as CPU% and
// MEMORY%. Functions over values; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "control.pb.h"

#include "berth/common/error.h"

namespace berth::cli {

enum class TopSort { kName, kCpu, kMemory };

struct TopOptions {
  bool no_headers = false;
  bool with_namespace = false;  // -A: NAMESPACE first
  bool containers = false;      // --containers: one line per container
  TopSort sort = TopSort::kName;
};

// `nodes` are the Node objects listed; a node without metrics prints
// "<unknown>" in every column, as kubectl does.
std::string PrintTopNodes(const std::vector<v1::Object>& nodes,
                          const std::vector<v1::NodeMetrics>& metrics, const TopOptions& o);
std::string PrintTopPods(std::vector<v1::PodMetrics> pods, const TopOptions& o);

// --sort-by: "cpu" or "memory" ("" is by name). EINVAL otherwise.
Result<TopSort> ParseTopSort(const std::string& text);

}  // namespace berth::cli
