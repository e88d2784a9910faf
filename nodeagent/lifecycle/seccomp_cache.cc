#include "seccomp_cache.h"

#include "berth/runtime/seccomp.h"

namespace berth::nodeagent {

Result<std::string> SeccompCache::Program(const runtime::Seccomp& profile) {
  runtime::Spec keyed;
  keyed.linux_spec.emplace();
  keyed.linux_spec->seccomp = profile;
  const std::string key = runtime::SpecToJson(keyed);
  {
    std::lock_guard lock(mu_);
    auto it = programs_.find(key);
    if (it != programs_.end()) return it->second;
  }
  // Compiled outside the lock; two threads may both compile a new profile once.
  BERTH_ASSIGN_OR_RETURN(runtime::SeccompFilter filter, runtime::SeccompFilter::Build(profile));
  BERTH_ASSIGN_OR_RETURN(std::string program, filter.ExportBpf());
  std::lock_guard lock(mu_);
  return programs_.emplace(key, std::move(program)).first->second;
}

}  // namespace berth::nodeagent
