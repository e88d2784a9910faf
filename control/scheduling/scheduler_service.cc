#include "berth/control/scheduling/scheduler_service.h"

#include <algorithm>
#include <cerrno>

#include <google/protobuf/util/time_util.h>

#include "berth/api/kinds.h"
#include "berth/common/log.h"
#include "berth/control/controller.h"
#include "berth/control/controllers/pods.h"

namespace berth::control {
namespace {

constexpr std::string_view kDefaultScheduler = "default-scheduler";

bool WantsScheduling(const v1::Pod& pod) {
  return pod.spec().node_name().empty() && !pod.metadata().has_deletion_timestamp() &&
         (pod.spec().scheduler_name().empty() ||
          pod.spec().scheduler_name() == kDefaultScheduler) &&
         pod.status().phase() != "Succeeded" && pod.status().phase() != "Failed";
}

// Counts toward a node's usage: bound and not finished.
bool Occupies(const v1::Pod& pod) {
  return !pod.spec().node_name().empty() && pod.status().phase() != "Succeeded" &&
         pod.status().phase() != "Failed";
}

void SetCondition(v1::Pod& pod, const std::string& status, const std::string& reason,
                  const std::string& message, const google::protobuf::Timestamp& now) {
  v1::PodCondition* cond = nullptr;
  for (auto& c : *pod.mutable_status()->mutable_conditions()) {
    if (c.type() == "PodScheduled") cond = &c;
  }
  if (cond == nullptr) {
    cond = pod.mutable_status()->add_conditions();
    cond->set_type("PodScheduled");
  }
  if (cond->status() != status) *cond->mutable_last_transition_time() = now;
  cond->set_status(status);
  cond->set_reason(reason);
  cond->set_message(message);
}

google::protobuf::Timestamp Stamp(std::chrono::system_clock::time_point t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

}  // namespace

SchedulerService::SchedulerService(Registry& registry, Informer& nodes, Informer& pods,
                                   EventRecorder& events, SchedulerOptions options)
    : registry_(registry),
      nodes_informer_(nodes),
      pods_informer_(pods),
      events_(events),
      options_(options) {
  nodes_informer_.AddHandler(
      [this](const ObjectEvent& e, const v1::Object* old) { OnNode(e, old); });
  pods_informer_.AddHandler([this](const ObjectEvent& e, const v1::Object* old) { OnPod(e, old); });
}

SchedulerService::~SchedulerService() { Stop(); }

Status SchedulerService::Start() {
  constexpr auto kSyncTimeout = std::chrono::seconds(60);
  if (!nodes_informer_.WaitForSync(kSyncTimeout) || !pods_informer_.WaitForSync(kSyncTimeout)) {
    return Error::Sys(ETIMEDOUT, "scheduler: informers did not sync (started?)");
  }
  stop_ = false;
  binders_stop_ = false;
  for (int i = 0; i < std::max(1, options_.binders); ++i) {
    binders_.emplace_back([this] { Binder(); });
  }
  thread_ = std::thread([this] { Run(); });
  return {};
}

void SchedulerService::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(bind_mu_);
    binders_stop_ = true;
  }
  bind_cv_.notify_all();
  bind_space_cv_.notify_all();
  for (auto& b : binders_) b.join();
  binders_.clear();
}

SchedulerStats SchedulerService::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::vector<int64_t> SchedulerService::Latencies() const {
  std::lock_guard lock(mu_);
  return latencies_us_;
}

namespace {

bool SameTaints(const std::vector<scheduler::Taint>& a, const std::vector<scheduler::Taint>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.key == y.key && x.value == y.value && x.effect == y.effect;
  });
}

// Whether a node update changed anything a placement reads.
bool SchedulingChanged(const scheduler::NodeInfo& was, const scheduler::NodeInfo& now) {
  return was.allocatable != now.allocatable || was.labels != now.labels ||
         was.unschedulable != now.unschedulable || was.ready != now.ready ||
         !SameTaints(was.taints, now.taints);
}

}  // namespace

scheduler::NodeInfo* SchedulerService::NodeLocked(const std::string& name) {
  auto it = node_index_.find(name);
  return it == node_index_.end() ? nullptr : &nodes_[it->second];
}

void SchedulerService::OnNode(const ObjectEvent& event, const v1::Object*) {
  const v1::Node& node = event.object.node();
  const std::string& name = node.metadata().name();
  std::lock_guard lock(mu_);
  auto it = node_index_.find(name);
  if (event.type == ObjectEvent::Type::kDeleted) {
    if (it == node_index_.end()) return;
    const size_t pos = it->second;
    // Its pods wait for it: a node deleted and registered again keeps them.
    auto& waiting = awaiting_node_[name];
    for (auto& placed : nodes_[pos].placed) waiting.push_back(std::move(placed));
    node_index_.erase(it);
    if (pos != nodes_.size() - 1) {
      nodes_[pos] = std::move(nodes_.back());
      node_index_[nodes_[pos].name] = pos;
    }
    nodes_.pop_back();
    return;
  }
  scheduler::NodeInfo fresh = NodeInfoOf(node);
  bool matters = true;  // a new node
  if (it == node_index_.end()) {
    if (auto waiting = awaiting_node_.find(name); waiting != awaiting_node_.end()) {
      for (auto& pod : waiting->second) scheduler::AddPod(fresh, std::move(pod));
      awaiting_node_.erase(waiting);
    }
    node_index_[name] = nodes_.size();
    nodes_.push_back(std::move(fresh));
  } else {
    // Keep the placed pods; take everything else from the object.
    scheduler::NodeInfo& cur = nodes_[it->second];
    matters = SchedulingChanged(cur, fresh);
    fresh.placed = std::move(cur.placed);
    scheduler::RecomputeDerived(fresh);
    cur = std::move(fresh);
  }
  // A node came or changed what placement reads: pods that fit nowhere
  // may fit now. A status heartbeat changes nothing of that.
  if (!matters) return;
  RequeueUnschedulableLocked();
  cv_.notify_all();
}

void SchedulerService::PlaceLocked(const v1::Pod& pod, const std::string& node) {
  const std::string& uid = pod.metadata().uid();
  if (auto it = placed_node_.find(uid); it != placed_node_.end()) {
    if (it->second == node) {
      // Only whether it is terminating can change for a placed pod.
      auto* info = NodeLocked(node);
      for (auto& placed : info != nullptr ? info->placed : awaiting_node_[node]) {
        if (placed.uid == uid) placed.terminating = pod.metadata().has_deletion_timestamp();
      }
      return;
    }
    UnplaceLocked(uid);
  }
  placed_node_[uid] = node;
  if (auto* info = NodeLocked(node)) {
    scheduler::AddPod(*info, PodInfoOf(pod));
  } else {
    awaiting_node_[node].push_back(PodInfoOf(pod));
  }
}

void SchedulerService::UnplaceLocked(const std::string& uid) {
  auto it = placed_node_.find(uid);
  if (it == placed_node_.end()) return;
  if (auto* info = NodeLocked(it->second)) {
    IgnoreError(scheduler::RemovePod(*info, uid), "ENOENT: placed_node_ and the node agree");
  } else if (auto waiting = awaiting_node_.find(it->second); waiting != awaiting_node_.end()) {
    std::erase_if(waiting->second, [&](const scheduler::PodInfo& p) { return p.uid == uid; });
    if (waiting->second.empty()) awaiting_node_.erase(waiting);
  }
  placed_node_.erase(it);
}

void SchedulerService::OnPod(const ObjectEvent& event, const v1::Object*) {
  const v1::Pod& pod = event.object.pod();
  const std::string key = KeyOf(event.object);
  std::lock_guard lock(mu_);
  const bool gone = event.type == ObjectEvent::Type::kDeleted;
  // Assumed and being bound: the bind's own event settles it.
  if (!gone && binding_.count(pod.metadata().uid()) > 0 && pod.spec().node_name().empty()) return;
  if (!gone && Occupies(pod)) {
    PlaceLocked(pod, pod.spec().node_name());
  } else if (placed_node_.count(pod.metadata().uid()) > 0 && (gone || !Occupies(pod))) {
    UnplaceLocked(pod.metadata().uid());
    // Room was freed.
    RequeueUnschedulableLocked();
  }
  auto queued = queued_by_key_.find(key);
  if (queued != queued_by_key_.end()) {
    queue_.erase(queued->second);
    queued_by_key_.erase(queued);
  }
  if (!gone && WantsScheduling(pod) && unschedulable_.count(key) == 0) {
    QueuedPod q{pod.spec().priority(),
                google::protobuf::util::TimeUtil::TimestampToNanoseconds(
                    pod.metadata().creation_timestamp()),
                key};
    queue_.insert(q);
    queued_by_key_[key] = q;
  }
  if (gone || !WantsScheduling(pod)) {
    unschedulable_.erase(key);
    failures_.erase(key);
  }
  cv_.notify_all();
}

void SchedulerService::MarkUnschedulableLocked(const std::string& key) {
  const int failures = ++failures_[key];
  auto delay = options_.retry;
  for (int i = 1; i < failures && delay < options_.max_retry; ++i) delay *= 2;
  unschedulable_[key] = std::chrono::steady_clock::now() + std::min(delay, options_.max_retry);
}

void SchedulerService::RequeueDueLocked() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = unschedulable_.begin(); it != unschedulable_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    const auto [ns, name] = SplitKey(it->first);
    auto pod = pods_informer_.Get(ns, name);
    if (pod && WantsScheduling(pod->pod())) {
      QueuedPod q{pod->pod().spec().priority(),
                  google::protobuf::util::TimeUtil::TimestampToNanoseconds(
                      pod->pod().metadata().creation_timestamp()),
                  it->first};
      queue_.insert(q);
      queued_by_key_[it->first] = q;
    }
    it = unschedulable_.erase(it);
  }
}

void SchedulerService::RequeueUnschedulableLocked() {
  for (const auto& [key, retry_at] : unschedulable_) {
    const auto [ns, name] = SplitKey(key);
    auto pod = pods_informer_.Get(ns, name);
    if (!pod || !WantsScheduling(pod->pod())) continue;
    QueuedPod q{pod->pod().spec().priority(),
                google::protobuf::util::TimeUtil::TimestampToNanoseconds(
                    pod->pod().metadata().creation_timestamp()),
                key};
    queue_.insert(q);
    queued_by_key_[key] = q;
  }
  unschedulable_.clear();
}

void SchedulerService::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (queue_.empty()) {
      cv_.wait_for(lock, std::chrono::milliseconds(200));
      if (!unschedulable_.empty()) RequeueDueLocked();
      continue;
    }
    const QueuedPod next = *queue_.begin();
    queue_.erase(queue_.begin());
    queued_by_key_.erase(next.key);
    lock.unlock();
    const auto [ns, name] = SplitKey(next.key);
    auto pod = pods_informer_.Get(ns, name);
    if (pod && WantsScheduling(pod->pod()))
      ScheduleOne(pod->pod(), std::chrono::steady_clock::now());
    lock.lock();
  }
}

void SchedulerService::ScheduleOne(const v1::Pod& pod,
                                   std::chrono::steady_clock::time_point started) {
  const scheduler::PodInfo info = PodInfoOf(pod);
  scheduler::Decision decision;
  {
    std::lock_guard lock(mu_);
    scheduler::Sampling sampling{next_start_, scheduler::FeasibleNodesToFind(nodes_.size())};
    decision = scheduler::Schedule(info, nodes_, options_.policy, sampling, &next_start_);
    if (decision.node && decision.victims.empty()) {
      PlaceLocked(pod, *decision.node);  // assume
      binding_.insert(pod.metadata().uid());
    }
  }
  if (decision.node && decision.victims.empty()) {
    {
      // Back-pressure: a few binds per binder in the queue keep every commit
      // group full without letting queued binds add latency.
      std::unique_lock lock(bind_mu_);
      const size_t max_queued = 4 * static_cast<size_t>(std::max(1, options_.binders));
      bind_space_cv_.wait(lock, [&] { return bind_queue_.size() < max_queued || binders_stop_; });
      bind_queue_.push_back({pod, *decision.node, started});
    }
    bind_cv_.notify_one();
    return;
  }
  if (decision.node) {
    // Preemption: evict the victims, nominate the node, try again once the
    // deletions free the room (their pod events requeue this pod).
    for (const auto& victim : decision.victims) {
      auto deleted = registry_.Delete({"Pod", victim.namespace_, victim.name});
      if (!deleted.ok() && deleted.error().err() != ENOENT) {
        log::Warn("preemption: delete victim",
                  {{"victim", victim.name}, {"error", deleted.error().ToString()}});
      }
      v1::Object victim_obj;
      victim_obj.mutable_pod()->mutable_metadata()->set_name(victim.name);
      victim_obj.mutable_pod()->mutable_metadata()->set_namespace_(victim.namespace_);
      victim_obj.mutable_pod()->mutable_metadata()->set_uid(victim.uid);
      events_.Normal(victim_obj, "Preempted",
                     "Preempted by " + pod.metadata().namespace_() + "/" + pod.metadata().name() +
                         " on node " + *decision.node);
    }
    IgnoreError(StatusOf(registry_.Modify(
                    {"Pod", pod.metadata().namespace_(), pod.metadata().name()},
                    [&](v1::Object& o) {
                      o.mutable_pod()->mutable_status()->set_nominated_node_name(*decision.node);
                      return true;
                    },
                    {.status = true})),
                "the pod may be gone; the next event decides");
    std::lock_guard lock(mu_);
    ++stats_.preemptions;
  }
  MarkUnschedulable(pod, decision.message);
}

void SchedulerService::Binder() {
  std::unique_lock lock(bind_mu_);
  while (true) {
    bind_cv_.wait(lock, [this] { return binders_stop_ || !bind_queue_.empty(); });
    if (bind_queue_.empty()) return;  // stopping, nothing left to bind
    BindJob job = std::move(bind_queue_.front());
    bind_queue_.pop_front();
    bind_space_cv_.notify_one();
    lock.unlock();
    FinishBind(job);
    lock.lock();
  }
}

void SchedulerService::FinishBind(const BindJob& job) {
  auto bound = Bind(job.pod, job.node);
  std::lock_guard lock(mu_);
  binding_.erase(job.pod.metadata().uid());
  if (!bound.ok()) {
    ++stats_.bind_errors;
    UnplaceLocked(job.pod.metadata().uid());
    const std::string key = job.pod.metadata().namespace_() + "/" + job.pod.metadata().name();
    log::Warn("bind failed", {{"pod", key}, {"error", bound.error().ToString()}});
    MarkUnschedulableLocked(key);
    return;
  }
  ++stats_.scheduled;
  if (options_.record_latency) {
    latencies_us_.push_back(std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - job.started)
                                .count());
  }
}

Status SchedulerService::Bind(const v1::Pod& pod, const std::string& node) {
  const auto now = Stamp(registry_.Now());
  auto bound = registry_.Modify(
      {"Pod", pod.metadata().namespace_(), pod.metadata().name()},
      [&](v1::Object& o) {
        v1::Pod* p = o.mutable_pod();
        if (p->metadata().uid() != pod.metadata().uid() || !p->spec().node_name().empty()) {
          return false;  // replaced or bound meanwhile
        }
        p->mutable_spec()->set_node_name(node);
        SetCondition(*p, "True", "", "", now);
        p->mutable_status()->clear_nominated_node_name();
        return true;
      },
      {.with_status = true});
  if (!bound.ok()) return bound.error();
  v1::Object about;
  *about.mutable_pod() = pod;
  events_.Normal(about, "Scheduled",
                 "Successfully assigned " + pod.metadata().namespace_() + "/" +
                     pod.metadata().name() + " to " + node);
  return {};
}

void SchedulerService::MarkUnschedulable(const v1::Pod& pod, const std::string& message) {
  v1::Object about;
  *about.mutable_pod() = pod;
  events_.Warning(about, "FailedScheduling", message);
  const auto now = Stamp(registry_.Now());
  IgnoreError(StatusOf(registry_.Modify({"Pod", pod.metadata().namespace_(), pod.metadata().name()},
                                        [&](v1::Object& o) {
                                          SetCondition(*o.mutable_pod(), "False", "Unschedulable",
                                                       message, now);
                                          return true;
                                        },
                                        {.status = true})),
              "ENOENT: the pod was deleted meanwhile");
  std::lock_guard lock(mu_);
  ++stats_.unschedulable;
  MarkUnschedulableLocked(KeyOf(about));
}

}  // namespace berth::control
