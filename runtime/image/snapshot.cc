#include "berth/runtime/image/snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/file.h>
#include <sys/stat.h>

#include "fs_util.h"

#include "berth/common/file.h"
#include "berth/common/log.h"

namespace berth::runtime::image {

Result<std::filesystem::path> EnsureSnapshot(const ImageStore& store, const Descriptor& layer,
                                             const Digest& diff_id, UnpackOptions options) {
  const std::string ctx = "snapshot of layer " + layer.digest.String();
  const std::filesystem::path dir = store.SnapshotDir(diff_id);
  const std::filesystem::path fs = store.SnapshotFsDir(diff_id);
  if (store.HasSnapshot(diff_id)) return fs;

  BERTH_TRY_CTX(MakeDirs(dir, 0700), ctx);
  BERTH_ASSIGN_OR_RETURN(UniqueFd dir_fd, OpenFile(dir, O_RDONLY | O_DIRECTORY).Wrap(ctx));
  // One unpacker per snapshot, across threads and processes; waiters find
  // the marker once the holder is done.
  int rc;
  do {
    rc = ::flock(dir_fd.get(), LOCK_EX);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return Error::FromErrno("flock " + dir.string()).Wrap(ctx);
  if (store.HasSnapshot(diff_id)) return fs;

  // No marker: anything in fs/ is from an interrupted unpack. Redo it.
  BERTH_TRY_CTX(detail::RemoveTreeAt(dir_fd.get(), "fs"), ctx + ": remove partial unpack");
  if (::mkdirat(dir_fd.get(), "fs", 0755) < 0)
    return Error::FromErrno("mkdir " + fs.string()).Wrap(ctx);

  BERTH_ASSIGN_OR_RETURN(UniqueFd blob, store.OpenBlob(layer.digest).Wrap(ctx));
  options.diff_id = diff_id;
  auto stats = UnpackLayer(blob.get(), fs, options);
  if (!stats.ok()) {
    // The marker is absent, so the next attempt redoes the unpack anyway;
    // removing now just frees the space early.
    IgnoreError(detail::RemoveTreeAt(dir_fd.get(), "fs"), "any errno: redone on next use");
    return std::move(stats).error().Wrap(ctx);
  }
  // Everything unpacked must be on disk before the marker says so; syncfs(2)
  // flushes the whole filesystem once instead of an fsync per file.
  BERTH_ASSIGN_OR_RETURN(UniqueFd fs_fd, OpenFile(fs, O_RDONLY | O_DIRECTORY).Wrap(ctx));
  if (::syncfs(fs_fd.get()) < 0) return Error::FromErrno("syncfs " + fs.string()).Wrap(ctx);
  std::string marker = "{\"layer\":\"" + layer.digest.String() + "\",\"diff_id\":\"" +
                       diff_id.String() + "\",\"entries\":" + std::to_string(stats->entries) +
                       ",\"bytes\":" + std::to_string(stats->bytes) + "}\n";
  BERTH_TRY_CTX(WriteFileAtomic(dir / "committed", marker, 0600), ctx);
  log::Debug("layer unpacked", {{"layer", layer.digest.String()},
                                {"entries", stats->entries},
                                {"bytes", stats->bytes},
                                {"whiteouts", stats->whiteouts}});
  return fs;
}

}  // namespace berth::runtime::image
