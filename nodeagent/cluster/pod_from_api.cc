#include "pod_from_api.h"

#include <cmath>
#include <map>
#include <regex>
#include <set>

#include "berth/common/quantity.h"

namespace berth::nodeagent {
namespace {

constexpr const char* kNotSupported = "not supported by berth-agent";

Error Fail(const std::string& path, const std::string& msg) {
  return Error::Invalid(path + ": " + msg);
}

std::string Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

bool IsDns1123Label(const std::string& s) {
  static const std::regex kDns1123(R"([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)");
  return std::regex_match(s, kDns1123);
}

bool IsDns1123Subdomain(const std::string& s) {
  static const std::regex kDns1123Sub(R"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)");
  return std::regex_match(s, kDns1123Sub);
}

Result<KeyRef> ConvertKeyRef(const v1::KeySelector& ref, ConfigSource source,
                             const std::string& path) {
  KeyRef k;
  k.source = source;
  if (ref.name().empty()) return Fail(path + ".name", "Required value");
  if (ref.key().empty()) return Fail(path + ".key", "Required value");
  k.name = ref.name();
  k.key = ref.key();
  k.optional = ref.has_optional() && ref.optional();
  return k;
}

// env[i]: a literal value, or valueFrom a key of a ConfigMap or Secret.
Result<EnvVar> ConvertEnvVar(const v1::EnvVar& e, const std::string& p) {
  EnvVar v;
  if (e.name().empty()) return Fail(p + ".name", "Required value");
  if (e.name().find('=') != std::string::npos) {
    return Fail(p + ".name", "\"" + e.name() + "\" must be a non-empty name without '='");
  }
  v.name = e.name();
  v.value = e.value();
  if (!e.has_value_from()) return v;
  const std::string fp = p + ".valueFrom";
  if (!e.value().empty()) return Fail(fp, "may not be specified when `value` is not empty");
  const v1::EnvVarSource& from = e.value_from();
  if (from.has_config_map_key_ref() == from.has_secret_key_ref()) {
    return Fail(fp, "must specify exactly one of configMapKeyRef, secretKeyRef");
  }
  if (from.has_config_map_key_ref()) {
    BERTH_ASSIGN_OR_RETURN(v.value_from,
                           ConvertKeyRef(from.config_map_key_ref(), ConfigSource::kConfigMap,
                                         fp + ".configMapKeyRef"));
  } else {
    BERTH_ASSIGN_OR_RETURN(v.value_from, ConvertKeyRef(from.secret_key_ref(), ConfigSource::kSecret,
                                                       fp + ".secretKeyRef"));
  }
  return v;
}

Result<EnvFromSource> ConvertEnvFrom(const v1::EnvFromSource& e, const std::string& p) {
  EnvFromSource out;
  out.prefix = e.prefix();
  if (e.has_config_map_ref() == e.has_secret_ref()) {
    return Fail(p, "must specify exactly one of configMapRef, secretRef");
  }
  const bool cm = e.has_config_map_ref();
  const std::string rp = p + (cm ? ".configMapRef" : ".secretRef");
  const v1::LocalReference& ref = cm ? e.config_map_ref() : e.secret_ref();
  out.source = cm ? ConfigSource::kConfigMap : ConfigSource::kSecret;
  if (ref.name().empty()) return Fail(rp + ".name", "Required value");
  out.name = ref.name();
  out.optional = ref.has_optional() && ref.optional();
  return out;
}

Result<ContainerPort> ConvertPort(const v1::ContainerPort& in, const std::string& p) {
  ContainerPort port;
  if (in.container_port() == 0) return Fail(p + ".containerPort", "Required value");
  if (in.container_port() < 1 || in.container_port() > 65535) {
    return Fail(p + ".containerPort", "must be between 1 and 65535, inclusive");
  }
  // The agent does not forward host ports (no portmap): a pod that asks for
  // one would run unreachable on it.
  if (in.host_port() != 0) return Fail(p + ".hostPort", kNotSupported);
  port.container_port = in.container_port();
  port.name = in.name();
  if (!in.protocol().empty()) port.protocol = in.protocol();
  if (port.protocol != "TCP" && port.protocol != "UDP" && port.protocol != "SCTP") {
    return Fail(p + ".protocol", "Unsupported value: \"" + port.protocol +
                                     "\": supported values: \"SCTP\", \"TCP\", \"UDP\"");
  }
  return port;
}

// requests/limits: cpu and memory are what the agent enforces (cgroup v2
// cpu.max / cpu.weight, memory.max / memory.min).
Result<Resources> ConvertResources(const v1::ResourceRequirements& in, const std::string& path) {
  Resources r;
  for (const bool req : {true, false}) {
    const auto& list = req ? in.requests() : in.limits();
    const std::string p = path + (req ? ".requests" : ".limits");
    // Sorted, so the error for several bad names is always the same one.
    const std::map<std::string, std::string> sorted(list.begin(), list.end());
    for (const auto& [name, quantity] : sorted) {
      std::string at = p;
      at += '.';
      at += name;
      if (name == "cpu") {
        auto v = ParseMilliCpu(quantity);
        if (!v.ok()) return Fail(at, v.error().message());
        (req ? r.cpu_request_milli : r.cpu_limit_milli) = *v;
      } else if (name == "memory") {
        auto v = ParseBytes(quantity);
        if (!v.ok()) return Fail(at, v.error().message());
        (req ? r.memory_request_bytes : r.memory_limit_bytes) = *v;
      } else {
        return Fail(at, kNotSupported);
      }
    }
  }
  if (r.cpu_request_milli && r.cpu_limit_milli && *r.cpu_request_milli > *r.cpu_limit_milli) {
    return Fail(path + ".requests.cpu", "must be less than or equal to cpu limit");
  }
  if (r.memory_request_bytes && r.memory_limit_bytes &&
      *r.memory_request_bytes > *r.memory_limit_bytes) {
    return Fail(path + ".requests.memory", "must be less than or equal to memory limit");
  }
  return r;
}

Result<SecurityContext> ConvertSecurityContext(const v1::SecurityContext& in,
                                               const std::string& path) {
  SecurityContext sc;
  if (in.has_run_as_user()) {
    if (in.run_as_user() < 0) return Fail(path + ".runAsUser", "must be >= 0");
    sc.run_as_user = in.run_as_user();
  }
  if (in.has_run_as_group()) {
    if (in.run_as_group() < 0) return Fail(path + ".runAsGroup", "must be >= 0");
    sc.run_as_group = in.run_as_group();
  }
  // kubelet refuses to start such a container; without the image's user the
  // agent can check only the explicit contradiction.
  if (in.has_run_as_non_root() && in.run_as_non_root() && in.has_run_as_user() &&
      in.run_as_user() == 0) {
    return Fail(path + ".runAsNonRoot", "runAsUser 0 breaks the non-root policy");
  }
  sc.read_only_root_filesystem =
      in.has_read_only_root_filesystem() && in.read_only_root_filesystem();
  sc.privileged = in.has_privileged() && in.privileged();
  if (in.has_allow_privilege_escalation()) {
    sc.allow_privilege_escalation = in.allow_privilege_escalation();
    if (!*sc.allow_privilege_escalation && sc.privileged) {
      return Fail(path, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true");
    }
  }
  if (in.has_capabilities()) {
    sc.capabilities_add.assign(in.capabilities().add().begin(), in.capabilities().add().end());
    sc.capabilities_drop.assign(in.capabilities().drop().begin(), in.capabilities().drop().end());
  }
  if (in.has_seccomp_profile()) {
    const std::string at = path + ".seccompProfile.type";
    sc.seccomp_profile = in.seccomp_profile().type();
    if (sc.seccomp_profile.empty()) return Fail(at, "Required value");
    if (sc.seccomp_profile != "RuntimeDefault" && sc.seccomp_profile != "Unconfined") {
      return Fail(at, "Unsupported value: \"" + sc.seccomp_profile +
                          "\": supported values: \"RuntimeDefault\", \"Unconfined\"");
    }
  }
  return sc;
}

// A number, or the name of one of the container's ports; a string of digits
// is a number, as in a manifest file.
Result<int> ProbePort(const google::protobuf::Value& v, const std::string& path,
                      const std::vector<ContainerPort>& ports) {
  std::string name;
  switch (v.kind_case()) {
    case google::protobuf::Value::kNumberValue: {
      const double n = v.number_value();
      if (std::floor(n) != n || n < 1 || n > 65535) {
        return Fail(path, "must be between 1 and 65535, inclusive");
      }
      return static_cast<int>(n);
    }
    case google::protobuf::Value::kStringValue:
      name = v.string_value();
      break;
    case google::protobuf::Value::KIND_NOT_SET:
    case google::protobuf::Value::kNullValue:
      return Fail(path, "Required value");
    default:
      return Fail(path, "expected a port number or name");
  }
  if (name.empty()) return Fail(path, "Required value");
  if (name.find_first_not_of("0123456789") == std::string::npos) {
    if (name.size() > 5 || std::stoi(name) < 1 || std::stoi(name) > 65535) {
      return Fail(path, "must be between 1 and 65535, inclusive");
    }
    return std::stoi(name);
  }
  for (const ContainerPort& cp : ports) {
    if (cp.name == name) return cp.container_port;
  }
  return Fail(path, "no container port named \"" + name + "\"");
}

Result<Probe> ConvertProbe(const v1::Probe& in, const std::string& path,
                           const std::vector<ContainerPort>& ports) {
  Probe p;
  const int handlers = int{in.has_exec()} + int{in.has_http_get()} + int{in.has_tcp_socket()};
  if (handlers != 1) return Fail(path, "must specify exactly one handler type");
  if (in.has_exec()) {
    p.kind = ProbeKind::kExec;
    p.command.assign(in.exec().command().begin(), in.exec().command().end());
    if (p.command.empty()) return Fail(path + ".exec.command", "Required value");
  }
  if (in.has_http_get()) {
    const std::string at = path + ".httpGet";
    const v1::HTTPGetAction& h = in.http_get();
    p.kind = ProbeKind::kHttpGet;
    if (!h.path().empty()) p.path = h.path();
    // The agent probes the pod's own address over plain HTTP.
    if (!h.scheme().empty() && h.scheme() != "HTTP") return Fail(at + ".scheme", kNotSupported);
    if (!h.host().empty()) return Fail(at + ".host", kNotSupported);
    BERTH_ASSIGN_OR_RETURN(p.port, ProbePort(h.port(), at + ".port", ports));
  }
  if (in.has_tcp_socket()) {
    const std::string at = path + ".tcpSocket";
    p.kind = ProbeKind::kTcpSocket;
    if (!in.tcp_socket().host().empty()) return Fail(at + ".host", kNotSupported);
    BERTH_ASSIGN_OR_RETURN(p.port, ProbePort(in.tcp_socket().port(), at + ".port", ports));
  }
  struct Field {
    const char* key;
    int32_t value;
    int64_t* out;
    int64_t min;
  };
  for (const Field& f :
       {Field{"initialDelaySeconds", in.initial_delay_seconds(), &p.initial_delay_seconds, 0},
        Field{"periodSeconds", in.period_seconds(), &p.period_seconds, 1},
        Field{"timeoutSeconds", in.timeout_seconds(), &p.timeout_seconds, 1},
        Field{"successThreshold", in.success_threshold(), &p.success_threshold, 1},
        Field{"failureThreshold", in.failure_threshold(), &p.failure_threshold, 1}}) {
    if (f.value == 0) continue;  // unset: the default
    if (f.value < f.min) {
      return Fail(path + "." + f.key, "must be >= " + std::to_string(f.min));
    }
    *f.out = f.value;
  }
  return p;
}

Result<std::vector<VolumeMount>> ConvertVolumeMounts(const v1::Container& c,
                                                     const std::string& path) {
  std::vector<VolumeMount> out;
  std::set<std::string> paths;
  for (int i = 0; i < c.volume_mounts_size(); ++i) {
    const v1::VolumeMount& in = c.volume_mounts(i);
    const std::string p = Index(path, i);
    VolumeMount m;
    if (in.name().empty()) return Fail(p + ".name", "Required value");
    m.name = in.name();
    m.mount_path = in.mount_path();
    if (m.mount_path.empty() || m.mount_path[0] != '/') {
      return Fail(p + ".mountPath", "must be an absolute path");
    }
    if (!paths.insert(m.mount_path).second) {
      return Fail(p + ".mountPath", "must be unique: \"" + m.mount_path + "\"");
    }
    m.read_only = in.read_only();
    out.push_back(std::move(m));
  }
  return out;
}

Result<ContainerSpec> ConvertContainer(const v1::Container& in, const std::string& path) {
  ContainerSpec c;
  if (in.name().empty()) return Fail(path + ".name", "Required value");
  c.name = in.name();
  if (!IsDns1123Label(c.name)) {
    return Fail(path + ".name", "\"" + c.name + "\" must be a DNS-1123 label");
  }
  if (in.image().empty()) return Fail(path + ".image", "Required value");
  c.image = in.image();
  c.command.assign(in.command().begin(), in.command().end());
  c.args.assign(in.args().begin(), in.args().end());
  c.working_dir = in.working_dir();
  for (int i = 0; i < in.env_size(); ++i) {
    BERTH_ASSIGN_OR_RETURN(EnvVar v, ConvertEnvVar(in.env(i), Index(path + ".env", i)));
    c.env.push_back(std::move(v));
  }
  for (int i = 0; i < in.env_from_size(); ++i) {
    BERTH_ASSIGN_OR_RETURN(EnvFromSource e,
                           ConvertEnvFrom(in.env_from(i), Index(path + ".envFrom", i)));
    c.env_from.push_back(std::move(e));
  }
  for (int i = 0; i < in.ports_size(); ++i) {
    BERTH_ASSIGN_OR_RETURN(ContainerPort port, ConvertPort(in.ports(i), Index(path + ".ports", i)));
    c.ports.push_back(std::move(port));
  }
  if (in.has_resources()) {
    BERTH_ASSIGN_OR_RETURN(c.resources, ConvertResources(in.resources(), path + ".resources"));
  }
  if (in.has_security_context()) {
    BERTH_ASSIGN_OR_RETURN(
        c.security, ConvertSecurityContext(in.security_context(), path + ".securityContext"));
  }
  struct ProbeField {
    bool set;
    const v1::Probe& probe;
    const char* key;
    std::optional<Probe>* out;
  };
  for (const ProbeField& f :
       {ProbeField{in.has_liveness_probe(), in.liveness_probe(), "livenessProbe", &c.liveness},
        ProbeField{in.has_readiness_probe(), in.readiness_probe(), "readinessProbe", &c.readiness},
        ProbeField{in.has_startup_probe(), in.startup_probe(), "startupProbe", &c.startup}}) {
    if (!f.set) continue;
    BERTH_ASSIGN_OR_RETURN(*f.out, ConvertProbe(f.probe, path + "." + f.key, c.ports));
  }
  if (in.has_lifecycle() && in.lifecycle().has_pre_stop()) {
    const std::string at = path + ".lifecycle.preStop";
    const v1::LifecycleHandler& ps = in.lifecycle().pre_stop();
    if (!ps.has_exec()) return Fail(at, "must specify a handler type");
    c.pre_stop_exec.assign(ps.exec().command().begin(), ps.exec().command().end());
    if (c.pre_stop_exec.empty()) return Fail(at + ".exec.command", "Required value");
  }
  BERTH_ASSIGN_OR_RETURN(c.volume_mounts, ConvertVolumeMounts(in, path + ".volumeMounts"));
  return c;
}

Result<std::vector<ContainerSpec>> ConvertContainers(
    const google::protobuf::RepeatedPtrField<v1::Container>& in, const std::string& path) {
  std::vector<ContainerSpec> out;
  std::set<std::string> names;
  for (int i = 0; i < in.size(); ++i) {
    const std::string p = Index(path, i);
    BERTH_ASSIGN_OR_RETURN(ContainerSpec c, ConvertContainer(in.Get(i), p));
    if (!names.insert(c.name).second) {
      return Fail(p + ".name", "Duplicate value: \"" + c.name + "\"");
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<int> DefaultMode(bool set, int32_t mode, const std::string& path, int fallback) {
  if (!set) return fallback;
  if (mode < 0 || mode > 0777) return Fail(path, "must be a number between 0 and 0777");
  return static_cast<int>(mode);
}

Result<Volume> ConvertVolume(const v1::Volume& in, const std::string& p) {
  Volume v;
  if (in.name().empty()) return Fail(p + ".name", "Required value");
  v.name = in.name();
  const int sources = int{in.has_empty_dir()} + int{in.has_host_path()} + int{in.has_config_map()} +
                      int{in.has_secret()};
  if (sources != 1) return Fail(p, "must specify exactly one volume source");
  if (in.has_empty_dir()) {
    const v1::EmptyDirVolumeSource& e = in.empty_dir();
    v.kind = VolumeKind::kEmptyDir;
    if (!e.medium().empty() && e.medium() != "Memory") {
      return Fail(p + ".emptyDir.medium", "Unsupported value: \"" + e.medium() + "\"");
    }
    v.memory = e.medium() == "Memory";
    if (!e.size_limit().empty()) {
      auto bytes = ParseBytes(e.size_limit());
      if (!bytes.ok()) return Fail(p + ".emptyDir.sizeLimit", bytes.error().message());
      v.size_limit = *bytes;
    }
  } else if (in.has_host_path()) {
    v.kind = VolumeKind::kHostPath;
    v.source = in.host_path().path();
    if (v.source.empty() || v.source[0] != '/') {
      return Fail(p + ".hostPath.path", "must be an absolute path");
    }
  } else if (in.has_config_map()) {
    const v1::ConfigMapVolumeSource& c = in.config_map();
    v.kind = VolumeKind::kConfigMap;
    if (c.name().empty()) return Fail(p + ".configMap.name", "Required value");
    v.source = c.name();
    BERTH_ASSIGN_OR_RETURN(v.default_mode, DefaultMode(c.has_default_mode(), c.default_mode(),
                                                       p + ".configMap.defaultMode", 0644));
    if (c.has_optional() && c.optional()) return Fail(p + ".configMap.optional", kNotSupported);
  } else {
    const v1::SecretVolumeSource& s = in.secret();
    v.kind = VolumeKind::kSecret;
    if (s.secret_name().empty()) return Fail(p + ".secret.secretName", "Required value");
    v.source = s.secret_name();
    BERTH_ASSIGN_OR_RETURN(v.default_mode, DefaultMode(s.has_default_mode(), s.default_mode(),
                                                       p + ".secret.defaultMode", 0400));
    if (s.has_optional() && s.optional()) return Fail(p + ".secret.optional", kNotSupported);
  }
  return v;
}

Result<PodManifest> Convert(const v1::Pod& in) {
  PodManifest pod;
  const v1::ObjectMeta& meta = in.metadata();
  if (meta.name().empty()) return Fail("metadata.name", "Required value");
  pod.name = meta.name();
  if (!IsDns1123Subdomain(pod.name)) {
    return Fail("metadata.name", "\"" + pod.name + "\" must be a DNS-1123 subdomain");
  }
  if (!meta.namespace_().empty()) pod.namespace_ = meta.namespace_();
  // The agent keys a pod's state directory and cgroup by its uid.
  if (meta.uid().empty()) return Fail("metadata.uid", "Required value");
  if (meta.uid() == "." || meta.uid() == ".." || meta.uid().find('/') != std::string::npos) {
    return Fail("metadata.uid", "\"" + meta.uid() + "\" must not be a path");
  }
  pod.uid = meta.uid();
  pod.labels.insert(meta.labels().begin(), meta.labels().end());
  pod.annotations.insert(meta.annotations().begin(), meta.annotations().end());

  const v1::PodSpec& spec = in.spec();
  if (spec.containers().empty()) return Fail("spec.containers", "Required value");
  BERTH_ASSIGN_OR_RETURN(pod.containers, ConvertContainers(spec.containers(), "spec.containers"));
  BERTH_ASSIGN_OR_RETURN(pod.init_containers,
                         ConvertContainers(spec.init_containers(), "spec.initContainers"));
  for (size_t i = 0; i < pod.init_containers.size(); ++i) {
    for (const ContainerSpec& c : pod.containers) {
      if (c.name == pod.init_containers[i].name) {
        return Fail(Index("spec.initContainers", i) + ".name",
                    "Duplicate value: \"" + c.name + "\"");
      }
    }
  }
  const std::string& policy = spec.restart_policy();
  if (policy.empty() || policy == "Always") {
    pod.restart_policy = RestartPolicy::kAlways;
  } else if (policy == "OnFailure") {
    pod.restart_policy = RestartPolicy::kOnFailure;
  } else if (policy == "Never") {
    pod.restart_policy = RestartPolicy::kNever;
  } else {
    return Fail("spec.restartPolicy",
                "Unsupported value: \"" + policy +
                    "\": supported values: \"Always\", \"OnFailure\", \"Never\"");
  }
  if (spec.has_termination_grace_period_seconds()) {
    if (spec.termination_grace_period_seconds() < 0) {
      return Fail("spec.terminationGracePeriodSeconds", "must be >= 0");
    }
    pod.termination_grace_period_seconds = spec.termination_grace_period_seconds();
  }
  // A pending deletion's grace (kubectl delete --grace-period) overrides the spec's.
  if (meta.has_deletion_grace_period_seconds()) {
    if (meta.deletion_grace_period_seconds() < 0) {
      return Fail("metadata.deletionGracePeriodSeconds", "must be >= 0");
    }
    pod.termination_grace_period_seconds = meta.deletion_grace_period_seconds();
  }
  pod.share_process_namespace =
      spec.has_share_process_namespace() && spec.share_process_namespace();

  std::set<std::string> volume_names;
  for (int i = 0; i < spec.volumes_size(); ++i) {
    const std::string p = Index("spec.volumes", i);
    BERTH_ASSIGN_OR_RETURN(Volume v, ConvertVolume(spec.volumes(i), p));
    if (!volume_names.insert(v.name).second) {
      return Fail(p + ".name", "Duplicate value: \"" + v.name + "\"");
    }
    pod.volumes.push_back(std::move(v));
  }
  // Every mount names a volume of the pod.
  for (const auto* list : {&pod.init_containers, &pod.containers}) {
    const std::string field = list == &pod.containers ? "spec.containers" : "spec.initContainers";
    for (size_t i = 0; i < list->size(); ++i) {
      const auto& mounts = (*list)[i].volume_mounts;
      for (size_t m = 0; m < mounts.size(); ++m) {
        if (volume_names.count(mounts[m].name) == 0) {
          return Fail(Index(Index(field, i) + ".volumeMounts", m) + ".name",
                      "Not found: \"" + mounts[m].name + "\"");
        }
      }
    }
  }
  return pod;
}

}  // namespace

Result<PodManifest> PodManifestFromApi(const v1::Pod& pod) {
  const std::string ns =
      pod.metadata().namespace_().empty() ? "default" : pod.metadata().namespace_();
  return Convert(pod).Wrap("pod " + ns + "/" + pod.metadata().name());
}

}  // namespace berth::nodeagent
