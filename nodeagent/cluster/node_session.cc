#include "node_session.h"

#include <cerrno>
#include <thread>

#include <google/protobuf/util/time_util.h>

#include "berth/common/log.h"

namespace berth::nodeagent {
namespace {

google::protobuf::Timestamp Now() { return google::protobuf::util::TimeUtil::GetCurrentTime(); }

void SetReady(v1::NodeStatus* status, bool ready, const std::string& reason,
              const std::string& message) {
  v1::NodeCondition* cond = nullptr;
  for (auto& c : *status->mutable_conditions()) {
    if (c.type() == "Ready") cond = &c;
  }
  if (cond == nullptr) {
    cond = status->add_conditions();
    cond->set_type("Ready");
  }
  const std::string value = ready ? "True" : "False";
  if (cond->status() != value) *cond->mutable_last_transition_time() = Now();
  cond->set_status(value);
  cond->set_reason(reason);
  cond->set_message(message);
  *cond->mutable_last_heartbeat_time() = Now();
}

}  // namespace

NodeSession::NodeSession(api::ControlClient& client, NodeIdentity identity)
    : client_(client), identity_(std::move(identity)) {}

Status NodeSession::Register(bool ready) {
  v1::Object object;
  v1::Node* node = object.mutable_node();
  node->mutable_metadata()->set_name(identity_.name);
  node->mutable_metadata()->mutable_labels()->insert(identity_.labels.begin(),
                                                     identity_.labels.end());
  (*node->mutable_metadata()->mutable_labels())["kubernetes.io/hostname"] = identity_.name;
  node->mutable_metadata()->mutable_annotations()->insert(identity_.annotations.begin(),
                                                          identity_.annotations.end());
  v1::NodeStatus* status = node->mutable_status();
  *status->mutable_capacity() = identity_.capacity;
  *status->mutable_allocatable() = identity_.allocatable;
  for (const auto& a : identity_.addresses) *status->add_addresses() = a;
  if (ready) {
    SetReady(status, true, "BerthAgentReady", "berth-agent is posting ready status");
  } else {
    SetReady(status, false, "BerthAgentStarting", "berth-agent is starting");
  }
  auto created = client_.Create(object);
  if (created.ok()) return {};
  if (created.error().err() != EEXIST)
    return std::move(created).error().Wrap("register node " + identity_.name);
  // Known already (a restart): keep its spec (taints, cordon), refresh status.
  auto current = client_.Get("Node", "", identity_.name);
  if (!current.ok()) return std::move(current).error().Wrap("register node " + identity_.name);
  auto& annotations = *current->mutable_node()->mutable_metadata()->mutable_annotations();
  bool changed = false;
  for (const auto& [key, value] : identity_.annotations) {
    auto it = annotations.find(key);
    if (it != annotations.end() && it->second == value) continue;
    annotations[key] = value;
    changed = true;
  }
  if (changed) {
    auto annotated = client_.Update(*current);
    if (!annotated.ok())
      return std::move(annotated).error().Wrap("register node " + identity_.name);
    current = std::move(annotated);
  }
  *current->mutable_node()->mutable_status() = *status;
  auto updated = client_.Update(*current, /*status=*/true);
  if (!updated.ok()) return std::move(updated).error().Wrap("register node " + identity_.name);
  return {};
}

Status NodeSession::RenewLease() {
  auto lease = client_.Get("Lease", std::string(kNodeLeaseNamespace), identity_.name);
  if (lease.ok()) {
    *lease->mutable_lease()->mutable_spec()->mutable_renew_time() = Now();
    auto updated = client_.Update(*lease);
    if (!updated.ok()) return std::move(updated).error().Wrap("renew lease of " + identity_.name);
    return {};
  }
  if (lease.error().err() != ENOENT)
    return std::move(lease).error().Wrap("renew lease of " + identity_.name);
  v1::Object object;
  v1::Lease* l = object.mutable_lease();
  l->mutable_metadata()->set_name(identity_.name);
  l->mutable_metadata()->set_namespace_(std::string(kNodeLeaseNamespace));
  l->mutable_spec()->set_holder_identity(identity_.name);
  l->mutable_spec()->set_lease_duration_seconds(identity_.lease_duration_seconds);
  *l->mutable_spec()->mutable_acquire_time() = Now();
  *l->mutable_spec()->mutable_renew_time() = Now();
  auto created = client_.Create(object);
  if (!created.ok()) return std::move(created).error().Wrap("create lease of " + identity_.name);
  return {};
}

Status NodeSession::ReportReady(bool ready, const std::string& reason, const std::string& message) {
  auto current = client_.Get("Node", "", identity_.name);
  if (!current.ok()) return current.error();
  SetReady(current->mutable_node()->mutable_status(), ready, reason, message);
  auto updated = client_.Update(*current, /*status=*/true);
  if (!updated.ok()) return updated.error();
  return {};
}

std::unique_ptr<api::AsyncWatch> NodeSession::WatchPods(const std::string& revision,
                                                        api::AsyncWatch::EventHandler on_event,
                                                        api::AsyncWatch::DoneHandler on_done) {
  v1::WatchRequest req;
  req.set_kind("Pod");
  req.set_all_namespaces(true);
  req.set_field_selector("spec.nodeName=" + identity_.name);
  req.set_resource_version(revision);
  req.set_bookmark_seconds(30);
  return client_.WatchAsync(req, std::move(on_event), std::move(on_done));
}

Status NodeSession::UpdatePodStatus(const v1::Pod& pod) {
  v1::Object object;
  *object.mutable_pod() = pod;
  auto updated = client_.Update(object, /*status=*/true);
  if (!updated.ok()) return updated.error();
  return {};
}

Status NodeSession::FinishDeletion(const v1::Pod& pod) {
  v1::DeleteRequest req;
  req.mutable_key()->set_kind("Pod");
  req.mutable_key()->set_namespace_(pod.metadata().namespace_());
  req.mutable_key()->set_name(pod.metadata().name());
  req.set_grace_period_seconds(0);
  req.set_precondition_uid(pod.metadata().uid());
  auto deleted = client_.Delete(req);
  if (!deleted.ok() && deleted.error().err() != ENOENT) return deleted.error();
  return {};
}

}  // namespace berth::nodeagent
