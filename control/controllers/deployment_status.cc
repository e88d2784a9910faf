// The Deployment controller's status: counts from the ReplicaSets, the
// Available condition, Progressing with its deadline and the paused
// markers (Kubernetes' sync.go calculateStatus/checkPausedConditions and
// progress.go syncRolloutStatus/requeueStuckDeployment).
#include <algorithm>
#include <cerrno>

#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include "deployment_util.h"

#include "berth/control/controllers/deployment.h"

namespace berth::control {
namespace {

using namespace deployment_internal;
using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;

using Clock = std::chrono::system_clock;

v1::DeploymentStatus Calculate(const v1::Deployment& d,
                               const std::vector<const v1::ReplicaSet*>& all,
                               const v1::ReplicaSet* current, int64_t max_unavailable,
                               Clock::time_point now) {
  int64_t spec_total = 0;
  v1::DeploymentStatus status;
  for (const auto* rs : all) {
    spec_total += rs->spec().replicas();
    status.set_replicas(status.replicas() + rs->status().replicas());
    status.set_ready_replicas(status.ready_replicas() + rs->status().ready_replicas());
    status.set_available_replicas(status.available_replicas() + rs->status().available_replicas());
  }
  status.set_observed_generation(d.metadata().generation());
  status.set_updated_replicas(current != nullptr ? current->status().replicas() : 0);
  status.set_unavailable_replicas(
      static_cast<int32_t>(std::max<int64_t>(0, spec_total - status.available_replicas())));
  if (d.status().has_collision_count()) {
    status.set_collision_count(d.status().collision_count());
  }
  *status.mutable_conditions() = d.status().conditions();
  if (status.available_replicas() >= d.spec().replicas() - max_unavailable) {
    SetCondition(status, NewCondition(kAvailable, "True", kMinimumReplicasAvailable,
                                      "Deployment has minimum availability.", now));
  } else {
    SetCondition(status, NewCondition(kAvailable, "False", kMinimumReplicasUnavailable,
                                      "Deployment does not have minimum availability.", now));
  }
  return status;
}

// Something moved toward the new revision since the last status
// (DeploymentProgressing).
bool Progressed(const v1::DeploymentStatus& before, const v1::DeploymentStatus& after) {
  return after.updated_replicas() > before.updated_replicas() ||
         after.replicas() - after.updated_replicas() <
             before.replicas() - before.updated_replicas() ||
         after.ready_replicas() > before.ready_replicas() ||
         after.available_replicas() > before.available_replicas();
}

Clock::time_point LastUpdate(const v1::WorkloadCondition& c) {
  return Clock::time_point(
      std::chrono::seconds(TimeUtil::TimestampToSeconds(c.last_update_time())));
}

// No progress within progressDeadlineSeconds of the condition's last
// update (DeploymentTimedOut).
bool TimedOut(const v1::Deployment& d, const v1::DeploymentStatus& status, Clock::time_point now) {
  const auto* c = GetCondition(status, kProgressing);
  if (c == nullptr || c->reason() == kNewReplicaSetAvailable) return false;
  if (c->reason() == kProgressDeadlineExceeded) return true;
  return LastUpdate(*c) + std::chrono::seconds(d.spec().progress_deadline_seconds()) < now;
}

// The first ReplicaFailure condition of the new set, else of any set
// (getReplicaFailures).
const v1::WorkloadCondition* ReplicaFailure(const std::vector<const v1::ReplicaSet*>& all,
                                            const v1::ReplicaSet* current) {
  auto find = [](const v1::ReplicaSet& rs) -> const v1::WorkloadCondition* {
    for (const auto& c : rs.status().conditions()) {
      if (c.type() == kReplicaFailure) return &c;
    }
    return nullptr;
  };
  if (current != nullptr) {
    if (const auto* c = find(*current)) return c;
  }
  for (const auto* rs : all) {
    if (const auto* c = find(*rs)) return c;
  }
  return nullptr;
}

std::string SubjectOf(const v1::Deployment& d, const v1::ReplicaSet* current) {
  return current != nullptr ? "ReplicaSet \"" + current->metadata().name() + "\""
                            : "Deployment \"" + d.metadata().name() + "\"";
}

}  // namespace

Status DeploymentController::CheckPausedConditions(v1::Deployment& d) {
  if (!HasProgressDeadline(d)) return {};
  const auto* cond = GetCondition(d.status(), kProgressing);
  // A reported lack of progress is not overwritten by a pause.
  if (cond != nullptr && cond->reason() == kProgressDeadlineExceeded) return {};
  const bool marked = cond != nullptr && cond->reason() == kDeploymentPaused;
  v1::DeploymentStatus status = d.status();
  // Unknown, not False: a paused rollout has not failed, and the deadline
  // restarts on resume rather than counting the pause.
  if (d.spec().paused() && !marked) {
    SetCondition(status, NewCondition(kProgressing, "Unknown", kDeploymentPaused,
                                      "Deployment is paused", registry_.Now()));
  } else if (!d.spec().paused() && marked) {
    SetCondition(status, NewCondition(kProgressing, "Unknown", kDeploymentResumed,
                                      "Deployment is resumed", registry_.Now()));
  } else {
    return {};
  }
  return WriteStatus(d, status);
}

Status DeploymentController::SyncStatus(v1::Deployment& d, const Revisions& revisions) {
  BERTH_ASSIGN_OR_RETURN(RollingLimits limits, LimitsOf(d));
  std::vector<const v1::ReplicaSet*> all;
  for (const auto& rs : revisions.old) all.push_back(&rs);
  const v1::ReplicaSet* current = revisions.current ? &*revisions.current : nullptr;
  if (current != nullptr) all.push_back(current);
  return WriteStatus(d, Calculate(d, all, current, limits.max_unavailable, registry_.Now()));
}

Status DeploymentController::SyncRolloutStatus(v1::Deployment& d, const Revisions& revisions) {
  BERTH_ASSIGN_OR_RETURN(RollingLimits limits, LimitsOf(d));
  const auto now = registry_.Now();
  std::vector<const v1::ReplicaSet*> all;
  for (const auto& rs : revisions.old) all.push_back(&rs);
  const v1::ReplicaSet* current = revisions.current ? &*revisions.current : nullptr;
  if (current != nullptr) all.push_back(current);
  v1::DeploymentStatus status = Calculate(d, all, current, limits.max_unavailable, now);

  if (!HasProgressDeadline(d)) RemoveCondition(status, kProgressing);
  const auto* cond = GetCondition(d.status(), kProgressing);
  // A completed rollout on a resync: no progress to estimate.
  const bool completed = status.replicas() == status.updated_replicas() && cond != nullptr &&
                         cond->reason() == kNewReplicaSetAvailable;
  if (HasProgressDeadline(d) && !completed) {
    if (DeploymentComplete(d, status)) {
      SetCondition(status,
                   NewCondition(kProgressing, "True", kNewReplicaSetAvailable,
                                SubjectOf(d, current) + " has successfully progressed.", now));
    } else if (Progressed(d.status(), status)) {
      // Progress moves lastUpdateTime (what the deadline counts from) even
      // with an unchanged reason; lastTransitionTime stays while True.
      v1::WorkloadCondition c = NewCondition(kProgressing, "True", kReplicaSetUpdated,
                                             SubjectOf(d, current) + " is progressing.", now);
      if (cond != nullptr) {
        if (cond->status() == "True") {
          *c.mutable_last_transition_time() = cond->last_transition_time();
        }
        RemoveCondition(status, kProgressing);
      }
      SetCondition(status, std::move(c));
    } else if (TimedOut(d, status, now)) {
      SetCondition(status,
                   NewCondition(kProgressing, "False", kProgressDeadlineExceeded,
                                SubjectOf(d, current) + " has timed out progressing.", now));
    }
  }
  if (const auto* failure = ReplicaFailure(all, current)) {
    v1::WorkloadCondition c = *failure;
    *c.mutable_last_update_time() = failure->last_transition_time();
    c.clear_last_probe_time();
    SetCondition(status, std::move(c));
  } else {
    RemoveCondition(status, kReplicaFailure);
  }
  if (MessageDifferencer::Equals(d.status(), status)) {
    RequeueStuck(d, status);
    return {};
  }
  return WriteStatus(d, status);
}

Status DeploymentController::WriteStatus(v1::Deployment& d, const v1::DeploymentStatus& status) {
  if (MessageDifferencer::Equals(d.status(), status)) return {};
  auto written = registry_.Modify({"Deployment", d.metadata().namespace_(), d.metadata().name()},
                                  [&](v1::Object& o) {
                                    *o.mutable_deployment()->mutable_status() = status;
                                    return true;
                                  },
                                  {.status = true});
  if (!written.ok()) {
    if (written.error().err() == ENOENT) return {};  // deleted meanwhile: nothing to report on
    return std::move(written).error().Wrap("update status");
  }
  *d.mutable_status() = status;
  return {};
}

void DeploymentController::RequeueStuck(const v1::Deployment& d,
                                        const v1::DeploymentStatus& status) {
  const auto* cond = GetCondition(d.status(), kProgressing);
  if (!HasProgressDeadline(d) || cond == nullptr) return;
  if (DeploymentComplete(d, status) || cond->reason() == kProgressDeadlineExceeded) return;
  // Without further events nothing would look at the deadline again
  // (kubernetes#34458): come back just after it passes.
  const auto deadline =
      LastUpdate(*cond) + std::chrono::seconds(d.spec().progress_deadline_seconds());
  const auto after =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - registry_.Now());
  const std::string key = d.metadata().namespace_() + "/" + d.metadata().name();
  // A second late rather than early (timestamps have whole seconds), and
  // never a busy loop when the deadline is about to pass.
  queue_.AddAfter(key, std::max(after, std::chrono::milliseconds(0)) + std::chrono::seconds(1));
}

}  // namespace berth::control
