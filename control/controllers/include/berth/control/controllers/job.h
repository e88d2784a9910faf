// The Job controller (Kubernetes' pkg/controller/job): runs a Job's pods to
// completion.
//
//  - completions set: the Job is Complete once that many pods succeeded;
//    up to min(parallelism, completions - succeeded) pods are active.
//    completions unset (a work queue): up to parallelism pods run; once one
//    succeeded no new pod starts, and the Job is Complete when it has a
//    success and nothing is active.
//  - Pods come from the template with an ownerReference to the Job and the
//    labels controller-uid and job-name (defaulting puts them in the
//    template and the selector). A pod counts as succeeded or failed by its
//    status.phase.
//  - After a failure, the next pod waits the failure back-off (Kubernetes:
//    10 s doubling per failure, at most 6 min), counted from when the
//    controller saw the failure.
//  - backoffLimit: more failed pods than that (or, with restartPolicy
//    OnFailure, that many container restarts) fails the Job, reason
//    BackoffLimitExceeded; activeDeadlineSeconds past status.startTime
//    fails it with DeadlineExceeded. A failing Job's active pods are
//    deleted.
//  - status: active, succeeded, failed, startTime, completionTime and the
//    Complete / Failed conditions. Events: SuccessfulCreate,
//    SuccessfulDelete, FailedCreate, Completed, BackoffLimitExceeded,
//    DeadlineExceeded.
//
// Counts come from the pods that exist (Kubernetes' tracking before
// job-tracking finalizers): a finished pod deleted by someone else is no
// longer counted. Finished Jobs are left alone (no TTL controller).
//
// Level-triggered and restart-safe like the ReplicaSet controller:
// Sync(key) converges from the informers, expectations (pod_expectations.h)
// keep it from acting on a cache that has not seen its own writes.
// Thread-safe; Start() runs `workers` threads. Errors: Start returns
// ETIMEDOUT when the informers do not sync; Sync returns registry errors.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "berth/control/controller.h"
#include "berth/control/controllers/event_recorder.h"
#include "berth/control/controllers/pod_expectations.h"
#include "berth/control/informer.h"
#include "berth/control/work_queue.h"

namespace berth::control {

struct JobOptions {
  int workers = 4;
  // Pods created per sync at most (Kubernetes' burst).
  int burst = 500;
  std::chrono::seconds resync{30};
  // The pod failure back-off: base * 2^(failures - 1), at most max.
  std::chrono::milliseconds backoff_base{10'000};
  std::chrono::milliseconds backoff_max{360'000};
  // The clock of startTime, completionTime and activeDeadlineSeconds;
  // unset: the registry's.
  std::function<std::chrono::system_clock::time_point()> now;
};

class JobController {
 public:
  // `pods` carries the indexes of AddPodIndexes (pods.h); both informers
  // are started by the caller.
  JobController(Registry& registry, Informer& jobs, Informer& pods, EventRecorder& events,
                JobOptions options = {});
  ~JobController();
  JobController(const JobController&) = delete;
  JobController& operator=(const JobController&) = delete;

  Status Start();
  void Stop();
  // One reconciliation of "namespace/name" (public for tests).
  Status Sync(const std::string& key);

 private:
  // The failures seen of one Job and when their count last grew.
  struct FailureBackoff {
    int32_t failed = 0;
    std::chrono::steady_clock::time_point since;
  };
  void OnPod(const ObjectEvent& event, const v1::Object* old);
  std::chrono::system_clock::time_point Now() const;
  // How long new pods of `key` still wait after `failed` failures (0: none).
  std::chrono::milliseconds BackoffRemaining(const std::string& key, int32_t failed);
  Status DeletePods(const v1::Object& job, const std::string& key,
                    const std::vector<v1::Pod>& pods);

  Registry& registry_;
  Informer& jobs_;
  Informer& pods_;
  EventRecorder& events_;
  JobOptions options_;
  WorkQueue queue_;
  ControllerRunner runner_;
  PodExpectations expectations_;
  std::mutex mu_;  // guards backoff_
  std::map<std::string, FailureBackoff> backoff_;
  PeriodicResync resync_;
};

}  // namespace berth::control
