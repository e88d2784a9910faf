// Containers of a PodSpec: names, images, ports, env, resources, volume
// mounts, probes, lifecycle and securityContext, after Kubernetes'
// validateContainers / validateInitContainers (pkg/apis/core/validation).
#include <map>
#include <set>

#include "validation_internal.h"

namespace berth::control::internal {
namespace {

// Linux capabilities by their Kubernetes spelling (no CAP_ prefix), as
// the node agent accepts them (case-insensitive, CAP_ optional).
constexpr std::string_view kCapabilities[] = {
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
};

// "cap_net_admin" -> "NET_ADMIN".
std::string CapabilityName(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (upper.rfind("CAP_", 0) == 0) upper.erase(0, 4);
  return upper;
}

bool IsCapability(std::string_view upper) {
  return std::find(std::begin(kCapabilities), std::end(kCapabilities), upper) !=
         std::end(kCapabilities);
}

// Names, images and everything shared across a pod's containers.
struct PodContext {
  std::set<std::string> volumes;
  std::set<std::string> container_names;
  std::set<std::string> host_ports;  // "hostIP/protocol/port", per container list
};

void ValidatePorts(const v1::Container& c, const std::string& path, PodContext& ctx,
                   ErrorList& errs) {
  std::set<std::string> names;
  for (int i = 0; i < c.ports_size(); ++i) {
    const v1::ContainerPort& p = c.ports(i);
    const std::string at = Index(path, i);
    if (!p.name().empty()) {
      for (const std::string& msg : PortNameErrors(p.name())) {
        errs.InvalidString(Child(at, "name"), p.name(), msg);
      }
      if (!names.insert(p.name()).second) errs.Duplicate(Child(at, "name"), Quote(p.name()));
    }
    if (p.container_port() == 0) {
      errs.Required(Child(at, "containerPort"));
    } else if (p.container_port() < 1 || p.container_port() > 65535) {
      errs.InvalidInt(Child(at, "containerPort"), p.container_port(), InclusiveRange(1, 65535));
    }
    if (p.host_port() != 0 && (p.host_port() < 1 || p.host_port() > 65535)) {
      errs.InvalidInt(Child(at, "hostPort"), p.host_port(), InclusiveRange(1, 65535));
    }
    if (p.protocol().empty()) {
      errs.Required(Child(at, "protocol"));
    } else if (p.protocol() != "TCP" && p.protocol() != "UDP" && p.protocol() != "SCTP") {
      errs.Unsupported(Child(at, "protocol"), p.protocol(), {"SCTP", "TCP", "UDP"});
    }
    if (!p.host_ip().empty() && !IsIp(p.host_ip())) {
      errs.InvalidString(Child(at, "hostIP"), p.host_ip(),
                         "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
    }
    if (p.host_port() != 0) {
      const std::string key =
          p.host_ip() + "/" + p.protocol() + "/" + std::to_string(p.host_port());
      if (!ctx.host_ports.insert(key).second) errs.Duplicate(Child(at, "hostPort"), Quote(key));
    }
  }
}

void ValidateKeySelector(const v1::KeySelector& ref, const std::string& path, ErrorList& errs) {
  ValidateDns1123Subdomain(Child(path, "name"), ref.name(), errs);
  if (ref.key().empty()) {
    errs.Required(Child(path, "key"));
    return;
  }
  for (const std::string& msg : ConfigKeyErrors(ref.key())) {
    errs.InvalidString(Child(path, "key"), ref.key(), msg);
  }
}

constexpr std::string_view kEnvNameRule =
    "a valid environment variable name must consist only of printable ASCII characters other "
    "than '='";

void ValidateEnv(const v1::Container& c, const std::string& path, ErrorList& errs) {
  for (int i = 0; i < c.env_size(); ++i) {
    const v1::EnvVar& e = c.env(i);
    const std::string at = Index(path, i);
    if (e.name().empty()) {
      errs.Required(Child(at, "name"));
    } else if (!IsEnvVarName(e.name())) {
      errs.InvalidString(Child(at, "name"), e.name(), kEnvNameRule);
    }
    if (!e.has_value_from()) continue;
    const std::string from = Child(at, "valueFrom");
    const v1::EnvVarSource& src = e.value_from();
    const int sources = int{src.has_config_map_key_ref()} + int{src.has_secret_key_ref()};
    if (sources == 0) {
      errs.InvalidString(from, "", "must specify one of: `configMapKeyRef` or `secretKeyRef`");
    } else if (sources > 1) {
      errs.InvalidString(from, "", "may not have more than one field specified at a time");
    }
    if (!e.value().empty()) {
      errs.InvalidString(from, "", "may not be specified when `value` is not empty");
    }
    if (src.has_config_map_key_ref()) {
      ValidateKeySelector(src.config_map_key_ref(), Child(from, "configMapKeyRef"), errs);
    }
    if (src.has_secret_key_ref()) {
      ValidateKeySelector(src.secret_key_ref(), Child(from, "secretKeyRef"), errs);
    }
  }
}

void ValidateEnvFrom(const v1::Container& c, const std::string& path, ErrorList& errs) {
  for (int i = 0; i < c.env_from_size(); ++i) {
    const v1::EnvFromSource& e = c.env_from(i);
    const std::string at = Index(path, i);
    if (!e.prefix().empty() && !IsEnvVarName(e.prefix())) {
      errs.InvalidString(Child(at, "prefix"), e.prefix(), kEnvNameRule);
    }
    const int sources = int{e.has_config_map_ref()} + int{e.has_secret_ref()};
    if (sources == 0) {
      errs.InvalidString(at, "", "must specify one of: `configMapRef` or `secretRef`");
    } else if (sources > 1) {
      errs.InvalidString(at, "", "may not have more than one field specified at a time");
    }
    if (e.has_config_map_ref()) {
      ValidateDns1123Subdomain(Child(Child(at, "configMapRef"), "name"), e.config_map_ref().name(),
                               errs);
    }
    if (e.has_secret_ref()) {
      ValidateDns1123Subdomain(Child(Child(at, "secretRef"), "name"), e.secret_ref().name(), errs);
    }
  }
}

// The quantities of one list (requests or limits) by resource name.
std::map<std::string, int64_t> ValidateResourceList(
    const google::protobuf::Map<std::string, std::string>& list, const std::string& path,
    ErrorList& errs) {
  std::map<std::string, int64_t> values;
  for (const std::string& name : SortedKeys(list)) {
    const std::string at = Key(path, name);
    if (name != "cpu" && name != "memory") {
      errs.Unsupported(at, name, {"cpu", "memory"});
      continue;
    }
    const std::optional<int64_t> v =
        ValidateQuantity(at, list.at(name), QuantityKindOf(name), errs);
    if (v) values[name] = *v;
  }
  return values;
}

void ValidateResources(const v1::ResourceRequirements& r, const std::string& path,
                       ErrorList& errs) {
  const std::string requests_path = Child(path, "requests");
  const auto limits = ValidateResourceList(r.limits(), Child(path, "limits"), errs);
  const auto requests = ValidateResourceList(r.requests(), requests_path, errs);
  for (const auto& [name, request] : requests) {
    auto limit = limits.find(name);
    if (limit != limits.end() && request > limit->second) {
      errs.InvalidString(requests_path, r.requests().at(name),
                         "must be less than or equal to " + name + " limit");
    }
  }
}

void ValidateVolumeMounts(const v1::Container& c, const std::string& path, const PodContext& ctx,
                          ErrorList& errs) {
  std::set<std::string> paths;
  for (int i = 0; i < c.volume_mounts_size(); ++i) {
    const v1::VolumeMount& m = c.volume_mounts(i);
    const std::string at = Index(path, i);
    if (m.name().empty()) {
      errs.Required(Child(at, "name"));
    } else if (ctx.volumes.count(m.name()) == 0) {
      errs.NotFound(Child(at, "name"), Quote(m.name()));
    }
    if (m.mount_path().empty()) {
      errs.Required(Child(at, "mountPath"));
      continue;
    }
    if (!IsAbsolutePath(m.mount_path())) {
      errs.InvalidString(Child(at, "mountPath"), m.mount_path(), "must be an absolute path");
    }
    if (!paths.insert(m.mount_path()).second) {
      errs.InvalidString(Child(at, "mountPath"), m.mount_path(), "must be unique");
    }
  }
}

void ValidateAtLeastOne(const std::string& path, int32_t value, ErrorList& errs) {
  if (value < 1) errs.InvalidInt(path, value, "must be greater than or equal to 1");
}

// `must_succeed_once`: liveness and startup probes, whose successThreshold must be 1.
void ValidateProbe(const v1::Probe& probe, const std::string& path, bool must_succeed_once,
                   ErrorList& errs) {
  std::vector<std::string> handlers;
  if (probe.has_exec()) handlers.emplace_back("exec");
  if (probe.has_http_get()) handlers.emplace_back("httpGet");
  if (probe.has_tcp_socket()) handlers.emplace_back("tcpSocket");
  if (handlers.empty()) errs.Required(path, "must specify a handler type");
  for (size_t i = 1; i < handlers.size(); ++i) {
    errs.Forbidden(Child(path, handlers[i]), "may not specify more than 1 handler type");
  }
  if (probe.has_exec() && probe.exec().command().empty()) {
    errs.Required(Child(Child(path, "exec"), "command"));
  }
  if (probe.has_http_get()) {
    const std::string at = Child(path, "httpGet");
    const v1::HTTPGetAction& h = probe.http_get();
    if (h.path().empty()) errs.Required(Child(at, "path"));
    ValidatePortNumOrName(h.port(), Child(at, "port"), errs);
    if (h.scheme() != "HTTP" && h.scheme() != "HTTPS") {
      errs.Unsupported(Child(at, "scheme"), h.scheme(), {"HTTP", "HTTPS"});
    }
  }
  if (probe.has_tcp_socket()) {
    ValidatePortNumOrName(probe.tcp_socket().port(), Child(Child(path, "tcpSocket"), "port"), errs);
  }
  if (probe.initial_delay_seconds() < 0) {
    errs.InvalidInt(Child(path, "initialDelaySeconds"), probe.initial_delay_seconds(),
                    kNonNegative);
  }
  ValidateAtLeastOne(Child(path, "timeoutSeconds"), probe.timeout_seconds(), errs);
  ValidateAtLeastOne(Child(path, "periodSeconds"), probe.period_seconds(), errs);
  ValidateAtLeastOne(Child(path, "successThreshold"), probe.success_threshold(), errs);
  ValidateAtLeastOne(Child(path, "failureThreshold"), probe.failure_threshold(), errs);
  if (must_succeed_once && probe.success_threshold() > 1) {
    errs.InvalidInt(Child(path, "successThreshold"), probe.success_threshold(), "must be 1");
  }
}

void ValidateCapabilities(const v1::Capabilities& caps, const std::string& path, ErrorList& errs) {
  for (const bool add : {true, false}) {
    const auto& list = add ? caps.add() : caps.drop();
    const std::string list_path = Child(path, add ? "add" : "drop");
    for (int i = 0; i < list.size(); ++i) {
      const std::string name = CapabilityName(list.Get(i));
      if (name == "ALL") {
        // The node agent starts from its default set; "ALL" can only empty it.
        if (add) errs.InvalidString(Index(list_path, i), list.Get(i), "may only be used in `drop`");
        continue;
      }
      if (!IsCapability(name)) {
        errs.InvalidString(Index(list_path, i), list.Get(i),
                           "must be a Linux capability name (e.g. NET_ADMIN or CAP_NET_ADMIN)");
      }
    }
  }
}

void ValidateSecurityContext(const v1::SecurityContext& sc, const std::string& path,
                             ErrorList& errs) {
  constexpr int64_t kMaxId = 2147483647;
  if (sc.has_run_as_user() && (sc.run_as_user() < 0 || sc.run_as_user() > kMaxId)) {
    errs.InvalidInt(Child(path, "runAsUser"), sc.run_as_user(), InclusiveRange(0, kMaxId));
  }
  if (sc.has_run_as_group() && (sc.run_as_group() < 0 || sc.run_as_group() > kMaxId)) {
    errs.InvalidInt(Child(path, "runAsGroup"), sc.run_as_group(), InclusiveRange(0, kMaxId));
  }
  if (sc.has_seccomp_profile()) {
    const std::string at = Child(Child(path, "seccompProfile"), "type");
    const std::string& type = sc.seccomp_profile().type();
    if (type.empty()) {
      errs.Required(at);
    } else if (type != "RuntimeDefault" && type != "Unconfined") {
      // Localhost profiles need a profile file on every node: not supported.
      errs.Unsupported(at, type, {"RuntimeDefault", "Unconfined"});
    }
  }
  if (sc.has_capabilities())
    ValidateCapabilities(sc.capabilities(), Child(path, "capabilities"), errs);
  const bool no_escalation =
      sc.has_allow_privilege_escalation() && !sc.allow_privilege_escalation();
  if (no_escalation && sc.has_privileged() && sc.privileged()) {
    errs.InvalidOmitted(path,
                        "cannot set `allowPrivilegeEscalation` to false and `privileged` to true");
  }
  if (no_escalation && sc.has_capabilities()) {
    for (const std::string& cap : sc.capabilities().add()) {
      if (CapabilityName(cap) == "SYS_ADMIN") {
        errs.InvalidOmitted(
            path,
            "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN");
      }
    }
  }
}

void ValidateContainer(const v1::Container& c, const std::string& path, bool init, PodContext& ctx,
                       ErrorList& errs) {
  if (c.name().empty()) {
    errs.Required(Child(path, "name"));
  } else {
    ValidateDns1123Label(Child(path, "name"), c.name(), errs);
    if (!ctx.container_names.insert(c.name()).second) {
      errs.Duplicate(Child(path, "name"), Quote(c.name()));
    }
  }
  if (c.image().empty()) {
    errs.Required(Child(path, "image"));
  } else if (std::isspace(static_cast<unsigned char>(c.image().front())) ||
             std::isspace(static_cast<unsigned char>(c.image().back()))) {
    errs.InvalidString(Child(path, "image"), c.image(),
                       "must not have leading or trailing whitespace");
  }
  const std::string& pull = c.image_pull_policy();
  if (pull.empty()) {
    errs.Required(Child(path, "imagePullPolicy"));
  } else if (pull != "Always" && pull != "IfNotPresent" && pull != "Never") {
    errs.Unsupported(Child(path, "imagePullPolicy"), pull, {"Always", "IfNotPresent", "Never"});
  }
  ValidatePorts(c, Child(path, "ports"), ctx, errs);
  ValidateEnv(c, Child(path, "env"), errs);
  ValidateEnvFrom(c, Child(path, "envFrom"), errs);
  ValidateResources(c.resources(), Child(path, "resources"), errs);
  ValidateVolumeMounts(c, Child(path, "volumeMounts"), ctx, errs);

  struct ProbeField {
    bool set;
    const v1::Probe& probe;
    const char* name;
    bool must_succeed_once;
  };
  const ProbeField probes[] = {
      {c.has_liveness_probe(), c.liveness_probe(), "livenessProbe", true},
      {c.has_readiness_probe(), c.readiness_probe(), "readinessProbe", false},
      {c.has_startup_probe(), c.startup_probe(), "startupProbe", true},
  };
  // Init containers run to completion one after another: probes and hooks
  // have nothing to act on.
  if (init && c.has_lifecycle())
    errs.Forbidden(Child(path, "lifecycle"), "may not be set for init containers");
  for (const ProbeField& p : probes) {
    if (!p.set) continue;
    if (init) {
      errs.Forbidden(Child(path, p.name), "may not be set for init containers");
    } else {
      ValidateProbe(p.probe, Child(path, p.name), p.must_succeed_once, errs);
    }
  }
  if (c.has_lifecycle() && c.lifecycle().has_pre_stop()) {
    const std::string at = Child(Child(path, "lifecycle"), "preStop");
    if (!c.lifecycle().pre_stop().has_exec()) {
      errs.Required(at, "must specify a handler type");
    } else if (c.lifecycle().pre_stop().exec().command().empty()) {
      errs.Required(Child(Child(at, "exec"), "command"));
    }
  }
  if (c.has_security_context()) {
    ValidateSecurityContext(c.security_context(), Child(path, "securityContext"), errs);
  }
}

}  // namespace

void ValidateContainers(const v1::PodSpec& spec, const std::string& path, ErrorList& errs) {
  PodContext ctx;
  for (const v1::Volume& v : spec.volumes()) ctx.volumes.insert(v.name());
  const std::string init_path = Child(path, "initContainers");
  for (int i = 0; i < spec.init_containers_size(); ++i) {
    ValidateContainer(spec.init_containers(i), Index(init_path, i), true, ctx, errs);
  }
  // Init containers run before the app containers: their host ports do not clash.
  ctx.host_ports.clear();
  const std::string app_path = Child(path, "containers");
  if (spec.containers().empty()) errs.Required(app_path);
  for (int i = 0; i < spec.containers_size(); ++i) {
    ValidateContainer(spec.containers(i), Index(app_path, i), false, ctx, errs);
  }
}

}  // namespace berth::control::internal
