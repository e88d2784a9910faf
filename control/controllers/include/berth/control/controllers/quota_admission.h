// Admission for LimitRange and ResourceQuota, after Kubernetes' LimitRanger
// and ResourceQuota admission plugins (plugin/pkg/admission/limitranger,
// plugin/pkg/admission/resourcequota).
//
// LimitRanger, on Pod create: containers (and init containers) without a
// cpu or memory limit or request get the `default` and `defaultRequest` of
// the namespace's LimitRanges (type Container); then every LimitRange's
// min and max must hold per container (type Container) and for the pod's
// totals (type Pod), or the pod is refused with Kubernetes' words:
// `pods "x" is forbidden: maximum memory usage per Container is 1Gi, but
// limit is 2Gi`. A pod that got defaults is validated again (a default
// request above the container's own limit is invalid): the registry
// validated it before admission, the apiserver validates after.
//
// QuotaAdmission, on create of anything a ResourceQuota of the namespace
// counts (pods and their requests and limits, services, secrets,
// configmaps, count/<resource>): usage is measured from the registry and
// the create refused when it would pass a hard limit: `pods "x" is
// forbidden: exceeded quota: compute, requested: requests.memory=2Gi,
// used: requests.memory=1Gi, limited: requests.memory=2Gi`. A pod in a
// namespace whose quota limits cpu or memory must state them: `failed
// quota: compute: must specify requests.memory`. Measurement and write are
// atomic per namespace: the guard holds the namespace's lock until the
// registry's write is done, so concurrent creates cannot both squeeze under
// the last unit of quota (within this process, the store's only writer).
// Kubernetes instead charges the quota's status.used with a
// resourceVersion check; measuring costs a List per admitted create in a
// namespace with a quota and keeps status writes out of the create path
// (ResourceQuotaController keeps status current). Updates are not charged:
// Berth's pod resources are immutable and counts do not change.
//
// Add LimitRanger before QuotaAdmission (Registry::AddAdmission order): the
// quota must see the defaulted requests, as in the apiserver's plugin order.
//
// Thread-safe. Errors: EACCES for a refusal, EINVAL for a defaulted pod
// that is invalid, the registry's errors when listing.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "berth/control/controllers/resource_list.h"
#include "berth/control/registry.h"

namespace berth::control {

class LimitRanger : public Admission {
 public:
  Result<Guard> Admit(v1::Object& object, const v1::Object* old, Registry& registry) override;
};

class QuotaAdmission : public Admission {
 public:
  Result<Guard> Admit(v1::Object& object, const v1::Object* old, Registry& registry) override;

 private:
  // The namespace's lock, held by the returned guard.
  Guard LockNamespace(const std::string& ns);

  std::mutex mu_;
  // One entry per namespace that ever had a quota checked: few, kept.
  std::map<std::string, std::shared_ptr<std::mutex>> namespaces_;
};

// The usage of `resources` (ResourceQuota hard keys) in namespace `ns` as
// Kubernetes' quota evaluators count it: pods that are not terminal
// ("pods", "count/pods") and their requests and limits ("cpu" is
// "requests.cpu", "memory" "requests.memory"), objects of a kind for
// "services", "secrets", "configmaps" and "count/<plural>[.<group>]". A key
// naming no kind Berth serves is absent from the result.
Result<ResourceAmounts> MeasureQuotaUsage(Registry& registry, const std::string& ns,
                                          const std::set<std::string>& resources);

}  // namespace berth::control
