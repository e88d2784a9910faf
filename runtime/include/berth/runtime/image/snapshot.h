// Layer snapshots: each layer unpacked once into the store, keyed by its
// diff_id, and shared read-only by every container as an overlayfs lowerdir.
//   snapshots/<diffid-hex>/fs/        the unpacked files
//   snapshots/<diffid-hex>/committed  written (atomically) after fs/ is synced
// A snapshot without "committed" (a crash mid-unpack) is emptied and redone,
// never used. Creating a snapshot holds flock(2) on its directory, so callers
// in several threads or processes may ask for the same layer at once: one
// unpacks, the others wait and reuse it. Different layers unpack in parallel.
// Errors: those of UnpackLayer, with the layer digest; EINVAL on a diff_id
// mismatch.
#pragma once

#include <filesystem>

#include "berth/common/error.h"
#include "berth/runtime/image/manifest.h"
#include "berth/runtime/image/store.h"
#include "berth/runtime/image/unpack.h"

namespace berth::runtime::image {

// Makes sure the snapshot of `layer` (a layer blob in the store) exists and
// returns its fs/ directory. options.diff_id is set from `diff_id`.
Result<std::filesystem::path> EnsureSnapshot(const ImageStore& store, const Descriptor& layer,
                                             const Digest& diff_id, UnpackOptions options = {});

}  // namespace berth::runtime::image
