// From a pod's container (Kubernetes fields) and its image to the OCI
// runtime spec berth-shim starts: process (command/args as Kubernetes
// combines them with the image's Entrypoint/Cmd, env, workingDir, user,
// capabilities, no_new_privs, seccomp, oom_score_adj), the pod's shared
// namespaces joined by path, volume and /etc mounts, resources and QoS.
// Pure: no filesystem access; thread-safe. Errors: EINVAL naming the field
// (an unknown capability, a container with nothing to run).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "manifest.h"
#include "qos.h"

#include "berth/runtime/image/manifest.h"
#include "berth/runtime/spec.h"

namespace berth::nodeagent {

struct BindMount {
  std::string source;       // host path
  std::string destination;  // in the container
  bool read_only = false;
};

struct ContainerPlan {
  const PodManifest* pod = nullptr;
  const ContainerSpec* container = nullptr;
  const runtime::image::ImageConfig* image = nullptr;
  runtime::User image_user;  // the image's User, resolved in its rootfs
  std::string rootfs;        // absolute; the mounted overlay
  // Namespaces the pod holds by bind mount; empty: a new one per container.
  std::string netns, utsns, ipcns;
  std::string pidns;              // shareProcessNamespace: the pod's, else empty (own)
  std::vector<BindMount> mounts;  // volumes, /etc/hosts, /etc/hostname, resolv.conf
  std::vector<std::string> env;   // resolved env ("K=V"), manifest order, after the image's
  QosClass qos = QosClass::kBestEffort;
  int64_t node_memory_bytes = 0;
};

// Kubernetes' rule: command replaces Entrypoint (and drops Cmd), args
// replace Cmd.
std::vector<std::string> EffectiveArgs(const ContainerSpec& c,
                                       const runtime::image::ImageConfig& image);

Result<runtime::Spec> BuildContainerSpec(const ContainerPlan& plan);

}  // namespace berth::nodeagent
