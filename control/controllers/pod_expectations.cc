#include "berth/control/controllers/pod_expectations.h"

namespace berth::control {

bool PodExpectations::Satisfied(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(key);
  if (it == counts_.end()) return true;
  if ((it->second.adds <= 0 && it->second.deletes <= 0) ||
      std::chrono::steady_clock::now() - it->second.set > timeout_) {
    counts_.erase(it);
    return true;
  }
  return false;
}

void PodExpectations::Expect(const std::string& key, int64_t adds, int64_t deletes) {
  std::lock_guard lock(mu_);
  counts_[key] = {adds, deletes, std::chrono::steady_clock::now()};
}

void PodExpectations::CreationFailed(const std::string& key) { Observed(key, true); }

void PodExpectations::DeletionFailed(const std::string& key) { Observed(key, false); }

void PodExpectations::Observed(const std::string& key, bool added) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(key);
  if (it == counts_.end()) return;
  (added ? it->second.adds : it->second.deletes)--;
}

void PodExpectations::Forget(const std::string& key) {
  std::lock_guard lock(mu_);
  counts_.erase(key);
}

}  // namespace berth::control
