#include "berth/control/controllers/daemonset.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <set>

#include <google/protobuf/util/time_util.h>

#include "berth/api/kinds.h"
#include "berth/common/log.h"
#include "berth/control/controllers/daemon_placement.h"
#include "berth/control/controllers/pods.h"
#include "berth/control/rollout.h"

namespace berth::control {
namespace {

using google::protobuf::util::TimeUtil;

std::string OwnerKey(const v1::Pod& pod) {
  const auto* owner = ControllerOf(pod.metadata());
  if (owner == nullptr || owner->kind() != "DaemonSet") return "";
  return pod.metadata().namespace_() + "/" + owner->name();
}

bool Terminal(const v1::Pod& pod) {
  return pod.status().phase() == "Succeeded" || pod.status().phase() == "Failed";
}

bool Deleting(const v1::Pod& pod) { return pod.metadata().has_deletion_timestamp(); }

bool Updated(const v1::Pod& pod, const std::string& hash) {
  auto it = pod.metadata().labels().find(std::string(kControllerRevisionHash));
  return it != pod.metadata().labels().end() && it->second == hash;
}

void SortOldestFirst(std::vector<v1::Pod>& pods) {
  std::stable_sort(pods.begin(), pods.end(), [](const v1::Pod& a, const v1::Pod& b) {
    return TimeUtil::TimestampToNanoseconds(a.metadata().creation_timestamp()) <
           TimeUtil::TimestampToNanoseconds(b.metadata().creation_timestamp());
  });
}

// What a node change means to DaemonSets: its labels and taints.
std::string PlacementFingerprint(const v1::Node& node) {
  std::map<std::string, std::string> labels(node.metadata().labels().begin(),
                                            node.metadata().labels().end());
  std::string out;
  for (const auto& [k, v] : labels) out.append(k).append("=").append(v).append(",");
  out += "|";
  for (const auto& t : node.spec().taints()) {
    out.append(t.key()).append("=").append(t.value()).append(":").append(t.effect()).append(",");
  }
  return out;
}

// maxUnavailable of a DaemonSet: a number, or a percentage of the desired
// nodes rounded up (Kubernetes rounds up here, unlike Deployments). At
// least 1: without surge, 0 would never replace anything.
Result<int64_t> MaxUnavailable(const v1::DaemonSet& ds, int64_t desired) {
  const auto& value = ds.spec().update_strategy().rolling_update().max_unavailable();
  IntOrPercent parsed;
  if (value.has_number_value()) {
    parsed.value = static_cast<int64_t>(value.number_value());
  } else if (value.has_string_value()) {
    auto p = IntOrPercent::Parse(value.string_value(),
                                 "spec.updateStrategy.rollingUpdate.maxUnavailable");
    if (!p.ok()) return p.error();
    parsed = *p;
  } else {
    parsed.value = 1;
  }
  int64_t n = parsed.percent ? (parsed.value * desired + 99) / 100 : parsed.value;
  return std::max<int64_t>(n, 1);
}

}  // namespace

DaemonSetController::DaemonSetController(Registry& registry, Informer& daemonsets, Informer& pods,
                                         Informer& nodes, EventRecorder& events,
                                         DaemonSetOptions options)
    : registry_(registry),
      daemonsets_(daemonsets),
      pods_(pods),
      nodes_(nodes),
      events_(events),
      options_(options),
      runner_("daemonset", queue_, [this](const std::string& key) { return Sync(key); }) {
  daemonsets_.AddHandler(
      [this](const ObjectEvent& e, const v1::Object*) { queue_.Add(KeyOf(e.object)); });
  pods_.AddHandler([this](const ObjectEvent& e, const v1::Object* old) { OnPod(e, old); });
  nodes_.AddHandler([this](const ObjectEvent& e, const v1::Object* old) { OnNode(e, old); });
}

DaemonSetController::~DaemonSetController() { Stop(); }

Status DaemonSetController::Start() {
  BERTH_TRY(WaitForInformers({&pods_, &nodes_, &daemonsets_}, "daemonset controller"));
  resync_.Start(options_.resync, [this] { EnqueueAll(); });
  return runner_.Start(options_.workers);
}

void DaemonSetController::Stop() {
  resync_.Stop();
  queue_.ShutDown();
  runner_.Stop();
}

void DaemonSetController::EnqueueAll() {
  for (const auto& ds : daemonsets_.List()) queue_.Add(KeyOf(ds));
}

void DaemonSetController::OnPod(const ObjectEvent& event, const v1::Object* old) {
  if (!event.object.has_pod()) return;
  const v1::Pod& pod = event.object.pod();
  const std::string owner = OwnerKey(pod);
  if (owner.empty()) return;
  const bool was_deleting = old != nullptr && Deleting(old->pod());
  if (event.type == ObjectEvent::Type::kAdded) {
    expectations_.Observed(owner, true);
  } else if (event.type == ObjectEvent::Type::kDeleted) {
    if (!was_deleting) expectations_.Observed(owner, false);
  } else if (Deleting(pod) && !was_deleting) {
    expectations_.Observed(owner, false);
  }
  queue_.Add(owner);
}

void DaemonSetController::OnNode(const ObjectEvent& event, const v1::Object* old) {
  if (!event.object.has_node()) return;
  // Heartbeats change only the status: nothing a DaemonSet places by.
  if (event.type == ObjectEvent::Type::kModified && old != nullptr && old->has_node() &&
      PlacementFingerprint(old->node()) == PlacementFingerprint(event.object.node())) {
    return;
  }
  EnqueueAll();
}

Result<std::vector<v1::Pod>> DaemonSetController::ClaimPods(const v1::Object& ds,
                                                            const LabelSelector& selector) {
  const v1::ObjectMeta& meta = ds.daemon_set().metadata();
  std::vector<v1::Pod> owned;
  for (auto& o : pods_.ByIndex(kPodsByOwner, meta.uid())) owned.push_back(o.pod());
  // Kubernetes' ControllerRef adoption: a DaemonSet recreated over its
  // orphaned pods takes them back instead of starting new ones.
  for (const auto& o : pods_.List(meta.namespace_(), selector)) {
    const v1::Pod& pod = o.pod();
    if (ControllerOf(pod.metadata()) != nullptr || !IsActive(pod) ||
        pod.spec().node_name().empty()) {
      continue;
    }
    auto adopted =
        registry_.Modify({"Pod", meta.namespace_(), pod.metadata().name()}, [&](v1::Object& p) {
          auto* pm = p.mutable_pod()->mutable_metadata();
          if (ControllerOf(*pm) != nullptr) return false;
          auto* ref = pm->add_owner_references();
          ref->set_api_version("apps/v1");
          ref->set_kind("DaemonSet");
          ref->set_name(meta.name());
          ref->set_uid(meta.uid());
          ref->set_controller(true);
          ref->set_block_owner_deletion(true);
          return true;
        });
    if (!adopted.ok()) {
      if (adopted.error().err() == ENOENT) continue;
      return std::move(adopted).error().Wrap("adopt pod " + pod.metadata().name());
    }
    const v1::OwnerReference* owner = ControllerOf(adopted->pod().metadata());
    if (owner != nullptr && owner->uid() == meta.uid()) owned.push_back(adopted->pod());
  }
  return owned;
}

Status DaemonSetController::Sync(const std::string& key) {
  const auto [ns, name] = SplitKey(key);
  auto object = daemonsets_.Get(ns, name);
  if (!object) {
    expectations_.Forget(key);
    return {};
  }
  const v1::DaemonSet& ds = object->daemon_set();
  if (ds.metadata().has_deletion_timestamp()) return {};
  BERTH_ASSIGN_OR_RETURN(LabelSelector selector, ToSelector(ds.spec().selector()));
  const std::string hash = DaemonSetTemplateHash(ds.spec().template_());
  // The predicate sees the pod as it would be created: with the daemon
  // tolerations.
  v1::PodSpec daemon_spec = ds.spec().template_().spec();
  AddDaemonTolerations(daemon_spec);

  auto owned = ClaimPods(*object, selector);
  if (!owned.ok()) return std::move(owned).error().Wrap("daemonset " + key);
  const std::vector<v1::Object> nodes = nodes_.List();
  std::map<std::string, bool> should_run;
  std::map<std::string, DaemonNodeFit> fits;
  for (const auto& node : nodes) {
    const DaemonNodeFit fit = NodeShouldRunDaemonPod(node.node(), daemon_spec);
    fits[node.node().metadata().name()] = fit;
    should_run[node.node().metadata().name()] = fit.should_run;
  }
  PodsByNode by_node;
  std::vector<Deletion> deletions;
  for (auto& pod : *owned) {
    const std::string& node = pod.spec().node_name();
    if (fits.count(node) > 0) {
      by_node[node].push_back(std::move(pod));
    } else if (!node.empty() || !Deleting(pod)) {
      // On a node that is gone (or on none): nothing will ever stop it.
      deletions.push_back({std::move(pod), !node.empty()});
    }
  }

  if (expectations_.Satisfied(key)) {
    std::vector<std::string> create_on;
    for (const auto& node : nodes) {
      const std::string& node_name = node.node().metadata().name();
      const DaemonNodeFit& fit = fits[node_name];
      const std::vector<v1::Pod>& pods = by_node[node_name];
      if (fit.should_run && pods.empty()) {
        create_on.push_back(node_name);
      } else if (fit.should_continue_running) {
        std::vector<v1::Pod> running;
        for (const auto& pod : pods) {
          if (Deleting(pod)) continue;
          if (pod.status().phase() == "Failed") {
            std::string message = "Found failed daemon pod ";
            message.append(ns).append("/").append(pod.metadata().name());
            message.append(" on node ").append(node_name).append(", will try to kill it");
            events_.Warning(*object, "FailedDaemonPod", std::move(message));
            deletions.push_back({pod, false});
            continue;
          }
          running.push_back(pod);
        }
        // One daemon per node: keep the oldest.
        SortOldestFirst(running);
        for (size_t i = 1; i < running.size(); ++i) deletions.push_back({running[i], false});
      } else {
        for (const auto& pod : pods) {
          if (!Deleting(pod)) deletions.push_back({pod, false});
        }
      }
    }
    // As Kubernetes does, the rolling update only runs on a sync that had
    // nothing else to do, so it sees the result of the last changes.
    if (create_on.empty() && deletions.empty() &&
        ds.spec().update_strategy().type() == "RollingUpdate") {
      auto old = RollingUpdate(ds, nodes, should_run, by_node, hash);
      if (!old.ok()) return std::move(old).error().Wrap("daemonset " + key);
      for (auto& pod : *old) deletions.push_back({std::move(pod), false});
    }
    BERTH_TRY(Apply(*object, key, create_on, deletions, hash));
  }
  return UpdateStatus(ds, nodes, should_run, by_node, hash);
}

Result<std::vector<v1::Pod>> DaemonSetController::RollingUpdate(
    const v1::DaemonSet& ds, const std::vector<v1::Object>& nodes,
    const std::map<std::string, bool>& should_run, const PodsByNode& by_node,
    const std::string& hash) {
  int64_t desired = 0;
  for (const auto& [node, run] : should_run) desired += run ? 1 : 0;
  auto max_unavailable = MaxUnavailable(ds, desired);
  if (!max_unavailable.ok()) return max_unavailable.error();
  const auto now = registry_.Now();
  const int32_t min_ready = ds.spec().min_ready_seconds();
  int64_t unavailable = 0;
  std::vector<v1::Pod> replace_now;  // old and unavailable anyway
  std::vector<v1::Pod> candidates;   // old and available: cost availability
  for (const auto& node : nodes) {
    const std::string& node_name = node.node().metadata().name();
    if (!should_run.at(node_name)) continue;
    const v1::Pod* updated = nullptr;
    const v1::Pod* old = nullptr;
    int extra = 0;
    if (auto it = by_node.find(node_name); it != by_node.end()) {
      for (const auto& pod : it->second) {
        if (Deleting(pod) || Terminal(pod)) continue;
        const v1::Pod*& slot = Updated(pod, hash) ? updated : old;
        if (slot != nullptr) ++extra;
        slot = &pod;
      }
    }
    // Nothing running (being replaced), both, or duplicates: the manage
    // pass handles the node; it counts as unavailable meanwhile
    // (Kubernetes' rollingUpdate does the same).
    if (extra > 0 || (updated == nullptr) == (old == nullptr)) {
      ++unavailable;
    } else if (updated != nullptr) {
      if (!IsAvailable(*updated, min_ready, now)) ++unavailable;
    } else if (!IsAvailable(*old, min_ready, now)) {
      replace_now.push_back(*old);
    } else {
      candidates.push_back(*old);
    }
  }
  // Kubernetes lets unavailable old pods go without charging the budget;
  // Berth charges them, so that at most maxUnavailable nodes are ever
  // without an available daemon on account of the update.
  int64_t budget = *max_unavailable - unavailable - static_cast<int64_t>(replace_now.size());
  budget = std::clamp<int64_t>(budget, 0, static_cast<int64_t>(candidates.size()));
  replace_now.insert(replace_now.end(), candidates.begin(), candidates.begin() + budget);
  return replace_now;
}

Status DaemonSetController::Apply(const v1::Object& ds, const std::string& key,
                                  const std::vector<std::string>& create_on,
                                  const std::vector<Deletion>& deletions, const std::string& hash) {
  const auto n_create = std::min<int64_t>(static_cast<int64_t>(create_on.size()), options_.burst);
  int64_t n_delete = 0;
  for (const auto& d : deletions) n_delete += Deleting(d.pod) ? 0 : 1;
  if (n_create > 0 || n_delete > 0) expectations_.Expect(key, n_create, n_delete);
  for (const auto& d : deletions) {
    const std::string& pod = d.pod.metadata().name();
    DeleteOptions options;
    options.precondition_uid = d.pod.metadata().uid();
    if (d.force) options.grace_period_seconds = 0;
    auto deleted = registry_.Delete({"Pod", d.pod.metadata().namespace_(), pod}, options);
    if (!deleted.ok()) {
      // ENOENT / ESTALE: gone (or replaced) already, perhaps before the
      // expectation was set, so its event may have passed: count it now,
      // as Kubernetes does (a late event only lowers the count further).
      const int err = deleted.error().err();
      if (!Deleting(d.pod)) expectations_.DeletionFailed(key);
      if (err == ENOENT || err == ESTALE) continue;
      return std::move(deleted).error().Wrap(
          std::string("daemonset ").append(key).append(": delete pod ").append(pod));
    }
    events_.Normal(ds, "SuccessfulDelete", "Deleted pod: " + pod);
  }
  for (int64_t i = 0; i < n_create; ++i) {
    auto created = registry_.Create(DaemonPodFor(ds, create_on[i], hash));
    if (!created.ok()) {
      for (int64_t j = i; j < n_create; ++j) expectations_.CreationFailed(key);
      events_.Warning(ds, "FailedCreate", "Error creating: " + created.error().message());
      return std::move(created).error().Wrap("daemonset " + key + ": create pod on node " +
                                             create_on[i]);
    }
    events_.Normal(ds, "SuccessfulCreate", "Created pod: " + created->pod().metadata().name());
  }
  if (n_create < static_cast<int64_t>(create_on.size())) queue_.Add(key);  // the next burst
  return {};
}

Status DaemonSetController::UpdateStatus(const v1::DaemonSet& ds,
                                         const std::vector<v1::Object>& nodes,
                                         const std::map<std::string, bool>& should_run,
                                         const PodsByNode& by_node, const std::string& hash) {
  const auto now = registry_.Now();
  v1::DaemonSetStatus status;
  bool waiting_for_available = false;
  for (const auto& node : nodes) {
    const std::string& node_name = node.node().metadata().name();
    std::vector<v1::Pod> alive;
    if (auto it = by_node.find(node_name); it != by_node.end()) {
      for (const auto& pod : it->second) {
        if (!Deleting(pod) && !Terminal(pod)) alive.push_back(pod);
      }
    }
    if (!should_run.at(node_name)) {
      if (!alive.empty()) status.set_number_misscheduled(status.number_misscheduled() + 1);
      continue;
    }
    status.set_desired_number_scheduled(status.desired_number_scheduled() + 1);
    if (alive.empty()) continue;
    status.set_current_number_scheduled(status.current_number_scheduled() + 1);
    SortOldestFirst(alive);
    const v1::Pod& pod = alive.front();
    if (IsReady(pod)) {
      status.set_number_ready(status.number_ready() + 1);
      if (IsAvailable(pod, ds.spec().min_ready_seconds(), now)) {
        status.set_number_available(status.number_available() + 1);
      } else {
        waiting_for_available = true;
      }
    }
    if (Updated(pod, hash)) {
      status.set_updated_number_scheduled(status.updated_number_scheduled() + 1);
    }
  }
  status.set_number_unavailable(status.desired_number_scheduled() - status.number_available());
  status.set_observed_generation(ds.metadata().generation());
  const std::string key = ds.metadata().namespace_() + "/" + ds.metadata().name();
  // Check again once minReadySeconds may have passed.
  if (waiting_for_available) queue_.AddAfter(key, std::chrono::seconds(1));
  if (status.SerializeAsString() == ds.status().SerializeAsString()) return {};
  auto updated = registry_.Modify({"DaemonSet", ds.metadata().namespace_(), ds.metadata().name()},
                                  [&](v1::Object& o) {
                                    if (o.daemon_set().metadata().uid() != ds.metadata().uid()) {
                                      return false;
                                    }
                                    *o.mutable_daemon_set()->mutable_status() = status;
                                    return true;
                                  },
                                  {.status = true});
  if (!updated.ok() && updated.error().err() != ENOENT) {
    return std::move(updated).error().Wrap("daemonset " + key + ": update status");
  }
  return {};
}

}  // namespace berth::control
