#include "deployment_util.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <tuple>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include "berth/control/controllers/deployment.h"
#include "berth/control/controllers/pods.h"

namespace berth::control::deployment_internal {
namespace {

using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;

Result<IntOrPercent> FromValue(const google::protobuf::Value& v, std::string_view field) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kNumberValue:
      return IntOrPercent{static_cast<int64_t>(v.number_value()), false};
    case google::protobuf::Value::kStringValue:
      return IntOrPercent::Parse(v.string_value(), field);
    default:
      return IntOrPercent{};
  }
}

}  // namespace

int64_t RevisionOf(const v1::ObjectMeta& meta) {
  auto it = meta.annotations().find(std::string(kRevisionAnnotation));
  if (it == meta.annotations().end()) return 0;
  int64_t v = 0;
  const std::string& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return 0;
  return v;
}

int64_t MaxRevision(const std::vector<v1::ReplicaSet>& sets) {
  int64_t max = 0;
  for (const auto& rs : sets) max = std::max(max, RevisionOf(rs.metadata()));
  return max;
}

bool EqualIgnoreHash(const v1::PodTemplateSpec& a, const v1::PodTemplateSpec& b) {
  v1::PodTemplateSpec x = a, y = b;
  x.mutable_metadata()->mutable_labels()->erase(std::string(kPodTemplateHashLabel));
  y.mutable_metadata()->mutable_labels()->erase(std::string(kPodTemplateHashLabel));
  return MessageDifferencer::Equals(x, y);
}

std::string TemplateHash(const v1::PodTemplateSpec& tmpl, int32_t collision_count) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    // Map fields (labels, annotations, nodeSelector) in key order.
    coded.SetSerializationDeterministic(true);
    tmpl.SerializeToCodedStream(&coded);
  }
  return PodTemplateHash(bytes, collision_count);
}

Result<RollingLimits> LimitsOf(const v1::Deployment& d) {
  const auto& strategy = d.spec().strategy();
  if (strategy.type() != "RollingUpdate") return RollingLimits{};
  const auto& ru = strategy.rolling_update();
  BERTH_ASSIGN_OR_RETURN(auto surge,
                         FromValue(ru.max_surge(), "spec.strategy.rollingUpdate.maxSurge"));
  BERTH_ASSIGN_OR_RETURN(auto unavailable, FromValue(ru.max_unavailable(),
                                                     "spec.strategy.rollingUpdate.maxUnavailable"));
  const int64_t replicas = d.spec().replicas();
  BERTH_ASSIGN_OR_RETURN(auto limits, ResolveLimits(surge, unavailable, replicas));
  limits.max_unavailable = std::min(limits.max_unavailable, replicas);
  return limits;
}

bool SkippedAnnotation(std::string_view key) {
  // kubectl's annotationsToSkip.
  return key == "kubectl.kubernetes.io/last-applied-configuration" || key == kRevisionAnnotation ||
         key == kRevisionHistoryAnnotation || key == kDesiredReplicasAnnotation ||
         key == kMaxReplicasAnnotation || key == "deprecated.deployment.rollback.to";
}

bool IsActive(const v1::ReplicaSet& rs) { return rs.spec().replicas() > 0; }

void SortOldestFirst(std::vector<v1::ReplicaSet>& sets) {
  std::stable_sort(sets.begin(), sets.end(), [](const v1::ReplicaSet& a, const v1::ReplicaSet& b) {
    const auto& ma = a.metadata();
    const auto& mb = b.metadata();
    return std::make_tuple(TimeUtil::TimestampToNanoseconds(ma.creation_timestamp()),
                           RevisionOf(ma), ma.name()) <
           std::make_tuple(TimeUtil::TimestampToNanoseconds(mb.creation_timestamp()),
                           RevisionOf(mb), mb.name());
  });
}

bool ControlledBy(const v1::ObjectMeta& meta, const std::string& uid) {
  const auto* owner = ControllerOf(meta);
  return owner != nullptr && owner->uid() == uid;
}

const v1::WorkloadCondition* GetCondition(const v1::DeploymentStatus& status,
                                          std::string_view type) {
  for (const auto& c : status.conditions()) {
    if (c.type() == type) return &c;
  }
  return nullptr;
}

v1::WorkloadCondition NewCondition(std::string_view type, std::string_view status,
                                   std::string_view reason, std::string message,
                                   std::chrono::system_clock::time_point now) {
  v1::WorkloadCondition c;
  c.set_type(std::string(type));
  c.set_status(std::string(status));
  c.set_reason(std::string(reason));
  c.set_message(std::move(message));
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  *c.mutable_last_update_time() = TimeUtil::SecondsToTimestamp(seconds);
  *c.mutable_last_transition_time() = TimeUtil::SecondsToTimestamp(seconds);
  return c;
}

void SetCondition(v1::DeploymentStatus& status, v1::WorkloadCondition condition) {
  const v1::WorkloadCondition* current = GetCondition(status, condition.type());
  if (current != nullptr && current->status() == condition.status() &&
      current->reason() == condition.reason()) {
    return;
  }
  if (current != nullptr && current->status() == condition.status()) {
    *condition.mutable_last_transition_time() = current->last_transition_time();
  }
  RemoveCondition(status, condition.type());
  *status.add_conditions() = std::move(condition);
}

void RemoveCondition(v1::DeploymentStatus& status, std::string_view type) {
  auto* conditions = status.mutable_conditions();
  for (int i = conditions->size() - 1; i >= 0; --i) {
    if (conditions->Get(i).type() == type) conditions->DeleteSubrange(i, 1);
  }
}

bool HasProgressDeadline(const v1::Deployment& d) {
  return d.spec().has_progress_deadline_seconds() &&
         d.spec().progress_deadline_seconds() != std::numeric_limits<int32_t>::max();
}

bool DeploymentComplete(const v1::Deployment& d, const v1::DeploymentStatus& status) {
  const int32_t replicas = d.spec().replicas();
  return status.updated_replicas() == replicas && status.replicas() == replicas &&
         status.available_replicas() == replicas &&
         status.observed_generation() >= d.metadata().generation();
}

}  // namespace berth::control::deployment_internal
