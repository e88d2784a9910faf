#include "convert.h"

#include <string>
#include <vector>

namespace berth::nodeagent {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

const char* ConditionStatus(bool b) { return b ? "True" : "False"; }

Result<bool> ParseConditionStatus(const std::string& field, const std::string& s) {
  if (s == "True") return true;
  if (s == "False" || s == "Unknown") return false;
  return Error::Invalid(field + ": condition status \"" + s + "\" is not True, False or Unknown");
}

// "[a b]": the containers a condition's message names, as kubelet writes them.
std::string NameList(const std::vector<const ContainerStatus*>& cs) {
  std::string out = "[";
  for (const ContainerStatus* c : cs) {
    if (out.size() > 1) out += ' ';
    out += c->name;
  }
  return out + "]";
}

v1::ContainerState StateToProto(const ContainerState& s) {
  v1::ContainerState out;
  switch (s.kind) {
    case ContainerState::Kind::kWaiting: {
      v1::ContainerStateWaiting* w = out.mutable_waiting();
      w->set_reason(s.reason);
      w->set_message(s.message);
      break;
    }
    case ContainerState::Kind::kRunning: {
      v1::ContainerStateRunning* r = out.mutable_running();
      if (s.started_at_ns != 0) *r->mutable_started_at() = TimestampFromNs(s.started_at_ns);
      break;
    }
    case ContainerState::Kind::kTerminated: {
      v1::ContainerStateTerminated* t = out.mutable_terminated();
      t->set_exit_code(s.exit_code);
      t->set_signal(s.signal);
      t->set_reason(s.reason);
      t->set_message(s.message);
      if (s.started_at_ns != 0) *t->mutable_started_at() = TimestampFromNs(s.started_at_ns);
      if (s.finished_at_ns != 0) *t->mutable_finished_at() = TimestampFromNs(s.finished_at_ns);
      break;
    }
  }
  return out;
}

ContainerState StateFromProto(const v1::ContainerState& s) {
  ContainerState out;
  switch (s.state_case()) {
    case v1::ContainerState::kRunning:
      out.kind = ContainerState::Kind::kRunning;
      out.started_at_ns = NsFromTimestamp(s.running().started_at());
      break;
    case v1::ContainerState::kTerminated: {
      const v1::ContainerStateTerminated& t = s.terminated();
      out.kind = ContainerState::Kind::kTerminated;
      out.exit_code = t.exit_code();
      out.signal = t.signal();
      out.reason = t.reason();
      out.message = t.message();
      out.started_at_ns = NsFromTimestamp(t.started_at());
      out.finished_at_ns = NsFromTimestamp(t.finished_at());
      break;
    }
    case v1::ContainerState::kWaiting:
    case v1::ContainerState::STATE_NOT_SET:
      out.kind = ContainerState::Kind::kWaiting;
      out.reason = s.waiting().reason();
      out.message = s.waiting().message();
      break;
  }
  return out;
}

void ContainerToProto(const ContainerStatus& c, v1::ContainerStatus* out) {
  out->set_name(c.name);
  out->set_image(c.image);
  *out->mutable_state() = StateToProto(c.state);
  if (c.last_state) *out->mutable_last_state() = StateToProto(*c.last_state);
  out->set_ready(c.ready);
  out->set_started(c.started);
  out->set_restart_count(c.restart_count);
  out->set_pid(c.pid);
  out->set_cgroup(c.cgroup);
  out->set_log_path(c.log_path);
}

ContainerStatus ContainerFromProto(const v1::ContainerStatus& c, bool init) {
  ContainerStatus out;
  out.name = c.name();
  out.image = c.image();
  out.init = init;
  out.ready = c.ready();
  out.started = c.started();
  out.restart_count = c.restart_count();
  out.state = StateFromProto(c.state());
  if (c.has_last_state()) out.last_state = StateFromProto(c.last_state());
  out.pid = c.pid();
  out.cgroup = c.cgroup();
  out.log_path = c.log_path();
  return out;
}

void AddCondition(v1::PodStatus* s, const char* type, bool status, const char* reason,
                  const std::vector<const ContainerStatus*>& blocking, const char* message_prefix) {
  v1::PodCondition* c = s->add_conditions();
  c->set_type(type);
  c->set_status(ConditionStatus(status));
  if (!status && !blocking.empty()) {
    c->set_reason(reason);
    c->set_message(std::string(message_prefix) + NameList(blocking));
  }
}

v1::NodeResources Resources(int64_t cpu_milli, int64_t memory_bytes, int64_t pods) {
  v1::NodeResources r;
  r.set_cpu_milli(cpu_milli);
  r.set_memory_bytes(memory_bytes);
  r.set_pods(pods);
  return r;
}

}  // namespace

Result<PodPhase> ParsePodPhase(const std::string& phase) {
  for (PodPhase p :
       {PodPhase::kPending, PodPhase::kRunning, PodPhase::kSucceeded, PodPhase::kFailed}) {
    if (phase == PodPhaseName(p)) return p;
  }
  return Error::Invalid("status.phase: unknown pod phase \"" + phase + "\"");
}

google::protobuf::Timestamp TimestampFromNs(int64_t ns) {
  google::protobuf::Timestamp ts;
  // Floor division: a time before 1970 still has 0 <= nanos < 1e9.
  int64_t secs = ns / kNsPerSecond;
  int64_t nanos = ns % kNsPerSecond;
  if (nanos < 0) {
    nanos += kNsPerSecond;
    --secs;
  }
  ts.set_seconds(secs);
  ts.set_nanos(static_cast<int32_t>(nanos));
  return ts;
}

int64_t NsFromTimestamp(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * kNsPerSecond + ts.nanos();
}

v1::Pod PodToProto(const PodStatus& pod) {
  v1::Pod out;
  v1::ObjectMeta* m = out.mutable_metadata();
  m->set_name(pod.name);
  m->set_namespace_(pod.namespace_);
  m->set_uid(pod.uid);
  m->mutable_labels()->insert(pod.labels.begin(), pod.labels.end());
  out.set_source(pod.source);

  v1::PodStatus* s = out.mutable_status();
  s->set_phase(PodPhaseName(pod.phase));
  std::vector<const ContainerStatus*> uninitialized;
  std::vector<const ContainerStatus*> unready;
  for (const ContainerStatus& c : pod.init_containers) {
    const bool done = c.state.kind == ContainerState::Kind::kTerminated && c.state.exit_code == 0;
    if (!done) uninitialized.push_back(&c);
  }
  for (const ContainerStatus& c : pod.containers) {
    if (!c.ready) unready.push_back(&c);
  }
  AddCondition(s, "Initialized", pod.initialized, "ContainersNotInitialized", uninitialized,
               "containers with incomplete status: ");
  AddCondition(s, "Ready", pod.ready, "ContainersNotReady", unready,
               "containers with unready status: ");
  s->set_message(pod.message);
  s->set_pod_ip(pod.pod_ip);
  for (const std::string& ip : pod.pod_ips) s->add_pod_ips()->set_ip(ip);
  s->set_qos_class(pod.qos_class);
  if (pod.start_time_ns != 0) *s->mutable_start_time() = TimestampFromNs(pod.start_time_ns);
  for (const ContainerStatus& c : pod.init_containers) {
    ContainerToProto(c, s->add_init_container_statuses());
  }
  for (const ContainerStatus& c : pod.containers) {
    ContainerToProto(c, s->add_container_statuses());
  }
  return out;
}

Result<PodStatus> PodFromProto(const v1::Pod& pod) {
  PodStatus out;
  out.name = pod.metadata().name();
  out.namespace_ = pod.metadata().namespace_();
  out.uid = pod.metadata().uid();
  out.labels.insert(pod.metadata().labels().begin(), pod.metadata().labels().end());
  out.source = pod.source();
  const v1::PodStatus& s = pod.status();
  BERTH_ASSIGN_OR_RETURN(out.phase, ParsePodPhase(s.phase()));
  for (const v1::PodCondition& c : s.conditions()) {
    const std::string field = "status.conditions[" + c.type() + "]";
    if (c.type() == "Ready") {
      BERTH_ASSIGN_OR_RETURN(out.ready, ParseConditionStatus(field, c.status()));
    } else if (c.type() == "Initialized") {
      BERTH_ASSIGN_OR_RETURN(out.initialized, ParseConditionStatus(field, c.status()));
    }
  }
  out.message = s.message();
  out.pod_ip = s.pod_ip();
  for (const v1::PodIP& ip : s.pod_ips()) out.pod_ips.push_back(ip.ip());
  out.qos_class = s.qos_class();
  out.start_time_ns = s.has_start_time() ? NsFromTimestamp(s.start_time()) : 0;
  for (const v1::ContainerStatus& c : s.init_container_statuses()) {
    out.init_containers.push_back(ContainerFromProto(c, true));
  }
  for (const v1::ContainerStatus& c : s.container_statuses()) {
    out.containers.push_back(ContainerFromProto(c, false));
  }
  return out;
}

v1::Node NodeToProto(const NodeStatus& node) {
  v1::Node out;
  out.mutable_metadata()->set_name(node.name);
  v1::NodeStatus* s = out.mutable_status();
  *s->mutable_capacity() = Resources(node.cpu_milli, node.memory_bytes, node.pods);
  *s->mutable_allocatable() =
      Resources(node.allocatable_cpu_milli, node.allocatable_memory_bytes, node.allocatable_pods);
  for (const NodeCondition& c : node.conditions) {
    v1::NodeCondition* pc = s->add_conditions();
    pc->set_type(c.type);
    pc->set_status(ConditionStatus(c.status));
    pc->set_reason(c.reason);
    pc->set_message(c.message);
  }
  for (const std::string& c : node.controllers_enforced) s->add_controllers_enforced(c);
  for (const std::string& c : node.controllers_missing) s->add_controllers_missing(c);
  s->set_cgroup_root(node.cgroup_root);
  s->set_running_pods(node.running_pods);
  return out;
}

Result<NodeStatus> NodeFromProto(const v1::Node& node) {
  NodeStatus out;
  out.name = node.metadata().name();
  const v1::NodeStatus& s = node.status();
  out.cpu_milli = s.capacity().cpu_milli();
  out.memory_bytes = s.capacity().memory_bytes();
  out.pods = s.capacity().pods();
  out.allocatable_cpu_milli = s.allocatable().cpu_milli();
  out.allocatable_memory_bytes = s.allocatable().memory_bytes();
  out.allocatable_pods = s.allocatable().pods();
  for (const v1::NodeCondition& c : s.conditions()) {
    NodeCondition nc;
    nc.type = c.type();
    BERTH_ASSIGN_OR_RETURN(nc.status,
                           ParseConditionStatus("status.conditions[" + c.type() + "]", c.status()));
    nc.reason = c.reason();
    nc.message = c.message();
    out.conditions.push_back(std::move(nc));
  }
  out.controllers_enforced.assign(s.controllers_enforced().begin(), s.controllers_enforced().end());
  out.controllers_missing.assign(s.controllers_missing().begin(), s.controllers_missing().end());
  out.cgroup_root = s.cgroup_root();
  out.running_pods = s.running_pods();
  return out;
}

}  // namespace berth::nodeagent
