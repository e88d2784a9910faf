// describe for pods, pod templates and the workloads (Deployment, ReplicaSet,
// DaemonSet, Job).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include <google/protobuf/util/message_differencer.h>
#include <nlohmann/json.hpp>

#include "describe_internal.h"

#include "berth/api/codec.h"
#include "berth/api/kinds.h"
#include "berth/common/quantity.h"

namespace berth::cli::describe_internal {

// --- pods and templates ---------------------------------------------------------

std::string ProbeText(const v1::Probe& p) {
  const std::string attrs =
      "delay=" + Str(p.initial_delay_seconds()) + "s timeout=" + Str(p.timeout_seconds()) +
      "s period=" + Str(p.period_seconds()) + "s #success=" + Str(p.success_threshold()) +
      " #failure=" + Str(p.failure_threshold());
  if (p.has_exec()) {
    std::vector<std::string> cmd(p.exec().command().begin(), p.exec().command().end());
    return "exec [" + Join(cmd, " ") + "] " + attrs;
  }
  if (p.has_http_get()) {
    const v1::HTTPGetAction& h = p.http_get();
    std::string scheme = h.scheme();
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string port = IntOrString(h.port());
    std::string host = h.host().find(':') != std::string::npos ? "[" + h.host() + "]" : h.host();
    host += ":" + port;
    // url.URL.String(): "scheme://host/path"; "//host/path" without scheme.
    std::string url = scheme.empty() ? "//" + host : scheme + "://" + host;
    if (!h.path().empty() && h.path().front() != '/') url += '/';
    return "http-get " + url + h.path() + " " + attrs;
  }
  if (p.has_tcp_socket()) {
    return "tcp-socket " + p.tcp_socket().host() + ":" + IntOrString(p.tcp_socket().port()) + " " +
           attrs;
  }
  return "unknown " + attrs;
}

void ContainerState(Writer& w, std::string_view name, const v1::ContainerState& state) {
  const std::string title(name);
  if (state.has_running()) {
    w.Write(2, title + ":\tRunning\n");
    Field(w, 3, "Started",
          Rfc1123z(state.running().started_at(), state.running().has_started_at()));
  } else if (state.has_terminated()) {
    const v1::ContainerStateTerminated& t = state.terminated();
    w.Write(2, title + ":\tTerminated\n");
    if (!t.reason().empty()) Field(w, 3, "Reason", t.reason());
    if (!t.message().empty()) Field(w, 3, "Message", t.message());
    Field(w, 3, "Exit Code", Str(t.exit_code()));
    if (t.signal() > 0) Field(w, 3, "Signal", Str(t.signal()));
    Field(w, 3, "Started", Rfc1123z(t.started_at(), t.has_started_at()));
    Field(w, 3, "Finished", Rfc1123z(t.finished_at(), t.has_finished_at()));
  } else {
    w.Write(2, title + ":\tWaiting\n");
    if (state.has_waiting() && !state.waiting().reason().empty()) {
      Field(w, 3, "Reason", state.waiting().reason());
    }
  }
}

void ResourceList(Writer& w, std::string_view title, const StringMap& list) {
  if (list.empty()) return;
  w.Write(2, std::string(title) + ":\n");
  for (const std::string& name : SortedKeys(list)) w.Write(3, name + ":\t" + list.at(name) + "\n");
}

// describeContainers; `statuses` null for a pod template.
void Containers(Writer& w, std::string_view label,
                const google::protobuf::RepeatedPtrField<v1::Container>& containers,
                const google::protobuf::RepeatedPtrField<v1::ContainerStatus>* statuses,
                std::string_view space) {
  w.Write(0, std::string(space) + std::string(label) + ":" + (containers.empty() ? " <none>" : "") +
                 "\n");
  for (const v1::Container& c : containers) {
    const v1::ContainerStatus* status = nullptr;
    if (statuses != nullptr) {
      for (const v1::ContainerStatus& s : *statuses) {
        if (s.name() == c.name()) status = &s;
      }
    }
    w.Write(1, (space.empty() ? "" : " ") + c.name() + ":\n");
    // Berth reports no container or image ID.
    if (status != nullptr) w.Write(2, "Container ID:\t\n");
    Field(w, 2, "Image", c.image());
    if (status != nullptr) w.Write(2, "Image ID:\t\n");
    std::vector<std::string> ports, host_ports;
    for (const v1::ContainerPort& p : c.ports()) {
      const std::string proto = p.protocol().empty() ? "TCP" : p.protocol();
      ports.push_back(Str(p.container_port()) + "/" + proto);
      host_ports.push_back(Str(p.host_port()) + "/" + proto);
    }
    w.Write(2, (ports.size() > 1 ? "Ports:\t" : "Port:\t") + OrNone(Join(ports, ", ")) + "\n");
    w.Write(2, (host_ports.size() > 1 ? "Host Ports:\t" : "Host Port:\t") +
                   OrNone(Join(host_ports, ", ")) + "\n");
    if (c.security_context().has_seccomp_profile()) {
      Field(w, 2, "SeccompProfile", c.security_context().seccomp_profile().type());
    }
    for (const auto& [title, args] : {std::pair{"Command", &c.command()}, {"Args", &c.args()}}) {
      if (args->empty()) continue;
      w.Write(2, std::string(title) + ":\n");
      for (const std::string& arg : *args) {
        size_t start = 0;
        while (true) {
          const size_t nl = arg.find('\n', start);
          w.Write(3, arg.substr(start, nl == std::string::npos ? nl : nl - start) + "\n");
          if (nl == std::string::npos) break;
          start = nl + 1;
        }
      }
    }
    if (status != nullptr) {
      ContainerState(w, "State", status->state());
      if (status->last_state().has_terminated()) {
        ContainerState(w, "Last State", status->last_state());
      }
      Field(w, 2, "Ready", TitleBool(status->ready()));
      Field(w, 2, "Restart Count", Str(status->restart_count()));
    }
    ResourceList(w, "Limits", c.resources().limits());
    ResourceList(w, "Requests", c.resources().requests());
    if (c.has_liveness_probe()) Field(w, 2, "Liveness", ProbeText(c.liveness_probe()));
    if (c.has_readiness_probe()) {
      Field(w, 2, "Readiness", ProbeText(c.readiness_probe()));
    }
    if (c.has_startup_probe()) Field(w, 2, "Startup", ProbeText(c.startup_probe()));
    if (!c.env_from().empty()) {
      w.Write(2, "Environment Variables from:\n");
      for (const v1::EnvFromSource& e : c.env_from()) {
        const bool cm = e.has_config_map_ref();
        const v1::LocalReference& ref = cm ? e.config_map_ref() : e.secret_ref();
        std::string from = cm ? "ConfigMap" : (e.has_secret_ref() ? "Secret" : "");
        if (!e.prefix().empty()) from += " with prefix '" + e.prefix() + "'";
        w.Write(3, ref.name() + "\t" + from +
                       "\tOptional: " + Bool(ref.has_optional() && ref.optional()) + "\n");
      }
    }
    w.Write(2, std::string("Environment:") + (c.env().empty() ? "\t<none>" : "") + "\n");
    for (const v1::EnvVar& e : c.env()) {
      if (!e.has_value_from()) {
        size_t start = 0;
        for (bool first = true;; first = false) {
          const size_t nl = e.value().find('\n', start);
          const std::string line =
              e.value().substr(start, nl == std::string::npos ? nl : nl - start);
          w.Write(3, (first ? e.name() + ":\t" : "\t") + line + "\n");
          if (nl == std::string::npos) break;
          start = nl + 1;
        }
      } else if (e.value_from().has_secret_key_ref()) {
        const v1::KeySelector& k = e.value_from().secret_key_ref();
        w.Write(3, e.name() + ":\t<set to the key '" + k.key() + "' in secret '" + k.name() +
                       "'>\tOptional: " + Bool(k.has_optional() && k.optional()) + "\n");
      } else if (e.value_from().has_config_map_key_ref()) {
        const v1::KeySelector& k = e.value_from().config_map_key_ref();
        w.Write(3, e.name() + ":\t<set to the key '" + k.key() + "' of config map '" + k.name() +
                       "'>\tOptional: " + Bool(k.has_optional() && k.optional()) + "\n");
      }
    }
    w.Write(2, std::string("Mounts:") + (c.volume_mounts().empty() ? "\t<none>" : "") + "\n");
    std::vector<const v1::VolumeMount*> mounts;
    for (const v1::VolumeMount& m : c.volume_mounts()) mounts.push_back(&m);
    std::stable_sort(mounts.begin(), mounts.end(), [](const auto* a, const auto* b) {
      return a->mount_path() < b->mount_path();
    });
    for (const v1::VolumeMount* m : mounts) {
      w.Write(3, m->mount_path() + " from " + m->name() + " (" + (m->read_only() ? "ro" : "rw") +
                     ")\n");
    }
  }
}

void Volumes(Writer& w, const google::protobuf::RepeatedPtrField<v1::Volume>& volumes,
             std::string_view space) {
  if (volumes.empty()) {
    w.Write(0, std::string(space) + "Volumes:\t<none>\n");
    return;
  }
  w.Write(0, std::string(space) + "Volumes:\n");
  for (const v1::Volume& v : volumes) {
    w.Write(1, (space.empty() ? "" : " ") + v.name() + ":\n");
    if (v.has_host_path()) {
      w.Write(2, "Type:\tHostPath (bare host directory volume)\n    Path:\t" +
                     v.host_path().path() + "\n    HostPathType:\t" + v.host_path().type() + "\n");
    } else if (v.has_empty_dir()) {
      const std::string& limit = v.empty_dir().size_limit();
      w.Write(2,
              "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"
              "    Medium:\t" +
                  v.empty_dir().medium() + "\n    SizeLimit:\t" +
                  (limit.empty() || limit == "0" ? "<unset>" : limit) + "\n");
    } else if (v.has_secret()) {
      w.Write(2, "Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t" +
                     v.secret().secret_name() + "\n    Optional:\t" +
                     Bool(v.secret().has_optional() && v.secret().optional()) + "\n");
    } else if (v.has_config_map()) {
      w.Write(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t" +
                     v.config_map().name() + "\n    Optional:\t" +
                     Bool(v.config_map().has_optional() && v.config_map().optional()) + "\n");
    } else {
      w.Write(1, "<unknown>\n");
    }
  }
}

void PodTemplate(Writer& w, const v1::PodTemplateSpec& t) {
  w.Write(0, "Pod Template:\n");
  LabelsMultiline(w, "  Labels", t.metadata().labels());
  if (!t.metadata().annotations().empty()) {
    AnnotationsMultiline(w, "  Annotations", t.metadata().annotations());
  }
  if (!t.spec().init_containers().empty()) {
    Containers(w, "Init Containers", t.spec().init_containers(), nullptr, "  ");
  }
  Containers(w, "Containers", t.spec().containers(), nullptr, "  ");
  Volumes(w, t.spec().volumes(), "  ");
  if (!t.spec().priority_class_name().empty()) {
    Field(w, 1, "Priority Class Name", t.spec().priority_class_name());
  }
}

// qos.GetPodQOS for a pod whose status does not say.
std::string QosClass(const v1::Pod& pod) {
  bool any = false, guaranteed = true;
  for (const v1::Container& c : pod.spec().containers()) {
    const StringMap& req = c.resources().requests();
    const StringMap& lim = c.resources().limits();
    for (const char* r : {"cpu", "memory"}) {
      const auto l = lim.find(r);
      const auto q = req.find(r);
      any = any || l != lim.end() || q != req.end();
      if (l == lim.end()) {
        guaranteed = false;
      } else if (q != req.end()) {
        auto a = std::string_view(r) == "cpu" ? ParseMilliCpu(q->second) : ParseBytes(q->second);
        auto b = std::string_view(r) == "cpu" ? ParseMilliCpu(l->second) : ParseBytes(l->second);
        if (!a.ok() || !b.ok() || *a != *b) guaranteed = false;
      }
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

void Tolerations(Writer& w, const google::protobuf::RepeatedPtrField<v1::Toleration>& list) {
  w.Write(0, "Tolerations:\t");
  if (list.empty()) w.Write(0, "<none>\n");
  std::vector<const v1::Toleration*> sorted;
  for (const v1::Toleration& t : list) sorted.push_back(&t);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto* a, const auto* b) { return a->key() < b->key(); });
  for (size_t i = 0; i < sorted.size(); ++i) {
    const v1::Toleration& t = *sorted[i];
    std::string line = i == 0 ? "" : "\t";
    line += t.key();
    if (!t.value().empty()) line += "=" + t.value();
    if (!t.effect().empty()) line += ":" + t.effect();
    if (t.operator_() == "Exists" && t.value().empty()) {
      line += (!t.key().empty() || !t.effect().empty()) ? " op=Exists" : "op=Exists";
    }
    if (t.has_toleration_seconds()) line += " for " + Str(t.toleration_seconds()) + "s";
    w.Write(0, line + "\n");
  }
}

void DescribePod(Writer& w, const v1::Pod& pod, Clock::time_point now) {
  const v1::ObjectMeta& m = pod.metadata();
  const v1::PodSpec& spec = pod.spec();
  const v1::PodStatus& status = pod.status();
  MetadataBlock(w, m);
  if (spec.has_priority()) Field(w, 0, "Priority", Str(spec.priority()));
  if (!spec.priority_class_name().empty()) {
    Field(w, 0, "Priority Class Name", spec.priority_class_name());
  }
  Field(w, 0, "Node",
        (spec.node_name().empty() ? "<none>" : spec.node_name() + "/" + status.host_ip()));
  if (status.has_start_time()) {
    Field(w, 0, "Start Time", Rfc1123z(status.start_time(), true));
  }
  LabelsMultiline(w, "Labels", m.labels());
  AnnotationsMultiline(w, "Annotations", m.annotations());
  if (m.has_deletion_timestamp()) {
    w.Write(0,
            "Status:\tTerminating (lasts " + HumanAge(m.deletion_timestamp(), true, now) + ")\n");
    if (m.has_deletion_grace_period_seconds()) {
      w.Write(0, "Termination Grace Period:\t" + Str(m.deletion_grace_period_seconds()) + "s\n");
    }
  } else {
    Field(w, 0, "Status", status.phase());
  }
  if (!status.reason().empty()) Field(w, 0, "Reason", status.reason());
  if (!status.message().empty()) Field(w, 0, "Message", status.message());
  Field(w, 0, "IP", status.pod_ip());
  if (status.pod_ips().empty()) {
    w.Write(0, "IPs:\t<none>\n");
  } else {
    w.Write(0, "IPs:\n");
    for (const v1::PodIP& ip : status.pod_ips()) Field(w, 1, "IP", ip.ip());
  }
  if (const std::string by = ControlledBy(m); !by.empty()) {
    Field(w, 0, "Controlled By", by);
  }
  if (!status.nominated_node_name().empty()) {
    Field(w, 0, "NominatedNodeName", status.nominated_node_name());
  }
  if (!spec.init_containers().empty()) {
    Containers(w, "Init Containers", spec.init_containers(), &status.init_container_statuses(), "");
  }
  Containers(w, "Containers", spec.containers(), &status.container_statuses(), "");
  if (!status.conditions().empty()) {
    w.Write(0, "Conditions:\n  Type\tStatus\n");
    for (const v1::PodCondition& c : status.conditions()) {
      w.Write(1, c.type() + " \t" + c.status() + " \n");
    }
  }
  Volumes(w, spec.volumes(), "");
  w.Write(
      0, "QoS Class:\t" + (status.qos_class().empty() ? QosClass(pod) : status.qos_class()) + "\n");
  LabelsMultiline(w, "Node-Selectors", spec.node_selector());
  Tolerations(w, spec.tolerations());
}

// --- workloads -------------------------------------------------------------------------

void WorkloadConditions(Writer& w,
                        const google::protobuf::RepeatedPtrField<v1::WorkloadCondition>& list) {
  if (list.empty()) return;
  w.Write(0, "Conditions:\n  Type\tStatus\tReason\n");
  w.Write(1, "----\t------\t------\n");
  for (const v1::WorkloadCondition& c : list) {
    w.Write(1, c.type() + " \t" + c.status() + "\t" + c.reason() + "\n");
  }
}

std::string ReplicaSetsByLabels(const std::vector<const v1::ReplicaSet*>& sets) {
  std::vector<std::string> parts;
  for (const v1::ReplicaSet* rs : sets) {
    parts.push_back(rs->metadata().name() + " (" + Str(rs->status().replicas()) + "/" +
                    Str(rs->spec().has_replicas() ? rs->spec().replicas() : 1) +
                    " replicas created)");
  }
  return OrNone(Join(parts, ", "));
}

bool SameTemplate(const v1::PodTemplateSpec& a, const v1::PodTemplateSpec& b) {
  v1::PodTemplateSpec x = a, y = b;
  x.mutable_metadata()->mutable_labels()->erase("pod-template-hash");
  y.mutable_metadata()->mutable_labels()->erase("pod-template-hash");
  return google::protobuf::util::MessageDifferencer::Equals(x, y);
}

void DescribeDeployment(Writer& w, const v1::Deployment& d, const DescribeContext& ctx) {
  const v1::DeploymentSpec& spec = d.spec();
  MetadataBlock(w, d.metadata());
  w.Write(0,
          "CreationTimestamp:\t" +
              Rfc1123z(d.metadata().creation_timestamp(), d.metadata().has_creation_timestamp()) +
              "\n");
  LabelsMultiline(w, "Labels", d.metadata().labels());
  AnnotationsMultiline(w, "Annotations", d.metadata().annotations());
  Field(w, 0, "Selector", SelectorString(spec.selector()));
  const v1::DeploymentStatus& st = d.status();
  w.Write(0, "Replicas:\t" + Str(spec.has_replicas() ? spec.replicas() : 1) + " desired | " +
                 Str(st.updated_replicas()) + " updated | " + Str(st.replicas()) + " total | " +
                 Str(st.available_replicas()) + " available | " + Str(st.unavailable_replicas()) +
                 " unavailable\n");
  Field(w, 0, "StrategyType", spec.strategy().type());
  Field(w, 0, "MinReadySeconds", Str(spec.min_ready_seconds()));
  if (spec.strategy().has_rolling_update()) {
    const v1::RollingUpdateDeployment& ru = spec.strategy().rolling_update();
    w.Write(0, "RollingUpdateStrategy:\t" + IntOrString(ru.max_unavailable()) +
                   " max unavailable, " + IntOrString(ru.max_surge()) + " max surge\n");
  }
  PodTemplate(w, spec.template_());
  WorkloadConditions(w, st.conditions());
  // deploymentutil.GetAllReplicaSets: the controlled sets; the oldest one
  // with the Deployment's template is the new one, every other one is old.
  std::vector<const v1::ReplicaSet*> owned, old_sets, new_sets;
  for (const v1::ReplicaSet& rs : ctx.replica_sets) {
    if (Controls(d.metadata(), rs.metadata(), "Deployment")) owned.push_back(&rs);
  }
  const v1::ReplicaSet* current = nullptr;
  for (const v1::ReplicaSet* rs : owned) {
    if (!SameTemplate(rs->spec().template_(), spec.template_())) continue;
    const Timestamp& t = rs->metadata().creation_timestamp();
    if (current == nullptr || t.seconds() < current->metadata().creation_timestamp().seconds()) {
      current = rs;
    }
  }
  for (const v1::ReplicaSet* rs : owned) (rs == current ? new_sets : old_sets).push_back(rs);
  if (!owned.empty()) {
    Field(w, 0, "OldReplicaSets", ReplicaSetsByLabels(old_sets));
    Field(w, 0, "NewReplicaSet", ReplicaSetsByLabels(new_sets));
  }
}

std::string PodsStatus(const v1::ObjectMeta& owner, std::string_view kind,
                       const DescribeContext& ctx) {
  int running = 0, waiting = 0, succeeded = 0, failed = 0;
  if (ctx.pods.has_value()) {
    for (const v1::Pod& pod : *ctx.pods) {
      if (!Controls(owner, pod.metadata(), kind)) continue;
      const std::string& phase = pod.status().phase();
      running += phase == "Running";
      waiting += phase == "Pending";
      succeeded += phase == "Succeeded";
      failed += phase == "Failed";
    }
  }
  return Str(running) + " Running / " + Str(waiting) + " Waiting / " + Str(succeeded) +
         " Succeeded / " + Str(failed) + " Failed";
}

void DescribeReplicaSet(Writer& w, const v1::ReplicaSet& rs, const DescribeContext& ctx) {
  MetadataBlock(w, rs.metadata());
  Field(w, 0, "Selector", FormatLabelSelector(rs.spec().selector()));
  LabelsMultiline(w, "Labels", rs.metadata().labels());
  AnnotationsMultiline(w, "Annotations", rs.metadata().annotations());
  if (const std::string by = ControlledBy(rs.metadata()); !by.empty()) {
    Field(w, 0, "Controlled By", by);
  }
  w.Write(0, "Replicas:\t" + Str(rs.status().replicas()) + " current / " +
                 Str(rs.spec().has_replicas() ? rs.spec().replicas() : 1) + " desired\n");
  Field(w, 0, "Pods Status", PodsStatus(rs.metadata(), "ReplicaSet", ctx));
  PodTemplate(w, rs.spec().template_());
  WorkloadConditions(w, rs.status().conditions());
}

void DescribeDaemonSet(Writer& w, const v1::DaemonSet& ds, const DescribeContext& ctx) {
  const v1::DaemonSetStatus& st = ds.status();
  MetadataBlock(w, ds.metadata(), /*with_namespace=*/false);  // as kubectl 1.28
  Field(w, 0, "Selector", SelectorString(ds.spec().selector()));
  w.Write(0,
          "Node-Selector:\t" + FormatLabels(ds.spec().template_().spec().node_selector()) + "\n");
  LabelsMultiline(w, "Labels", ds.metadata().labels());
  AnnotationsMultiline(w, "Annotations", ds.metadata().annotations());
  w.Write(0, "Desired Number of Nodes Scheduled: " + Str(st.desired_number_scheduled()) + "\n");
  w.Write(0, "Current Number of Nodes Scheduled: " + Str(st.current_number_scheduled()) + "\n");
  w.Write(0, "Number of Nodes Scheduled with Up-to-date Pods: " +
                 Str(st.updated_number_scheduled()) + "\n");
  w.Write(0, "Number of Nodes Scheduled with Available Pods: " + Str(st.number_available()) + "\n");
  w.Write(0, "Number of Nodes Misscheduled: " + Str(st.number_misscheduled()) + "\n");
  Field(w, 0, "Pods Status", PodsStatus(ds.metadata(), "DaemonSet", ctx));
  PodTemplate(w, ds.spec().template_());
}

void DescribeJob(Writer& w, const v1::Job& job) {
  const v1::JobSpec& spec = job.spec();
  const v1::JobStatus& st = job.status();
  MetadataBlock(w, job.metadata());
  Field(w, 0, "Selector", SelectorString(spec.selector()));
  LabelsMultiline(w, "Labels", job.metadata().labels());
  AnnotationsMultiline(w, "Annotations", job.metadata().annotations());
  if (const std::string by = ControlledBy(job.metadata()); !by.empty()) {
    Field(w, 0, "Controlled By", by);
  }
  if (spec.has_parallelism()) Field(w, 0, "Parallelism", Str(spec.parallelism()));
  w.Write(0,
          "Completions:\t" + (spec.has_completions() ? Str(spec.completions()) : "<unset>") + "\n");
  if (st.has_start_time()) Field(w, 0, "Start Time", Rfc1123z(st.start_time(), true));
  if (st.has_completion_time()) {
    Field(w, 0, "Completed At", Rfc1123z(st.completion_time(), true));
  }
  if (st.has_start_time() && st.has_completion_time()) {
    const int64_t secs = st.completion_time().seconds() - st.start_time().seconds();
    Field(w, 0, "Duration", HumanDuration(std::chrono::seconds(secs)));
  }
  if (spec.has_active_deadline_seconds()) {
    w.Write(0, "Active Deadline Seconds:\t" + Str(spec.active_deadline_seconds()) + "s\n");
  }
  w.Write(0, "Pods Statuses:\t" + Str(st.active()) + " Active / " + Str(st.succeeded()) +
                 " Succeeded / " + Str(st.failed()) + " Failed\n");
  PodTemplate(w, spec.template_());
}

}  // namespace berth::cli::describe_internal
