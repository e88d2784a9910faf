#include "berth/control/controllers/node_lifecycle.h"

#include <cerrno>

#include <google/protobuf/util/time_util.h>

#include "berth/common/log.h"
#include "berth/control/controllers/pods.h"

namespace berth::control {
namespace {

using google::protobuf::util::TimeUtil;
using Clock = std::chrono::system_clock;

Clock::time_point FromTimestamp(const google::protobuf::Timestamp& t) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
      std::chrono::nanoseconds(TimeUtil::TimestampToNanoseconds(t))));
}

google::protobuf::Timestamp ToTimestamp(Clock::time_point t) {
  return TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

bool HasUnreachableTaint(const v1::Node& node) {
  for (const auto& t : node.spec().taints()) {
    if (t.key() == kUnreachableTaint) return true;
  }
  return false;
}

}  // namespace

NodeLifecycleController::NodeLifecycleController(Registry& registry, Informer& nodes,
                                                 Informer& leases, Informer& pods,
                                                 EventRecorder& events,
                                                 NodeLifecycleOptions options)
    : registry_(registry),
      nodes_(nodes),
      leases_(leases),
      pods_(pods),
      events_(events),
      options_(options) {}

NodeLifecycleController::~NodeLifecycleController() { Stop(); }

Status NodeLifecycleController::Start() {
  constexpr auto kSyncTimeout = std::chrono::seconds(60);
  if (!nodes_.WaitForSync(kSyncTimeout) || !leases_.WaitForSync(kSyncTimeout) ||
      !pods_.WaitForSync(kSyncTimeout)) {
    return Error::Sys(ETIMEDOUT, "node lifecycle controller: informers did not sync (started?)");
  }
  stop_ = false;
  thread_ = std::thread([this] {
    while (!stop_) {
      MonitorOnce();
      for (auto waited = std::chrono::milliseconds(0); waited < options_.period && !stop_;
           waited += std::chrono::milliseconds(50)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  });
  return {};
}

void NodeLifecycleController::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void NodeLifecycleController::MonitorOnce() {
  const auto now = registry_.Now();
  std::map<std::string, Clock::time_point> seen;
  for (const auto& object : nodes_.List()) {
    const v1::Node& node = object.node();
    const std::string& name = node.metadata().name();
    auto first = first_seen_.find(name);
    seen[name] = first == first_seen_.end() ? now : first->second;
    Clock::time_point renewed = seen[name];
    if (auto lease = leases_.Get(kNodeLeaseNamespace, name);
        lease && lease->lease().spec().has_renew_time()) {
      renewed = std::max(renewed, FromTimestamp(lease->lease().spec().renew_time()));
    }
    const bool fresh = now - renewed < options_.grace;
    if (fresh) {
      unreachable_since_.erase(name);
      if (HasUnreachableTaint(node)) MarkReachable(node);
      continue;
    }
    auto since = unreachable_since_.find(name);
    if (since == unreachable_since_.end()) {
      since = unreachable_since_.emplace(name, now).first;
    }
    if (!HasUnreachableTaint(node)) MarkUnreachable(node);
    if (now - since->second >= options_.eviction_timeout) Evict(node);
  }
  first_seen_ = std::move(seen);
  for (auto it = unreachable_since_.begin(); it != unreachable_since_.end();) {
    it = first_seen_.count(it->first) > 0 ? std::next(it) : unreachable_since_.erase(it);
  }
}

void NodeLifecycleController::MarkUnreachable(const v1::Node& node) {
  const auto now = ToTimestamp(registry_.Now());
  auto updated = registry_.Modify({"Node", "", node.metadata().name()}, [&](v1::Object& o) {
    v1::Node* n = o.mutable_node();
    if (HasUnreachableTaint(*n)) return false;
    for (const char* effect : {"NoSchedule", "NoExecute"}) {
      v1::Taint* t = n->mutable_spec()->add_taints();
      t->set_key(std::string(kUnreachableTaint));
      t->set_effect(effect);
      *t->mutable_time_added() = now;
    }
    return true;
  });
  if (!updated.ok()) {
    log::Warn("taint unreachable node",
              {{"node", node.metadata().name()}, {"error", updated.error().ToString()}});
    return;
  }
  auto status =
      registry_.Modify({"Node", "", node.metadata().name()},
                       [&](v1::Object& o) {
                         bool found = false;
                         for (auto& c : *o.mutable_node()->mutable_status()->mutable_conditions()) {
                           if (c.type() != "Ready") continue;
                           found = true;
                           c.set_status("Unknown");
                           c.set_reason("NodeStatusUnknown");
                           c.set_message("Berth agent stopped posting node status.");
                           *c.mutable_last_transition_time() = now;
                         }
                         if (!found) {
                           auto* c = o.mutable_node()->mutable_status()->add_conditions();
                           c->set_type("Ready");
                           c->set_status("Unknown");
                           c->set_reason("NodeStatusUnknown");
                           c->set_message("Berth agent never posted node status.");
                           *c->mutable_last_transition_time() = now;
                         }
                         return true;
                       },
                       {.status = true});
  IgnoreError(StatusOf(std::move(status)), "ENOENT: the node was deleted meanwhile");
  v1::Object about;
  *about.mutable_node() = node;
  events_.Normal(about, "NodeNotReady",
                 "Node " + node.metadata().name() + " status is now: NodeNotReady");
  log::Warn("node unreachable", {{"node", node.metadata().name()}});
}

void NodeLifecycleController::MarkReachable(const v1::Node& node) {
  auto updated = registry_.Modify({"Node", "", node.metadata().name()}, [&](v1::Object& o) {
    auto* taints = o.mutable_node()->mutable_spec()->mutable_taints();
    const int before = taints->size();
    for (int i = taints->size() - 1; i >= 0; --i) {
      if (taints->Get(i).key() == kUnreachableTaint) taints->DeleteSubrange(i, 1);
    }
    return taints->size() != before;
  });
  IgnoreError(StatusOf(std::move(updated)), "ENOENT: the node was deleted meanwhile");
  log::Info("node reachable again", {{"node", node.metadata().name()}});
}

void NodeLifecycleController::Evict(const v1::Node& node) {
  for (const auto& pod : pods_.ByIndex(kPodsByNode, node.metadata().name())) {
    const auto& meta = pod.pod().metadata();
    // Tolerating the NoExecute taint keeps a pod (DaemonSets do).
    bool tolerates = false;
    for (const auto& t : pod.pod().spec().tolerations()) {
      tolerates =
          tolerates ||
          ((t.key() == kUnreachableTaint || (t.key().empty() && t.operator_() == "Exists")) &&
           (t.effect().empty() || t.effect() == "NoExecute") && !t.has_toleration_seconds());
    }
    if (tolerates) continue;
    auto deleted = registry_.Delete({"Pod", meta.namespace_(), meta.name()},
                                    {.grace_period_seconds = 0, .precondition_uid = meta.uid()});
    if (!deleted.ok() && deleted.error().err() != ENOENT) {
      log::Warn("evict pod", {{"pod", meta.name()}, {"error", deleted.error().ToString()}});
      continue;
    }
    events_.Normal(pod, "TaintManagerEviction",
                   "Marking for deletion Pod " + meta.namespace_() + "/" + meta.name());
  }
}

}  // namespace berth::control
