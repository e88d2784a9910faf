// kubectl's ways of naming objects on the command line: "pods",
// "pods web api", "pod/web", "deploy/web svc/web", "pods,services", "all"
// (pods, services, daemonsets, deployments, replicasets, jobs).
//
// Functions only; thread-safe. Errors: EINVAL in kubectl's words for an
// unknown resource type or a mix of forms.
#pragma once

#include <string>
#include <vector>

#include "berth/api/kinds.h"
#include "berth/common/error.h"

namespace berth::cli {

struct ResourceRef {
  const api::KindInfo* kind = nullptr;
  std::string name;  // empty: every object of the kind
};

Result<std::vector<ResourceRef>> ParseResourceArgs(const std::vector<std::string>& args);
Result<const api::KindInfo*> ParseKind(const std::string& type);

}  // namespace berth::cli
