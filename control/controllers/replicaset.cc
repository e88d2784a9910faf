#include "berth/control/controllers/replicaset.h"

#include <cerrno>

#include "berth/api/kinds.h"
#include "berth/common/log.h"
#include "berth/control/controllers/pods.h"
#include "berth/control/selector.h"

namespace berth::control {
namespace {

// Expectations older than this are given up on (a watch event was lost or
// a create failed after all), as client-go does.
constexpr auto kExpectationTimeout = std::chrono::minutes(5);

std::string OwnerKey(const v1::Pod& pod) {
  const auto* owner = ControllerOf(pod.metadata());
  if (owner == nullptr || owner->kind() != "ReplicaSet") return "";
  return pod.metadata().namespace_() + "/" + owner->name();
}

}  // namespace

ReplicaSetController::ReplicaSetController(Registry& registry, Informer& replicasets,
                                           Informer& pods, EventRecorder& events,
                                           ReplicaSetOptions options)
    : registry_(registry),
      replicasets_(replicasets),
      pods_(pods),
      events_(events),
      options_(options),
      runner_("replicaset", queue_, [this](const std::string& key) { return Sync(key); }) {
  replicasets_.AddHandler([this](const ObjectEvent& e, const v1::Object*) { Enqueue(e.object); });
  pods_.AddHandler([this](const ObjectEvent& e, const v1::Object* old) { OnPod(e, old); });
}

ReplicaSetController::~ReplicaSetController() { Stop(); }

Status ReplicaSetController::Start() {
  // Acting on a partial cache would create pods that already exist.
  BERTH_TRY(WaitForInformers({&pods_, &replicasets_}, "replicaset controller"));
  resync_.Start(options_.resync, [this] {
    for (const auto& rs : replicasets_.List()) Enqueue(rs);
  });
  return runner_.Start(options_.workers);
}

void ReplicaSetController::Stop() {
  resync_.Stop();
  queue_.ShutDown();
  runner_.Stop();
}

void ReplicaSetController::Enqueue(const v1::Object& object) { queue_.Add(KeyOf(object)); }

void ReplicaSetController::OnPod(const ObjectEvent& event, const v1::Object* old) {
  if (!event.object.has_pod()) return;
  const v1::Pod& pod = event.object.pod();
  const std::string owner = OwnerKey(pod);
  if (owner.empty()) return;
  if (event.type == ObjectEvent::Type::kAdded) {
    Observed(owner, true);
  } else if (event.type == ObjectEvent::Type::kDeleted) {
    if (old == nullptr || !old->pod().metadata().has_deletion_timestamp()) Observed(owner, false);
  } else if (pod.metadata().has_deletion_timestamp() &&
             (old == nullptr || !old->pod().metadata().has_deletion_timestamp())) {
    Observed(owner, false);
  }
  queue_.Add(owner);
}

bool ReplicaSetController::Satisfied(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = expectations_.find(key);
  if (it == expectations_.end()) return true;
  if ((it->second.adds <= 0 && it->second.deletes <= 0) ||
      std::chrono::steady_clock::now() - it->second.set > kExpectationTimeout) {
    expectations_.erase(it);
    return true;
  }
  return false;
}

void ReplicaSetController::Expect(const std::string& key, int64_t adds, int64_t deletes) {
  std::lock_guard lock(mu_);
  expectations_[key] = {adds, deletes, std::chrono::steady_clock::now()};
}

void ReplicaSetController::Observed(const std::string& owner_key, bool added) {
  std::lock_guard lock(mu_);
  auto it = expectations_.find(owner_key);
  if (it == expectations_.end()) return;
  (added ? it->second.adds : it->second.deletes)--;
}

Status ReplicaSetController::Sync(const std::string& key) {
  const auto [ns, name] = SplitKey(key);
  auto object = replicasets_.Get(ns, name);
  if (!object) {
    std::lock_guard lock(mu_);
    expectations_.erase(key);
    return {};
  }
  const v1::ReplicaSet& rs = object->replica_set();
  if (rs.metadata().has_deletion_timestamp()) return {};
  auto selector = ToSelector(rs.spec().selector());
  if (!selector.ok()) return selector.error();

  std::vector<v1::Pod> active;
  for (auto& o : pods_.ByIndex(kPodsByOwner, rs.metadata().uid())) {
    if (IsActive(o.pod())) active.push_back(std::move(*o.mutable_pod()));
  }
  // Adopt matching pods that have no controller (Kubernetes' ControllerRef
  // adoption), so a ReplicaSet recreated over its orphans takes them back.
  // They count at once: the informer has not seen the new owner yet.
  for (const auto& o : pods_.List(ns, *selector)) {
    if (ControllerOf(o.pod().metadata()) != nullptr || !IsActive(o.pod())) continue;
    auto adopted = registry_.Modify({"Pod", ns, o.pod().metadata().name()}, [&](v1::Object& p) {
      auto* meta = p.mutable_pod()->mutable_metadata();
      if (ControllerOf(*meta) != nullptr) return false;
      auto* ref = meta->add_owner_references();
      ref->set_api_version("apps/v1");
      ref->set_kind("ReplicaSet");
      ref->set_name(rs.metadata().name());
      ref->set_uid(rs.metadata().uid());
      ref->set_controller(true);
      ref->set_block_owner_deletion(true);
      return true;
    });
    if (!adopted.ok() && adopted.error().err() != ENOENT) return adopted.error();
    const v1::OwnerReference* owner =
        adopted.ok() ? ControllerOf(adopted->pod().metadata()) : nullptr;
    if (owner != nullptr && owner->uid() == rs.metadata().uid()) active.push_back(adopted->pod());
  }
  if (Satisfied(key)) {
    const int64_t want = rs.spec().replicas();
    const int64_t diff = want - static_cast<int64_t>(active.size());
    if (diff > 0) {
      const int64_t n = std::min<int64_t>(diff, options_.burst);
      Expect(key, n, 0);
      for (int64_t i = 0; i < n; ++i) {
        auto created = registry_.Create(PodFromTemplate(rs.spec().template_(), *object));
        if (!created.ok()) {
          Expect(key, 0, 0);  // the rest will not come
          events_.Warning(*object, "FailedCreate", "Error creating: " + created.error().message());
          return std::move(created).error().Wrap("replicaset " + key + ": create pod");
        }
        events_.Normal(*object, "SuccessfulCreate",
                       "Created pod: " + created->pod().metadata().name());
      }
      if (n < diff) queue_.Add(key);  // the next burst
    } else if (diff < 0) {
      const int64_t n = std::min<int64_t>(-diff, options_.burst);
      SortForDeletion(active);
      Expect(key, 0, n);
      for (int64_t i = 0; i < n; ++i) {
        const std::string& pod = active[i].metadata().name();
        auto deleted = registry_.Delete({"Pod", ns, pod});
        if (!deleted.ok() && deleted.error().err() != ENOENT) {
          Expect(key, 0, 0);
          std::string context = "replicaset ";
          context.append(key).append(": delete pod ").append(pod);
          return std::move(deleted).error().Wrap(std::move(context));
        }
        events_.Normal(*object, "SuccessfulDelete", "Deleted pod: " + pod);
      }
      active.erase(active.begin(), active.begin() + n);
    }
  }
  return UpdateStatus(rs, active);
}

Status ReplicaSetController::UpdateStatus(const v1::ReplicaSet& rs,
                                          const std::vector<v1::Pod>& active) {
  const auto now = registry_.Now();
  v1::ReplicaSetStatus status;
  status.set_replicas(static_cast<int32_t>(active.size()));
  bool waiting_for_available = false;
  for (const auto& pod : active) {
    bool labelled = true;
    for (const auto& [k, v] : rs.spec().template_().metadata().labels()) {
      auto it = pod.metadata().labels().find(k);
      labelled = labelled && it != pod.metadata().labels().end() && it->second == v;
    }
    if (labelled) status.set_fully_labeled_replicas(status.fully_labeled_replicas() + 1);
    if (IsReady(pod)) {
      status.set_ready_replicas(status.ready_replicas() + 1);
      if (IsAvailable(pod, rs.spec().min_ready_seconds(), now)) {
        status.set_available_replicas(status.available_replicas() + 1);
      } else {
        waiting_for_available = true;
      }
    }
  }
  status.set_observed_generation(rs.metadata().generation());
  if (waiting_for_available) {
    // Check again once minReadySeconds may have passed.
    queue_.AddAfter(rs.metadata().namespace_() + "/" + rs.metadata().name(),
                    std::chrono::seconds(1));
  }
  const auto& cur = rs.status();
  if (cur.replicas() == status.replicas() &&
      cur.fully_labeled_replicas() == status.fully_labeled_replicas() &&
      cur.ready_replicas() == status.ready_replicas() &&
      cur.available_replicas() == status.available_replicas() &&
      cur.observed_generation() == status.observed_generation()) {
    return {};
  }
  auto updated = registry_.Modify({"ReplicaSet", rs.metadata().namespace_(), rs.metadata().name()},
                                  [&](v1::Object& o) {
                                    *o.mutable_replica_set()->mutable_status() = status;
                                    return true;
                                  },
                                  {.status = true});
  if (!updated.ok() && updated.error().err() != ENOENT) return updated.error();
  return {};
}

}  // namespace berth::control
