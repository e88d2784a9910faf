#include "pod_events.h"

#include <cstdio>
#include <functional>

#include <google/protobuf/util/time_util.h>

#include "berth/common/log.h"

namespace berth::nodeagent {
namespace {

using Kind = ContainerState::Kind;

std::string FieldPath(const ContainerStatus& c) {
  return std::string(c.init ? "spec.initContainers{" : "spec.containers{") + c.name + "}";
}

const ContainerStatus* Find(const PodStatus* pod, const ContainerStatus& c) {
  if (pod == nullptr) return nullptr;
  for (const auto* list : {&pod->init_containers, &pod->containers}) {
    for (const auto& x : *list) {
      if (x.name == c.name && x.init == c.init) return &x;
    }
  }
  return nullptr;
}

bool IsFailureReason(const std::string& reason) {
  return reason == "ErrImagePull" || reason == "CreateContainerError" ||
         reason == "CreateContainerConfigError";
}

}  // namespace

std::vector<PodEvent> StatusEvents(const PodStatus* before, const PodStatus& after) {
  std::vector<PodEvent> out;
  for (const auto* list : {&after.init_containers, &after.containers}) {
    for (const ContainerStatus& c : *list) {
      const ContainerStatus* old = Find(before, c);
      const ContainerState& now = c.state;
      if (now.kind == Kind::kRunning && (old == nullptr || old->state.kind != Kind::kRunning ||
                                         old->state.started_at_ns != now.started_at_ns)) {
        out.push_back({"Normal", "Started", "Started container " + c.name, FieldPath(c)});
      }
      if (now.kind != Kind::kWaiting) continue;
      const bool same = old != nullptr && old->state.kind == Kind::kWaiting &&
                        old->state.reason == now.reason && old->restart_count == c.restart_count;
      if (same) continue;
      if (now.reason == "CrashLoopBackOff") {
        out.push_back({"Warning", "BackOff",
                       "Back-off restarting failed container " + c.name + " in pod " + after.name +
                           "_" + after.namespace_,
                       FieldPath(c)});
      } else if (IsFailureReason(now.reason)) {
        out.push_back({"Warning", "Failed",
                       "Error: " + (now.message.empty() ? now.reason : now.message), FieldPath(c)});
      }
    }
  }
  return out;
}

std::vector<PodEvent> KillingEvents(const PodStatus& status) {
  std::vector<PodEvent> out;
  for (const ContainerStatus& c : status.containers) {
    if (c.state.kind != Kind::kRunning) continue;
    out.push_back({"Normal", "Killing", "Stopping container " + c.name, FieldPath(c)});
  }
  return out;
}

EventWriter::EventWriter(api::ControlClient& client, std::string node)
    : client_(client), node_(std::move(node)) {}

void EventWriter::Forget(const std::string& uid) {
  const std::string prefix = uid + "\n";
  auto it = recorded_.lower_bound(prefix);
  while (it != recorded_.end() && it->first.compare(0, prefix.size(), prefix) == 0) {
    it = recorded_.erase(it);
  }
}

void EventWriter::Write(const v1::Pod& pod, const PodEvent& e) {
  const v1::ObjectMeta& pm = pod.metadata();
  const std::string key = pm.uid() + "\n" + e.reason + "\n" + e.message;
  const auto now = google::protobuf::util::TimeUtil::GetCurrentTime();
  Recorded& r = recorded_[key];
  if (r.count > 0) {
    // A repeat: count it on the event written before.
    auto existing = client_.Get("Event", pm.namespace_(), r.name);
    if (existing.ok()) {
      v1::Event* ev = existing->mutable_event();
      ev->set_count(ev->count() + 1);
      *ev->mutable_last_timestamp() = now;
      existing->mutable_event()->mutable_metadata()->clear_resource_version();
      if (client_.Update(*existing).ok()) {
        r.count = ev->count();
        return;
      }
    }
  }
  char suffix[17];
  (void)std::snprintf(suffix, sizeof(suffix), "%016zx", std::hash<std::string>{}(key + node_));
  v1::Object object;
  v1::Event* ev = object.mutable_event();
  ev->mutable_metadata()->set_name(pm.name() + "." + suffix);
  ev->mutable_metadata()->set_namespace_(pm.namespace_());
  v1::ObjectReference* ref = ev->mutable_involved_object();
  ref->set_kind("Pod");
  ref->set_api_version("v1");
  ref->set_namespace_(pm.namespace_());
  ref->set_name(pm.name());
  ref->set_uid(pm.uid());
  ref->set_field_path(e.field_path);
  ev->set_reason(e.reason);
  ev->set_message(e.message);
  ev->set_type(e.type);
  ev->mutable_source()->set_component("berth-agent");
  ev->mutable_source()->set_host(node_);
  ev->set_reporting_component("berth-agent");
  *ev->mutable_first_timestamp() = now;
  *ev->mutable_last_timestamp() = now;
  ev->set_count(1);
  auto created = client_.Create(object);
  if (!created.ok() && created.error().err() != EEXIST) {
    log::Warn("event", {{"pod", pm.namespace_() + "/" + pm.name()},
                        {"reason", e.reason},
                        {"error", created.error().ToString()}});
    recorded_.erase(key);
    return;
  }
  r.name = ev->metadata().name();
  r.count = 1;
}

}  // namespace berth::nodeagent
