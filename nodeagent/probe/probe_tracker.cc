#include "probe_tracker.h"

#include <algorithm>

namespace berth::nodeagent {
namespace {

// Kubernetes validation minimums (core/v1 Probe); liveness and startup must
// use successThreshold 1, since one success is all "not dead" can mean.
Probe Normalize(ProbeType type, Probe spec) {
  spec.initial_delay_seconds = std::max<int64_t>(spec.initial_delay_seconds, 0);
  spec.period_seconds = std::max<int64_t>(spec.period_seconds, 1);
  spec.timeout_seconds = std::max<int64_t>(spec.timeout_seconds, 1);
  spec.success_threshold = std::max<int64_t>(spec.success_threshold, 1);
  spec.failure_threshold = std::max<int64_t>(spec.failure_threshold, 1);
  if (type != ProbeType::kReadiness) spec.success_threshold = 1;
  return spec;
}

// The state each probe type assumes before it has a verdict: a container is
// not ready until proven, alive until proven otherwise, and not started until
// its startup probe says so.
std::optional<ProbeResult> InitialState(ProbeType type) {
  switch (type) {
    case ProbeType::kReadiness:
      return ProbeResult::kFailure;
    case ProbeType::kLiveness:
      return ProbeResult::kSuccess;
    case ProbeType::kStartup:
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::string> FailureReason(const std::optional<ProbeTracker>& tracker) {
  if (!tracker || tracker->state() != ProbeResult::kFailure) return std::nullopt;
  return std::string(ProbeTypeName(tracker->type())) + " probe failed: " + tracker->last_message();
}

}  // namespace

const char* ProbeTypeName(ProbeType type) {
  switch (type) {
    case ProbeType::kLiveness:
      return "Liveness";
    case ProbeType::kReadiness:
      return "Readiness";
    case ProbeType::kStartup:
      return "Startup";
  }
  return "Unknown";
}

ProbeTracker::ProbeTracker(ProbeType type, const Probe& spec, TimePoint anchor)
    : type_(type), spec_(Normalize(type, spec)), state_(InitialState(type)) {
  // The first point of the period grid at or after the initial delay.
  const int64_t periods =
      (spec_.initial_delay_seconds + spec_.period_seconds - 1) / spec_.period_seconds;
  first_due_ = anchor + std::chrono::seconds(periods * spec_.period_seconds);
  next_due_ = first_due_;
}

ProbeTracker::TimePoint ProbeTracker::NextDue() const {
  return Stopped() ? TimePoint::max() : next_due_;
}

bool ProbeTracker::Stopped() const {
  switch (type_) {
    case ProbeType::kReadiness:
      return false;
    case ProbeType::kLiveness:
      return state_ == ProbeResult::kFailure;
    case ProbeType::kStartup:
      return state_.has_value();
  }
  return false;
}

bool ProbeTracker::Record(const ProbeOutcome& outcome, TimePoint now) {
  if (Stopped()) return false;
  last_message_ = outcome.message;
  if (last_result_ == outcome.result) {
    ++run_;
  } else {
    last_result_ = outcome.result;
    run_ = 1;
  }
  // The next grid point after `now`: a late attempt neither shifts the grid
  // nor is followed by a burst of catch-up runs.
  if (now >= first_due_) {
    const auto period = std::chrono::seconds(spec_.period_seconds);
    next_due_ = first_due_ + ((now - first_due_) / period + 1) * period;
  }
  const int64_t threshold =
      outcome.result == ProbeResult::kSuccess ? spec_.success_threshold : spec_.failure_threshold;
  if (run_ < threshold || state_ == outcome.result) return false;
  state_ = outcome.result;
  return true;
}

bool ProbeTracker::Healthy() const {
  if (type_ == ProbeType::kReadiness) return state_ == ProbeResult::kSuccess;
  return state_ != ProbeResult::kFailure;
}

int ProbeTracker::consecutive_failures() const {
  return last_result_ == ProbeResult::kFailure ? run_ : 0;
}

int ProbeTracker::consecutive_successes() const {
  return last_result_ == ProbeResult::kSuccess ? run_ : 0;
}

ContainerProbes::ContainerProbes(const std::optional<Probe>& startup,
                                 const std::optional<Probe>& liveness,
                                 const std::optional<Probe>& readiness, TimePoint started)
    : liveness_spec_(liveness), readiness_spec_(readiness) {
  if (startup) {
    startup_.emplace(ProbeType::kStartup, *startup, started);
    return;
  }
  if (liveness_spec_) liveness_.emplace(ProbeType::kLiveness, *liveness_spec_, started);
  if (readiness_spec_) readiness_.emplace(ProbeType::kReadiness, *readiness_spec_, started);
}

std::vector<ProbeType> ContainerProbes::Due(TimePoint now) const {
  std::vector<ProbeType> due;
  for (const auto* t : {&startup_, &liveness_, &readiness_}) {
    if (t->has_value() && (*t)->Due(now)) due.push_back((*t)->type());
  }
  return due;
}

ContainerProbes::TimePoint ContainerProbes::NextDue() const {
  TimePoint next = TimePoint::max();
  for (const auto* t : {&startup_, &liveness_, &readiness_}) {
    if (t->has_value()) next = std::min(next, (*t)->NextDue());
  }
  return next;
}

void ContainerProbes::Record(ProbeType type, const ProbeOutcome& outcome, TimePoint now) {
  ProbeTracker* tracker = Mutable(type);
  if (tracker == nullptr) return;
  const bool changed = tracker->Record(outcome, now);
  if (type == ProbeType::kStartup && changed && Started()) {
    if (liveness_spec_) liveness_.emplace(ProbeType::kLiveness, *liveness_spec_, now);
    if (readiness_spec_) readiness_.emplace(ProbeType::kReadiness, *readiness_spec_, now);
  }
}

bool ContainerProbes::Started() const {
  return !startup_ || startup_->state() == ProbeResult::kSuccess;
}

bool ContainerProbes::Ready() const {
  if (!Started()) return false;
  return !readiness_spec_ || (readiness_ && readiness_->Healthy());
}

std::optional<std::string> ContainerProbes::RestartReason() const {
  if (auto reason = FailureReason(startup_)) return reason;
  return FailureReason(liveness_);
}

const ProbeTracker* ContainerProbes::tracker(ProbeType type) const {
  // Mutable() only selects a member; it changes nothing.
  return const_cast<ContainerProbes*>(this)->Mutable(type);
}

ProbeTracker* ContainerProbes::Mutable(ProbeType type) {
  switch (type) {
    case ProbeType::kStartup:
      return startup_ ? &*startup_ : nullptr;
    case ProbeType::kLiveness:
      return liveness_ ? &*liveness_ : nullptr;
    case ProbeType::kReadiness:
      return readiness_ ? &*readiness_ : nullptr;
  }
  return nullptr;
}

}  // namespace berth::nodeagent
