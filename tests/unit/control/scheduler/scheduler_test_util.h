// Builders for scheduler tests: small nodes and pods with readable defaults.
#pragma once

#include <string>
#include <utility>

#include "berth/control/scheduler/types.h"

namespace berth::control::scheduler::testing {

constexpr int64_t kGi = int64_t{1} << 30;

inline NodeInfo MakeNode(std::string name, int64_t cpu_milli = 4000, int64_t memory = 8 * kGi,
                         int64_t pods = 110) {
  NodeInfo n;
  n.name = std::move(name);
  n.allocatable = {cpu_milli, memory, pods};
  return n;
}

inline PodInfo MakePod(std::string name, int64_t cpu_milli = 100, int64_t memory = kGi / 4,
                       int32_t priority = 0) {
  PodInfo p;
  p.namespace_ = "default";
  p.uid = "uid-" + name;
  p.name = std::move(name);
  p.requests = {cpu_milli, memory, 0};
  p.priority = priority;
  return p;
}

}  // namespace berth::control::scheduler::testing
