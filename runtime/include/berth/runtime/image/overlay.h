// Mounting a container rootfs as overlayfs: read-only layer snapshots below a
// writable upper dir. The caller owns every directory passed in (upper and
// work must be on one filesystem; work must be empty). Uses the new mount API
// (fsopen/fsconfig "lowerdir+", Linux 6.8+) so the layer count is not limited
// by the one-page option string of mount(2), and falls back to mount(2) on
// older kernels. Stateless; thread-safe. Errors: errno of the mount calls
// with the kernel's own message from the fs context when there is one.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "berth/common/error.h"

namespace berth::runtime::image {

struct OverlayMount {
  std::vector<std::filesystem::path> lowerdirs;  // top layer first
  std::filesystem::path upperdir;                // empty: read-only mount
  std::filesystem::path workdir;
  std::filesystem::path target;
  // Extra fsconfig flags/options, e.g. "userxattr" inside a user namespace.
  std::vector<std::string> options;
};

Status MountOverlay(const OverlayMount& mount);
// umount2(2); `detach` uses MNT_DETACH (lazy) for teardown paths.
Status UnmountOverlay(const std::filesystem::path& target, bool detach = false);

}  // namespace berth::runtime::image
