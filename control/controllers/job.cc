#include "berth/control/controllers/job.h"

#include <algorithm>
#include <cerrno>

#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include "berth/api/kinds.h"
#include "berth/common/log.h"
#include "berth/control/controllers/pods.h"

namespace berth::control {
namespace {

using google::protobuf::util::TimeUtil;

// JobSpec defaults (SetDefaults_Job), for Jobs written before defaulting.
constexpr int32_t kDefaultBackoffLimit = 6;
constexpr int32_t kDefaultParallelism = 1;

google::protobuf::Timestamp ToTimestamp(std::chrono::system_clock::time_point t) {
  return TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

std::chrono::system_clock::time_point FromTimestamp(const google::protobuf::Timestamp& t) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(TimeUtil::TimestampToNanoseconds(t))));
}

bool HasTrueCondition(const v1::JobStatus& status, std::string_view type) {
  return std::any_of(
      status.conditions().begin(), status.conditions().end(),
      [&](const v1::WorkloadCondition& c) { return c.type() == type && c.status() == "True"; });
}

// A finished Job (Complete or Failed) is never touched again.
bool Finished(const v1::JobStatus& status) {
  return HasTrueCondition(status, "Complete") || HasTrueCondition(status, "Failed");
}

void SetCondition(v1::JobStatus& status, const std::string& type, const std::string& reason,
                  const std::string& message, const google::protobuf::Timestamp& now) {
  v1::WorkloadCondition* condition = nullptr;
  for (auto& c : *status.mutable_conditions()) {
    if (c.type() == type) condition = &c;
  }
  if (condition == nullptr) condition = status.add_conditions();
  if (condition->status() != "True") *condition->mutable_last_transition_time() = now;
  condition->set_type(type);
  condition->set_status("True");
  condition->set_reason(reason);
  condition->set_message(message);
  *condition->mutable_last_probe_time() = now;
}

std::string OwnerKey(const v1::Pod& pod) {
  const auto* owner = ControllerOf(pod.metadata());
  if (owner == nullptr || owner->kind() != "Job") return "";
  return pod.metadata().namespace_() + "/" + owner->name();
}

// Kubernetes' pastBackoffLimitOnFailure: with restartPolicy OnFailure the
// pods do not fail, their containers restart; the restarts of the running
// pods count against backoffLimit instead.
bool PastBackoffLimitOnFailure(const v1::JobSpec& spec, int64_t restarts, int32_t limit) {
  if (spec.template_().spec().restart_policy() != "OnFailure") return false;
  if (limit == 0) return restarts > 0;
  return restarts >= limit;
}

}  // namespace

JobController::JobController(Registry& registry, Informer& jobs, Informer& pods,
                             EventRecorder& events, JobOptions options)
    : registry_(registry),
      jobs_(jobs),
      pods_(pods),
      events_(events),
      options_(std::move(options)),
      runner_("job", queue_, [this](const std::string& key) { return Sync(key); }) {
  jobs_.AddHandler(
      [this](const ObjectEvent& e, const v1::Object*) { queue_.Add(KeyOf(e.object)); });
  pods_.AddHandler([this](const ObjectEvent& e, const v1::Object* old) { OnPod(e, old); });
}

JobController::~JobController() { Stop(); }

Status JobController::Start() {
  BERTH_TRY(WaitForInformers({&pods_, &jobs_}, "job controller"));
  resync_.Start(options_.resync, [this] {
    for (const auto& job : jobs_.List()) queue_.Add(KeyOf(job));
  });
  return runner_.Start(options_.workers);
}

void JobController::Stop() {
  resync_.Stop();
  queue_.ShutDown();
  runner_.Stop();
}

std::chrono::system_clock::time_point JobController::Now() const {
  return options_.now ? options_.now() : registry_.Now();
}

void JobController::OnPod(const ObjectEvent& event, const v1::Object* old) {
  if (!event.object.has_pod()) return;
  const v1::Pod& pod = event.object.pod();
  const std::string owner = OwnerKey(pod);
  if (owner.empty()) return;
  const bool was_deleting = old != nullptr && old->pod().metadata().has_deletion_timestamp();
  if (event.type == ObjectEvent::Type::kAdded) {
    expectations_.Observed(owner, true);
  } else if (event.type == ObjectEvent::Type::kDeleted) {
    if (!was_deleting) expectations_.Observed(owner, false);
  } else if (pod.metadata().has_deletion_timestamp() && !was_deleting) {
    expectations_.Observed(owner, false);
  }
  queue_.Add(owner);
}

std::chrono::milliseconds JobController::BackoffRemaining(const std::string& key, int32_t failed) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  FailureBackoff& b = backoff_[key];
  if (failed > b.failed) b.since = now;
  b.failed = failed;
  if (failed == 0) return std::chrono::milliseconds(0);
  auto delay = options_.backoff_base;
  for (int32_t i = 1; i < failed && delay < options_.backoff_max; ++i) delay *= 2;
  delay = std::min(delay, options_.backoff_max);
  const auto ready = b.since + delay;
  if (ready <= now) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(ready - now);
}

Status JobController::DeletePods(const v1::Object& job, const std::string& key,
                                 const std::vector<v1::Pod>& pods) {
  if (pods.empty()) return {};
  expectations_.Expect(key, 0, static_cast<int64_t>(pods.size()));
  for (const auto& pod : pods) {
    const std::string& name = pod.metadata().name();
    auto deleted = registry_.Delete({"Pod", pod.metadata().namespace_(), name});
    if (!deleted.ok()) {
      // ENOENT: gone already, perhaps before the expectation was set, so
      // its event may have passed: count it now, as Kubernetes does.
      expectations_.DeletionFailed(key);
      if (deleted.error().err() == ENOENT) continue;
      return std::move(deleted).error().Wrap(
          std::string("job ").append(key).append(": delete pod ").append(name));
    }
    events_.Normal(job, "SuccessfulDelete", "Deleted pod: " + name);
  }
  return {};
}

Status JobController::Sync(const std::string& key) {
  const auto [ns, name] = SplitKey(key);
  auto object = jobs_.Get(ns, name);
  if (!object) {
    expectations_.Forget(key);
    std::lock_guard lock(mu_);
    backoff_.erase(key);
    return {};
  }
  const v1::Job& job = object->job();
  if (job.metadata().has_deletion_timestamp() || Finished(job.status())) return {};
  const v1::JobSpec& spec = job.spec();

  std::vector<v1::Pod> active;
  int32_t succeeded = 0;
  int32_t failed = 0;
  int64_t restarts = 0;
  for (auto& o : pods_.ByIndex(kPodsByOwner, job.metadata().uid())) {
    v1::Pod& pod = *o.mutable_pod();
    const std::string& phase = pod.status().phase();
    if (phase == "Succeeded") {
      ++succeeded;
    } else if (phase == "Failed") {
      ++failed;
    } else if (!pod.metadata().has_deletion_timestamp()) {
      for (const auto& c : pod.status().container_statuses()) restarts += c.restart_count();
      active.push_back(std::move(pod));
    }
  }

  const auto now = Now();
  const auto now_ts = ToTimestamp(now);
  v1::JobStatus status = job.status();
  // startTime starts the activeDeadlineSeconds clock.
  if (!status.has_start_time()) *status.mutable_start_time() = now_ts;
  const int32_t backoff_limit =
      spec.has_backoff_limit() ? spec.backoff_limit() : kDefaultBackoffLimit;
  std::string fail_reason, fail_message;
  std::chrono::system_clock::duration deadline_left{};
  if (failed > backoff_limit || PastBackoffLimitOnFailure(spec, restarts, backoff_limit)) {
    fail_reason = "BackoffLimitExceeded";
    fail_message = "Job has reached the specified backoff limit";
  } else if (spec.has_active_deadline_seconds()) {
    deadline_left = FromTimestamp(status.start_time()) +
                    std::chrono::seconds(spec.active_deadline_seconds()) - now;
    if (deadline_left <= std::chrono::system_clock::duration::zero()) {
      fail_reason = "DeadlineExceeded";
      fail_message = "Job was active longer than specified deadline";
    }
  }
  const auto backoff_wait = BackoffRemaining(key, failed);

  if (!fail_reason.empty()) {
    BERTH_TRY(DeletePods(*object, key, active));
    // The deleted pods count as failed (Kubernetes does the same).
    failed += static_cast<int32_t>(active.size());
    active.clear();
    SetCondition(status, "Failed", fail_reason, fail_message, now_ts);
  } else if (expectations_.Satisfied(key)) {
    const int32_t parallelism = spec.has_parallelism() ? spec.parallelism() : kDefaultParallelism;
    int64_t want = 0;
    if (!spec.has_completions()) {
      // A work queue: once a pod succeeded the work is done; let the
      // running ones finish, start no more.
      want = succeeded > 0 ? static_cast<int64_t>(active.size()) : parallelism;
    } else {
      want = std::clamp<int64_t>(int64_t{spec.completions()} - succeeded, 0, parallelism);
    }
    const auto have = static_cast<int64_t>(active.size());
    if (have > want) {
      SortForDeletion(active);
      std::vector<v1::Pod> surplus(active.begin(), active.begin() + (have - want));
      BERTH_TRY(DeletePods(*object, key, surplus));
      active.erase(active.begin(), active.begin() + (have - want));
    } else if (have < want && backoff_wait.count() > 0) {
      queue_.AddAfter(key, backoff_wait);
    } else if (have < want) {
      const int64_t n = std::min<int64_t>(want - have, options_.burst);
      expectations_.Expect(key, n, 0);
      for (int64_t i = 0; i < n; ++i) {
        auto created = registry_.Create(PodFromTemplate(spec.template_(), *object));
        if (!created.ok()) {
          for (int64_t j = i; j < n; ++j) expectations_.CreationFailed(key);
          events_.Warning(*object, "FailedCreate", "Error creating: " + created.error().message());
          return std::move(created).error().Wrap("job " + key + ": create pod");
        }
        events_.Normal(*object, "SuccessfulCreate",
                       "Created pod: " + created->pod().metadata().name());
        active.push_back(created->pod());
      }
      if (n < want - have) queue_.Add(key);  // the next burst
    }
    const bool complete =
        active.empty() &&
        (spec.has_completions() ? succeeded >= spec.completions() : succeeded > 0);
    if (complete) {
      SetCondition(status, "Complete", "", "", now_ts);
      *status.mutable_completion_time() = now_ts;
    } else if (spec.has_active_deadline_seconds()) {
      queue_.AddAfter(key, std::chrono::ceil<std::chrono::milliseconds>(deadline_left));
    }
  }
  status.set_active(static_cast<int32_t>(active.size()));
  status.set_succeeded(succeeded);
  status.set_failed(failed);
  if (google::protobuf::util::MessageDifferencer::Equals(status, job.status())) return {};
  bool finished_now = false;
  auto updated = registry_.Modify(
      {"Job", ns, name},
      [&](v1::Object& o) {
        const v1::Job& stored = o.job();
        // A Job our cache shows unfinished may have finished already:
        // counts made from its pods now (deleted ones missing) must not
        // overwrite that.
        if (stored.metadata().uid() != job.metadata().uid() || Finished(stored.status())) {
          return false;
        }
        *o.mutable_job()->mutable_status() = status;
        finished_now = Finished(status);
        return true;
      },
      {.status = true});
  if (!updated.ok()) {
    if (updated.error().err() == ENOENT) return {};
    return std::move(updated).error().Wrap("job " + key + ": update status");
  }
  // The terminal events, once: only the write that finished the Job.
  if (finished_now) {
    if (fail_reason.empty()) {
      events_.Normal(*object, "Completed", "Job completed");
    } else {
      events_.Warning(*object, fail_reason, fail_message);
    }
    log::Info("job finished", {{"job", key},
                               {"reason", fail_reason.empty() ? "Completed" : fail_reason},
                               {"succeeded", static_cast<int64_t>(succeeded)},
                               {"failed", static_cast<int64_t>(failed)}});
  }
  return {};
}

}  // namespace berth::control
