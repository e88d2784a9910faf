// The scheduler as a service: watches pods and nodes through informers,
// places every pending pod (spec.nodeName empty, schedulerName
// default-scheduler, not being deleted) with the scheduling core
// (berth/control/scheduler/scheduler.h), highest priority first, and binds
// it by writing spec.nodeName and the PodScheduled condition to the store
// (durable before the next decision relies on it). A pod that fits nowhere
// gets PodScheduled=False/Unschedulable, a FailedScheduling event with the
// per-reason node counts, and is retried when nodes or pods change (or
// after `retry`). Preemption: victims of lower priority are deleted
// (gracefully) and the pod is nominated to the node (status.
// nominatedNodeName) until they are gone.
//
// Placement decisions assume their binds: the node cache counts a pod as
// placed as soon as it is chosen, so decisions never wait for the watch.
//
// Thread-safe; Start() runs one scheduling thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "berth/control/controllers/event_recorder.h"
#include "berth/control/controllers/scheduling_info.h"
#include "berth/control/informer.h"
#include "berth/control/scheduler/scheduler.h"

namespace berth::control {

struct SchedulerOptions {
  scheduler::ScorePolicy policy = scheduler::ScorePolicy::kSpread;
  // A pod that fits nowhere is tried again when a node arrives or changes
  // in a way that matters (allocatable, labels, taints, cordon, readiness)
  // or a pod leaves; otherwise after `retry`, doubling with each failure up
  // to `max_retry` (kube-scheduler's unschedulable queue and its periodic
  // flush), so a thousand pending pods cost little.
  std::chrono::milliseconds retry{5000};
  std::chrono::milliseconds max_retry{std::chrono::minutes(5)};
  // Keep each scheduling attempt's duration (decision + durable bind) for
  // Latencies(); off by default (it grows with every pod).
  bool record_latency = false;
  // Binds run on these threads, off the scheduling loop, as
  // kube-scheduler's binding cycle does: the store commits concurrent
  // binds together (one disk sync for many).
  int binders = 16;
};

struct SchedulerStats {
  uint64_t scheduled = 0;
  uint64_t unschedulable = 0;
  uint64_t bind_errors = 0;
  uint64_t preemptions = 0;
};

class SchedulerService {
 public:
  // Adds its handlers to the informers: construct before starting them.
  SchedulerService(Registry& registry, Informer& nodes, Informer& pods, EventRecorder& events,
                   SchedulerOptions options = {});
  ~SchedulerService();
  SchedulerService(const SchedulerService&) = delete;
  SchedulerService& operator=(const SchedulerService&) = delete;

  Status Start();
  void Stop();
  SchedulerStats Stats() const;
  // Attempt durations in microseconds, when options.record_latency.
  std::vector<int64_t> Latencies() const;

 private:
  struct QueuedPod {
    int32_t priority = 0;
    int64_t created_ns = 0;
    std::string key;
    bool operator<(const QueuedPod& o) const {
      if (priority != o.priority) return priority > o.priority;
      if (created_ns != o.created_ns) return created_ns < o.created_ns;
      return key < o.key;
    }
  };
  void OnNode(const ObjectEvent& event, const v1::Object* old);
  void OnPod(const ObjectEvent& event, const v1::Object* old);
  void Run();
  struct BindJob {
    v1::Pod pod;
    std::string node;
    std::chrono::steady_clock::time_point started;
  };
  void ScheduleOne(const v1::Pod& pod, std::chrono::steady_clock::time_point started);
  void Binder();
  void FinishBind(const BindJob& job);
  Status Bind(const v1::Pod& pod, const std::string& node);
  void MarkUnschedulable(const v1::Pod& pod, const std::string& message);
  void RequeueUnschedulableLocked();
  // Requeues the unschedulable pods whose retry time has come.
  void RequeueDueLocked();
  void MarkUnschedulableLocked(const std::string& key);
  // Under mu_: the placed-pod bookkeeping.
  void PlaceLocked(const v1::Pod& pod, const std::string& node);
  void UnplaceLocked(const std::string& uid);
  scheduler::NodeInfo* NodeLocked(const std::string& name);

  Registry& registry_;
  Informer& nodes_informer_;
  Informer& pods_informer_;
  EventRecorder& events_;
  SchedulerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::set<QueuedPod> queue_;
  std::map<std::string, QueuedPod> queued_by_key_;
  // Keys waiting for a cluster change or their retry time, and how many
  // attempts of each failed in a row (kept across requeues).
  std::map<std::string, std::chrono::steady_clock::time_point> unschedulable_;
  std::map<std::string, int> failures_;
  // The cluster as the core sees it: a vector (Schedule's input, no copy
  // per decision) and each node's position in it.
  std::vector<scheduler::NodeInfo> nodes_;
  std::map<std::string, size_t> node_index_;
  std::map<std::string, std::string> placed_node_;  // pod uid -> node
  // Pods bound to a node the scheduler does not know (yet, or any more):
  // after a restart the pods may be listed before their nodes. They join
  // the node when it appears, so its room is never overstated.
  std::map<std::string, std::vector<scheduler::PodInfo>> awaiting_node_;
  std::set<std::string> binding_;  // uids assumed, bind in flight
  size_t next_start_ = 0;
  SchedulerStats stats_;
  std::vector<int64_t> latencies_us_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex bind_mu_;
  std::condition_variable bind_cv_;
  std::condition_variable bind_space_cv_;
  std::deque<BindJob> bind_queue_;
  bool binders_stop_ = false;
  std::vector<std::thread> binders_;
};

}  // namespace berth::control
