// Kubernetes' defaults (pkg/apis/*/v1/defaults.go) and the create-time
// fill-ins of its registry strategies (a Job's generated selector, a
// Secret's stringData), applied on every write before validation. Only
// unset fields are touched, so applying them twice changes nothing.
#include "validation_internal.h"

namespace berth::control::internal {
namespace {

google::protobuf::Value Percent(const char* text) {
  google::protobuf::Value v;
  v.set_string_value(text);
  return v;
}

google::protobuf::Value Number(int n) {
  google::protobuf::Value v;
  v.set_number_value(n);
  return v;
}

bool Unset(const google::protobuf::Value& v) {
  return v.kind_case() == google::protobuf::Value::KIND_NOT_SET;
}

// Always for ":latest" or no tag (the image may change under the same
// name), IfNotPresent for any other tag or a digest.
std::string PullPolicyFor(std::string_view image) {
  if (image.find('@') != std::string_view::npos) return "IfNotPresent";
  const size_t slash = image.rfind('/');
  const size_t colon = image.rfind(':');
  const bool tagged =
      colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash);
  if (!tagged || image.substr(colon + 1) == "latest") return "Always";
  return "IfNotPresent";
}

void DefaultProbe(v1::Probe& p) {
  if (p.timeout_seconds() == 0) p.set_timeout_seconds(1);
  if (p.period_seconds() == 0) p.set_period_seconds(10);
  if (p.success_threshold() == 0) p.set_success_threshold(1);
  if (p.failure_threshold() == 0) p.set_failure_threshold(3);
  if (p.has_http_get()) {
    if (p.http_get().path().empty()) p.mutable_http_get()->set_path("/");
    if (p.http_get().scheme().empty()) p.mutable_http_get()->set_scheme("HTTP");
  }
}

void DefaultContainer(v1::Container& c) {
  if (c.image_pull_policy().empty()) c.set_image_pull_policy(PullPolicyFor(c.image()));
  for (v1::ContainerPort& p : *c.mutable_ports()) {
    if (p.protocol().empty()) p.set_protocol("TCP");
  }
  if (c.has_liveness_probe()) DefaultProbe(*c.mutable_liveness_probe());
  if (c.has_readiness_probe()) DefaultProbe(*c.mutable_readiness_probe());
  if (c.has_startup_probe()) DefaultProbe(*c.mutable_startup_probe());
}

// A bare Pod's containers with limits and no requests request their limits
// (SetDefaults_Pod; templates are not defaulted this way, their pods are).
void DefaultRequestsFromLimits(v1::Container& c) {
  if (c.resources().limits().empty()) return;
  auto& requests = *c.mutable_resources()->mutable_requests();
  for (const auto& [name, limit] : c.resources().limits()) {
    if (requests.find(name) == requests.end()) requests[name] = limit;
  }
}

// The metadata of a cluster-scoped kind has no namespace; a namespaced
// kind's is "default" when the request names none.
void DefaultNamespace(v1::ObjectMeta& meta, bool namespaced) {
  if (!namespaced) {
    meta.clear_namespace_();
  } else if (meta.namespace_().empty()) {
    meta.set_namespace_("default");
  }
}

void DefaultKind(v1::Pod& pod) {
  DefaultPodSpec(*pod.mutable_spec(), true);
  for (v1::Container& c : *pod.mutable_spec()->mutable_init_containers())
    DefaultRequestsFromLimits(c);
  for (v1::Container& c : *pod.mutable_spec()->mutable_containers()) DefaultRequestsFromLimits(c);
}

void DefaultKind(v1::ReplicaSet& rs) {
  if (!rs.spec().has_replicas()) rs.mutable_spec()->set_replicas(1);
  DefaultPodSpec(*rs.mutable_spec()->mutable_template_()->mutable_spec(), true);
}

void DefaultKind(v1::Deployment& d) {
  v1::DeploymentSpec& spec = *d.mutable_spec();
  if (!spec.has_replicas()) spec.set_replicas(1);
  v1::DeploymentStrategy& strategy = *spec.mutable_strategy();
  if (strategy.type().empty()) strategy.set_type("RollingUpdate");
  if (strategy.type() == "RollingUpdate") {
    v1::RollingUpdateDeployment& ru = *strategy.mutable_rolling_update();
    if (Unset(ru.max_unavailable())) *ru.mutable_max_unavailable() = Percent("25%");
    if (Unset(ru.max_surge())) *ru.mutable_max_surge() = Percent("25%");
  }
  if (!spec.has_revision_history_limit()) spec.set_revision_history_limit(10);
  if (!spec.has_progress_deadline_seconds()) spec.set_progress_deadline_seconds(600);
  DefaultPodSpec(*spec.mutable_template_()->mutable_spec(), true);
}

void DefaultKind(v1::DaemonSet& ds) {
  v1::DaemonSetSpec& spec = *ds.mutable_spec();
  v1::DaemonSetUpdateStrategy& strategy = *spec.mutable_update_strategy();
  if (strategy.type().empty()) strategy.set_type("RollingUpdate");
  if (strategy.type() == "RollingUpdate") {
    v1::RollingUpdateDaemonSet& ru = *strategy.mutable_rolling_update();
    if (Unset(ru.max_unavailable())) *ru.mutable_max_unavailable() = Number(1);
    if (Unset(ru.max_surge())) *ru.mutable_max_surge() = Number(0);
  }
  if (!spec.has_revision_history_limit()) spec.set_revision_history_limit(10);
  DefaultPodSpec(*spec.mutable_template_()->mutable_spec(), true);
}

void DefaultKind(v1::Job& job) {
  v1::JobSpec& spec = *job.mutable_spec();
  // Both unset: one pod, once. Parallelism alone is a work queue: completions stays unset.
  if (!spec.has_completions() && !spec.has_parallelism()) spec.set_completions(1);
  if (!spec.has_parallelism()) spec.set_parallelism(1);
  if (!spec.has_backoff_limit()) spec.set_backoff_limit(6);
  // The Job's pods restart as the user says: OnFailure or Never, no default.
  DefaultPodSpec(*spec.mutable_template_()->mutable_spec(), false);
  auto& template_labels = *spec.mutable_template_()->mutable_metadata()->mutable_labels();
  const bool manual = spec.has_manual_selector() && spec.manual_selector();
  const std::pair<const char*, std::string> generated[] = {{"controller-uid", job.metadata().uid()},
                                                           {"job-name", job.metadata().name()}};
  // The Job's labels default to its template's user labels; the generated
  // ones are left out so that defaulting twice gives the same object.
  if (job.metadata().labels().empty()) {
    auto& labels = *job.mutable_metadata()->mutable_labels();
    for (const auto& [key, value] : template_labels) labels[key] = value;
    if (!manual) {
      for (const auto& g : generated) labels.erase(g.first);
    }
  }
  if (manual) return;
  // Generated selector (the batch registry's generateSelector): labels the
  // user already set are kept, so a conflict surfaces in validation.
  auto& match_labels = *spec.mutable_selector()->mutable_match_labels();
  for (const auto& [key, value] : generated) {
    if (template_labels.find(key) == template_labels.end()) template_labels[key] = value;
    if (match_labels.find(key) == match_labels.end()) match_labels[key] = value;
  }
}

void DefaultKind(v1::Service& svc) {
  v1::ServiceSpec& spec = *svc.mutable_spec();
  if (spec.type().empty()) spec.set_type("ClusterIP");
  if (spec.session_affinity().empty()) spec.set_session_affinity("None");
  if (spec.session_affinity() == "ClientIP") {
    v1::ClientIPConfig& cfg = *spec.mutable_session_affinity_config()->mutable_client_ip();
    if (!cfg.has_timeout_seconds()) cfg.set_timeout_seconds(10800);
  }
  for (v1::ServicePort& p : *spec.mutable_ports()) {
    if (p.protocol().empty()) p.set_protocol("TCP");
    const google::protobuf::Value& target = p.target_port();
    const bool unset = Unset(target) || (target.has_number_value() && target.number_value() == 0) ||
                       (target.has_string_value() && target.string_value().empty());
    if (unset) p.mutable_target_port()->set_number_value(p.port());
  }
}

void DefaultKind(v1::Endpoints& ep) {
  for (v1::EndpointSubset& s : *ep.mutable_subsets()) {
    for (v1::EndpointPort& p : *s.mutable_ports()) {
      if (p.protocol().empty()) p.set_protocol("TCP");
    }
  }
}

void DefaultKind(v1::Secret& secret) {
  if (secret.type().empty()) secret.set_type("Opaque");
  auto& data = *secret.mutable_data();
  for (const auto& [key, value] : secret.string_data()) data[key] = value;
  secret.clear_string_data();
}

void DefaultKind(v1::Namespace& ns) {
  if (ns.status().phase().empty()) ns.mutable_status()->set_phase("Active");
}

// LimitRangeItem of type Container: default limit <- max, default request
// <- default limit, then <- min (SetDefaults_LimitRangeItem).
void DefaultKind(v1::LimitRange& lr) {
  for (v1::LimitRangeItem& item : *lr.mutable_spec()->mutable_limits()) {
    if (item.type() != "Container") continue;
    auto& def = *item.mutable_default_();
    auto& def_request = *item.mutable_default_request();
    for (const auto& [k, v] : item.max()) {
      if (def.find(k) == def.end()) def[k] = v;
    }
    for (const auto& [k, v] : def) {
      if (def_request.find(k) == def_request.end()) def_request[k] = v;
    }
    for (const auto& [k, v] : item.min()) {
      if (def_request.find(k) == def_request.end()) def_request[k] = v;
    }
  }
}

void DefaultKind(v1::PriorityClass& pc) {
  if (pc.preemption_policy().empty()) pc.set_preemption_policy("PreemptLowerPriority");
}

void DefaultKind(v1::Event& event) {
  if (event.count() == 0) event.set_count(1);
}

// Kinds without defaults of their own.
template <typename T>
void DefaultKind(T& /*message*/) {}

}  // namespace

void DefaultPodSpec(v1::PodSpec& spec, bool default_restart_policy) {
  if (default_restart_policy && spec.restart_policy().empty()) spec.set_restart_policy("Always");
  if (!spec.has_termination_grace_period_seconds()) spec.set_termination_grace_period_seconds(30);
  if (spec.scheduler_name().empty()) spec.set_scheduler_name("default-scheduler");
  for (v1::Container& c : *spec.mutable_init_containers()) DefaultContainer(c);
  for (v1::Container& c : *spec.mutable_containers()) DefaultContainer(c);
  for (v1::Toleration& t : *spec.mutable_tolerations()) {
    if (t.operator_().empty()) t.set_operator_("Equal");
  }
  // Files projected from ConfigMaps and Secrets are rw-r--r-- unless asked.
  for (v1::Volume& v : *spec.mutable_volumes()) {
    if (v.has_config_map() && !v.config_map().has_default_mode()) {
      v.mutable_config_map()->set_default_mode(0644);
    }
    if (v.has_secret() && !v.secret().has_default_mode())
      v.mutable_secret()->set_default_mode(0644);
  }
}

}  // namespace berth::control::internal

namespace berth::control {

void ApplyDefaults(v1::Object& object) {
  const bool namespaced = IsNamespaced(KindOf(object));
  internal::VisitMutableKind(object, [&](auto& message) {
    internal::DefaultNamespace(*message.mutable_metadata(), namespaced);
    if (message.api_version().empty()) {
      message.set_api_version(std::string(ApiVersionOf(KindOf(object))));
    }
    if (message.kind().empty()) message.set_kind(std::string(KindOf(object)));
    internal::DefaultKind(message);
  });
}

}  // namespace berth::control
