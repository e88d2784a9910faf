// Rootfs setup inside the container's new mount namespace: propagation,
// the rootfs bind, spec mounts, /dev, pivot_root, masked and readonly paths.
// Runs in the container child only (single-threaded, after clone). Errors
// name the mount and the path.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "berth/common/error.h"
#include "berth/runtime/spec.h"

namespace berth::runtime::container_internal {

struct MountFlags {
  unsigned long flags = 0;        // MS_* applied at mount time
  unsigned long propagation = 0;  // MS_PRIVATE, MS_SHARED ... applied after
  bool bind = false;
  std::string data;  // options the kernel's filesystem parses ("mode=755")
};

// Splits OCI mount options into mount(2) flags and filesystem data.
MountFlags ParseMountOptions(const std::vector<std::string>& options);

struct RootfsConfig {
  std::string rootfs;  // absolute host path
  std::string bundle;  // relative mount sources resolve against it
  const Spec* spec = nullptr;
  bool in_user_namespace = false;  // devices are bind-mounted, not mknod'ed
};

// Everything up to and including pivot_root; the caller's cwd becomes "/".
Status SetUpRootfs(const RootfsConfig& config);
// Masked and readonly paths and root.readonly, after pivot_root.
Status FinishRootfs(const Spec& spec);

}  // namespace berth::runtime::container_internal
