#include "berth/control/rollout.h"

#include <algorithm>
#include <charconv>

namespace berth::control {

Result<IntOrPercent> IntOrPercent::Parse(std::string_view text, std::string_view field) {
  IntOrPercent v;
  std::string_view digits = text;
  if (!digits.empty() && digits.back() == '%') {
    v.percent = true;
    digits.remove_suffix(1);
  }
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v.value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || v.value < 0) {
    return Error::Invalid(std::string(field) + ": \"" + std::string(text) +
                          "\" must be a non-negative integer or percentage");
  }
  if (v.percent && v.value > 100) {
    return Error::Invalid(std::string(field) + ": \"" + std::string(text) +
                          "\" must be at most 100%");
  }
  return v;
}

Result<RollingLimits> ResolveLimits(const IntOrPercent& surge, const IntOrPercent& unavailable,
                                    int64_t replicas) {
  if (replicas < 0) return Error::Invalid("spec.replicas: must be >= 0");
  auto resolve = [&](const IntOrPercent& v, bool round_up) {
    if (!v.percent) return v.value;
    const int64_t scaled = v.value * replicas;
    return round_up ? (scaled + 99) / 100 : scaled / 100;
  };
  RollingLimits l{resolve(surge, true), resolve(unavailable, false)};
  // Both zero would deadlock the rollout; Kubernetes lets one pod go.
  if (l.max_surge == 0 && l.max_unavailable == 0) l.max_unavailable = 1;
  return l;
}

RolloutStep RollingUpdateStep(int64_t replicas, const RollingLimits& limits,
                              const ReplicaSetState& new_rs,
                              const std::vector<ReplicaSetState>& old) {
  RolloutStep step;
  step.new_replicas = new_rs.replicas;
  int64_t old_total = 0, old_available = 0;
  for (const auto& rs : old) {
    step.old_replicas[rs.name] = rs.replicas;
    old_total += rs.replicas;
    old_available += std::min(rs.available, rs.replicas);
  }

  // Scale up the new set (rolling.go: NewRSNewReplicas).
  if (new_rs.replicas > replicas) {
    step.new_replicas = replicas;
  } else if (new_rs.replicas < replicas) {
    const int64_t max_total = replicas + limits.max_surge;
    const int64_t current = old_total + new_rs.replicas;
    if (current < max_total) {
      step.new_replicas =
          new_rs.replicas + std::min(max_total - current, replicas - new_rs.replicas);
    }
  }

  // Scale down old sets (rolling.go: reconcileOldReplicaSets).
  if (old_total > 0) {
    const int64_t all = old_total + new_rs.replicas;
    const int64_t min_available = replicas - limits.max_unavailable;
    const int64_t new_unavailable = new_rs.replicas - std::min(new_rs.available, new_rs.replicas);
    int64_t budget = all - min_available - new_unavailable;
    // Unavailable old pods first: removing them costs no availability.
    for (const auto& rs : old) {
      if (budget <= 0) break;
      const int64_t unhealthy = rs.replicas - std::min(rs.available, rs.replicas);
      const int64_t cut = std::min(unhealthy, budget);
      step.old_replicas[rs.name] -= cut;
      budget -= cut;
    }
    int64_t available = old_available + std::min(new_rs.available, new_rs.replicas);
    int64_t can_remove = std::max<int64_t>(0, available - min_available);
    for (const auto& rs : old) {
      if (can_remove <= 0) break;
      const int64_t cut = std::min(step.old_replicas[rs.name], can_remove);
      step.old_replicas[rs.name] -= cut;
      can_remove -= cut;
    }
  }
  step.done = old_total == 0 && new_rs.replicas == replicas && new_rs.available >= replicas;
  return step;
}

RolloutStep RecreateStep(int64_t replicas, const ReplicaSetState& new_rs,
                         const std::vector<ReplicaSetState>& old) {
  RolloutStep step;
  step.new_replicas = new_rs.replicas;
  int64_t old_total = 0;
  for (const auto& rs : old) {
    step.old_replicas[rs.name] = 0;
    old_total += rs.replicas;
  }
  // Old pods are only gone once their sets report none left.
  if (old_total == 0) step.new_replicas = replicas;
  step.done = old_total == 0 && new_rs.replicas == replicas && new_rs.available >= replicas;
  return step;
}

std::string PodTemplateHash(std::string_view canonical_template, int32_t collision_count) {
  uint32_t h = 2166136261u;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 16777619u;
    }
  };
  mix(canonical_template);
  if (collision_count != 0) {
    // Little-endian bytes, as the Go controller writes the count.
    char bytes[4];
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<char>((collision_count >> (8 * i)) & 0xff);
    mix(std::string_view(bytes, 4));
  }
  // The decimal digits mapped to consonants and digits with no vowels, so a
  // hash never spells a word (Kubernetes' rand.SafeEncodeString).
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::string digits = std::to_string(h), out;
  for (char d : digits) out += kAlphabet[static_cast<size_t>(d) % kAlphabet.size()];
  return out;
}

}  // namespace berth::control
