// Kubernetes' crash-loop back-off for restarting a container: the first
// restart waits `base` (10 s), each further one doubles up to `max` (5 min),
// and a container that ran for `reset` (10 min) starts over. Pure; time is
// passed in. Not thread-safe (one per container).
#pragma once

#include <algorithm>
#include <chrono>

namespace berth::nodeagent {

struct BackoffPolicy {
  std::chrono::milliseconds base{std::chrono::seconds(10)};
  std::chrono::milliseconds max{std::chrono::minutes(5)};
  std::chrono::milliseconds reset{std::chrono::minutes(10)};
};

class CrashBackoff {
 public:
  explicit CrashBackoff(BackoffPolicy policy = {}) : policy_(policy) {}

  // The delay before restarting a container that ran for `ran`.
  std::chrono::milliseconds Next(std::chrono::milliseconds ran) {
    if (ran >= policy_.reset) current_ = std::chrono::milliseconds(0);
    current_ = current_.count() == 0 ? policy_.base : std::min(current_ * 2, policy_.max);
    return current_;
  }
  std::chrono::milliseconds current() const { return current_; }

 private:
  BackoffPolicy policy_;
  std::chrono::milliseconds current_{0};
};

}  // namespace berth::nodeagent
