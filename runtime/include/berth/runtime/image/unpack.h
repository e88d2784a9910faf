// Unpacking one layer tar (uncompressed, gzip or zstd; libarchive detects
// which) into an empty directory, turning OCI whiteouts into overlayfs ones:
//   .wh.<name>      -> <name> as a 0:0 character device (see
//                      Documentation/filesystems/overlayfs.rst, "whiteouts")
//   .wh..wh..opq    -> <overlay_xattr_prefix>opaque=y on the directory
// Safety: nothing outside `dest` is created or changed, whatever the tar
// holds. Absolute names and ".." components are rejected; parents are opened
// with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) so a symlink made by an
// earlier entry resolves inside `dest`; final components are never followed
// (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW); hard link targets resolve the same way.
// Layers whose uncompressed size passes max_bytes are refused with EFBIG.
//
// Thread-safety: UnpackLayer calls on different destination directories may
// run concurrently (layers are independent snapshots). Errors name the entry.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "berth/common/error.h"
#include "berth/runtime/image/digest.h"

namespace berth::runtime::image {

struct UnpackOptions {
  // Refuse a layer whose uncompressed tar stream passes this many bytes.
  int64_t max_bytes = int64_t{32} << 30;
  // Refuse a layer with more entries than this.
  int64_t max_entries = 4'000'000;
  // When set, the uncompressed stream must hash to this (the config's diff_id).
  std::optional<Digest> diff_id;
  // chown(2) failing with EPERM/EINVAL (unmapped id in a user namespace) is
  // noted and skipped instead of failing the layer.
  bool ignore_chown_errors = false;
  // "trusted.overlay." for a privileged mount; "user.overlay." for overlay
  // mounted with -o userxattr inside a user namespace.
  std::string overlay_xattr_prefix = "trusted.overlay.";
};

struct UnpackStats {
  int64_t entries = 0;
  int64_t bytes = 0;  // uncompressed tar bytes read
  int64_t whiteouts = 0;
  int64_t opaque_dirs = 0;
  int64_t skipped_devices = 0;  // mknod refused (EPERM): user namespace
  int64_t skipped_chowns = 0;
  int64_t skipped_xattrs = 0;
  Digest diff_id;  // sha256 of the uncompressed stream
};

// Reads the layer from `fd` (borrowed; read to the end) into `dest`, which
// must exist. Entries are applied in order; directory modes and mtimes are
// applied last so later entries can still be written into read-only dirs.
Result<UnpackStats> UnpackLayer(int fd, const std::filesystem::path& dest,
                                const UnpackOptions& options = {});

}  // namespace berth::runtime::image
