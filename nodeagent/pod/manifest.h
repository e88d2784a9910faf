// Kubernetes v1 Pod manifests, the fields Berth supports so far: metadata
// (name, namespace, uid, labels, annotations), restartPolicy,
// terminationGracePeriodSeconds, shareProcessNamespace, and containers /
// initContainers with name, image, command, args, env (literal values),
// workingDir, ports, resources (requests/limits for cpu and memory). Any
// other field is an error naming its path ("spec.containers[0].foo: unknown
// field"), as are impossible values. Values only; thread-safe.
// Errors: EINVAL with the file name and field path.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/error.h"

namespace berth::nodeagent {

struct EnvVar {
  std::string name;
  std::string value;
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

struct ContainerSpec {
  std::string name;
  std::string image;
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::vector<EnvVar> env;
  std::string working_dir;
  std::vector<ContainerPort> ports;
  Resources resources;
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
};

// `what` names the source in errors ("web.yaml").
Result<PodManifest> ParsePodManifest(std::string_view yaml, std::string_view what);

}  // namespace berth::nodeagent
