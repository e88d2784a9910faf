// The pod-level half of a pod, made before any container and removed after
// the last one: the pod cgroup <cgroup_root>/pods/<uid> (QoS resources,
// containers in children, shims in <pod>/shims), the network namespace and
// address (netns::PodNetwork), uts (hostname = pod name) and ipc namespaces
// held by bind mounts under run_dir (no pause process), volumes under the
// pod's state dir (emptyDir on disk or tmpfs, hostPath, configMap and
// secret copied from <config_dir>/{configmaps,secrets}/<name>/, secrets on
// tmpfs with mode 0400 by default), and /etc/hosts and resolv.conf files.
//
// Everything is derived from the uid and the configuration, so an agent
// that restarts finds the same sandbox again (Open). Create undoes what it
// made when a step fails; Destroy is idempotent and removes everything
// (call it once the pod's processes are gone). Thread-safe for different
// pods. Errors: errno of the failing step, naming the pod and the path.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "manifest.h"

#include "berth/common/error.h"
#include "berth/netns/pod_network.h"

namespace berth::nodeagent {

struct SandboxConfig {
  std::filesystem::path state_dir;   // pods/<uid>/ lives here
  std::filesystem::path run_dir;     // <uid>/uts, <uid>/ipc namespace files
  std::filesystem::path config_dir;  // configmaps/<name>/<key>, secrets/<name>/<key>
  std::filesystem::path cgroup_mount;
  std::string cgroup_root;               // absolute inside the mount
  netns::PodNetwork* network = nullptr;  // not owned; required
};

struct SandboxInfo {
  std::string uid;
  std::filesystem::path dir;  // state_dir/<uid>
  std::string cgroup_path;    // <cgroup_root>/pods/<uid>
  std::string shim_cgroup;    // <cgroup_path>/shims
  std::filesystem::path netns, utsns, ipcns;
  std::vector<IpPrefix> addresses;
  std::string pod_ip;  // first address, as Kubernetes' status.podIP
  std::map<std::string, std::filesystem::path> volumes;  // name -> host path
  std::filesystem::path hosts_file, resolv_file;
};

class PodSandbox {
 public:
  static Result<SandboxInfo> Create(const SandboxConfig& config, const PodManifest& pod);
  // The sandbox of a pod that was created earlier (after an agent restart);
  // ENOENT when its namespaces or state are gone.
  static Result<SandboxInfo> Open(const SandboxConfig& config, const PodManifest& pod);
  static Status Destroy(const SandboxConfig& config, const std::string& uid);
  // Container cgroups: <pod cgroup>/<container>.
  static std::string ContainerCgroup(const SandboxInfo& s, const std::string& container) {
    return s.cgroup_path + "/" + container;
  }
};

// Loads a ConfigMap's or Secret's keys from <config_dir>/<kind>/<name>/:
// one file per key. ENOENT naming the object when it does not exist.
Result<std::map<std::string, std::string>> LoadConfigObject(const std::filesystem::path& config_dir,
                                                            ConfigSource source,
                                                            const std::string& name);
// The directory LoadConfigObject reads for `pod`: its own, else the node's.
inline const std::filesystem::path& ConfigDirOf(const SandboxConfig& config,
                                                const PodManifest& pod) {
  return pod.config_dir.empty() ? config.config_dir : pod.config_dir;
}

}  // namespace berth::nodeagent
