// Garbage collection of the image store: blobs and snapshots that no
// reference and no lease reaches are removed, as are ingest files left by
// writers that crashed. Reachability: reference -> manifest (or index ->
// manifests) -> config and layers; config diff_ids -> snapshots; a lease
// (leases/<id>.json, written by whoever mounts a rootfs) -> snapshots.
//
// Writers that store content before a reference names it (pull, import) hold
// a StoreWriteGuard (flock LOCK_SH on gc.lock) for their whole run; the
// collector takes it exclusively, so it never removes content a running pull
// is about to reference. Snapshots being unpacked are skipped (their lock is
// held). Thread- and process-safe. Errors: errno of the file operations with
// the path; EINVAL for a malformed lease id.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"
#include "berth/runtime/image/digest.h"
#include "berth/runtime/image/store.h"

namespace berth::runtime::image {

class StoreWriteGuard {
 public:
  static Result<StoreWriteGuard> Acquire(const ImageStore& store);

 private:
  explicit StoreWriteGuard(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// A lease keeps snapshots alive while a container's rootfs uses them. `id`
// is [A-Za-z0-9_.-]+ (a container id).
Status AddLease(const ImageStore& store, const std::string& id,
                const std::vector<Digest>& diff_ids);
Status RemoveLease(const ImageStore& store, const std::string& id);

struct GcStats {
  int blobs_removed = 0;
  int snapshots_removed = 0;
  int ingest_removed = 0;
  int64_t bytes_freed = 0;
};

Result<GcStats> CollectGarbage(const ImageStore& store);

}  // namespace berth::runtime::image
