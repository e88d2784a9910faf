// Kubernetes v1 Pod manifests, the fields Berth supports so far: metadata
// (name, namespace, uid, labels, annotations), restartPolicy,
// terminationGracePeriodSeconds, shareProcessNamespace, and containers /
// initContainers with name, image, command, args, env (literal values and
// ConfigMap/Secret keys: valueFrom, envFrom), workingDir, ports, resources
// (requests/limits for cpu and memory), securityContext, liveness/readiness/
// startup probes (exec, httpGet, tcpSocket), lifecycle.preStop.exec,
// volumeMounts; volumes (emptyDir, hostPath, configMap, secret). Any other field is an error naming
// its path ("spec.containers[0].foo: unknown field"), as are impossible values. Values only;
// thread-safe. Errors: EINVAL with the file name and field path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/error.h"

namespace berth::nodeagent {

// ConfigMaps and Secrets are files on the node: <dir>/<name>/<key>.
enum class ConfigSource { kConfigMap, kSecret };

struct KeyRef {
  ConfigSource source = ConfigSource::kConfigMap;
  std::string name, key;
  bool optional = false;
};

struct EnvVar {
  std::string name;
  std::string value;
  std::optional<KeyRef> value_from;  // valueFrom.configMapKeyRef / secretKeyRef
};

// envFrom: every key of a ConfigMap or Secret, as prefix + key.
struct EnvFromSource {
  ConfigSource source = ConfigSource::kConfigMap;
  std::string name;
  std::string prefix;
  bool optional = false;
};

struct ContainerPort {
  std::string name;
  int container_port = 0;
  std::string protocol = "TCP";  // TCP, UDP, SCTP
};

struct Resources {
  std::optional<int64_t> cpu_request_milli, cpu_limit_milli;
  std::optional<int64_t> memory_request_bytes, memory_limit_bytes;
};

struct SecurityContext {
  std::optional<int64_t> run_as_user, run_as_group;
  bool read_only_root_filesystem = false;
  bool privileged = false;
  std::optional<bool> allow_privilege_escalation;
  std::vector<std::string> capabilities_add, capabilities_drop;  // "NET_ADMIN"
  std::string seccomp_profile = "RuntimeDefault";                // or "Unconfined"
};

enum class ProbeKind { kExec, kHttpGet, kTcpSocket };

struct Probe {
  ProbeKind kind = ProbeKind::kExec;
  std::vector<std::string> command;  // exec
  std::string path = "/";            // httpGet
  int port = 0;                      // httpGet, tcpSocket (a number or a named container port)
  int64_t initial_delay_seconds = 0, period_seconds = 10, timeout_seconds = 1;
  int64_t success_threshold = 1, failure_threshold = 3;
};

struct VolumeMount {
  std::string name;
  std::string mount_path;
  bool read_only = false;
};

struct ContainerSpec {
  std::string name;
  std::string image;
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::vector<EnvVar> env;
  std::vector<EnvFromSource> env_from;
  std::string working_dir;
  std::vector<ContainerPort> ports;
  Resources resources;
  SecurityContext security;
  std::optional<Probe> liveness, readiness, startup;
  std::vector<std::string> pre_stop_exec;  // lifecycle.preStop.exec.command
  std::vector<VolumeMount> volume_mounts;
};

enum class VolumeKind { kEmptyDir, kHostPath, kConfigMap, kSecret };

struct Volume {
  std::string name;
  VolumeKind kind = VolumeKind::kEmptyDir;
  bool memory = false;                // emptyDir.medium: Memory (tmpfs)
  std::optional<int64_t> size_limit;  // emptyDir.sizeLimit, bytes
  std::string source;                 // hostPath.path, configMap.name, secret.secretName
  int default_mode = 0644;            // configMap / secret; secrets default 0400
};

enum class RestartPolicy { kAlways, kOnFailure, kNever };

struct PodManifest {
  std::string name;
  std::string namespace_ = "default";
  std::string uid;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  RestartPolicy restart_policy = RestartPolicy::kAlways;
  int64_t termination_grace_period_seconds = 30;
  bool share_process_namespace = false;
  std::vector<ContainerSpec> init_containers;
  std::vector<ContainerSpec> containers;
  std::vector<Volume> volumes;
  // Where its ConfigMaps and Secrets are found (not part of a manifest): a
  // pod from berth-control gets its namespace's copies; empty: the node's
  // config_dir (static pods).
  std::filesystem::path config_dir;
  // The pod's /etc/resolv.conf when set (cluster pods: the cluster DNS and
  // search path); empty: the node's.
  std::string resolv_conf;
};

// `what` names the source in errors ("web.yaml").
Result<PodManifest> ParsePodManifest(std::string_view yaml, std::string_view what);

}  // namespace berth::nodeagent
