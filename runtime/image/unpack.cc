// The layer stream: two libarchive readers in one thread. The first removes
// the compression (gzip/zstd/none) with the "raw" format, and everything it
// yields is hashed (the diff_id) and counted against the size limit; the
// second parses the tar from those bytes through a read callback.
#include "berth/runtime/image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

#include <memory>
#include <vector>

#include "unpack_entry.h"

#include "berth/common/file.h"

namespace berth::runtime::image {
namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

struct Decompressed {
  archive* raw = nullptr;
  Sha256Hasher hasher;
  int64_t bytes = 0;
  int64_t max_bytes = 0;
  bool over_limit = false;
  std::vector<char> buf = std::vector<char>(1 << 17);
};

Error ArchiveError(archive* a, const std::string& what) {
  int err = archive_errno(a);
  const char* msg = archive_error_string(a);
  return Error::Sys(err > 0 ? err : EIO, what + ": " + (msg ? msg : "unknown libarchive error"));
}

// Pulls the next chunk of uncompressed bytes; also used to drain the stream.
la_ssize_t NextChunk(Decompressed* d) {
  la_ssize_t n = archive_read_data(d->raw, d->buf.data(), d->buf.size());
  if (n > 0) {
    d->hasher.Update(d->buf.data(), static_cast<size_t>(n));
    d->bytes += n;
    if (d->bytes > d->max_bytes) d->over_limit = true;
  }
  return n;
}

la_ssize_t TarRead(archive* tar, void* client, const void** out) {
  auto* d = static_cast<Decompressed*>(client);
  la_ssize_t n = NextChunk(d);
  if (n < 0) {
    archive_set_error(tar, EIO, "decompress: %s", archive_error_string(d->raw));
    return -1;
  }
  if (d->over_limit) {
    archive_set_error(tar, EFBIG, "layer exceeds the size limit");
    return -1;
  }
  *out = d->buf.data();
  return n;
}

Error TooBig(const UnpackOptions& o) {
  return Error::Sys(EFBIG, "layer is larger than the limit of " + std::to_string(o.max_bytes) +
                               " bytes (uncompressed)");
}

}  // namespace

Result<UnpackStats> UnpackLayer(int fd, const std::filesystem::path& dest,
                                const UnpackOptions& options) {
  const std::string ctx = "unpack layer into " + dest.string();
  BERTH_ASSIGN_OR_RETURN(UniqueFd root, OpenFile(dest, O_RDONLY | O_DIRECTORY).Wrap(ctx));

  Decompressed d;
  d.max_bytes = options.max_bytes;
  ArchivePtr raw(archive_read_new());
  if (!raw) return Error::Sys(ENOMEM, ctx + ": archive_read_new");
  d.raw = raw.get();
  archive_read_support_filter_gzip(raw.get());
  archive_read_support_filter_zstd(raw.get());
  archive_read_support_format_raw(raw.get());
  if (archive_read_open_fd(raw.get(), fd, 1 << 17) != ARCHIVE_OK) {
    return ArchiveError(raw.get(), "open layer stream").Wrap(ctx);
  }
  archive_entry* raw_entry;
  if (archive_read_next_header(raw.get(), &raw_entry) != ARCHIVE_OK) {
    return ArchiveError(raw.get(), "read layer stream (empty?)").Wrap(ctx);
  }

  ArchivePtr tar(archive_read_new());
  if (!tar) return Error::Sys(ENOMEM, ctx + ": archive_read_new");
  archive_read_support_format_tar(tar.get());
  if (archive_read_open(tar.get(), &d, nullptr, TarRead, nullptr) != ARCHIVE_OK) {
    if (d.over_limit) return TooBig(options).Wrap(ctx);
    return ArchiveError(tar.get(), "read tar").Wrap(ctx);
  }

  UnpackStats stats;
  detail::EntryWriter writer(root.get(), options, &stats);
  for (;;) {
    archive_entry* e;
    int r = archive_read_next_header(tar.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (d.over_limit) return TooBig(options).Wrap(ctx);
    if (r < ARCHIVE_WARN) return ArchiveError(tar.get(), "read tar header").Wrap(ctx);
    Status s = writer.Apply(tar.get(), e);
    if (d.over_limit) return TooBig(options).Wrap(ctx);
    if (!s.ok()) return std::move(s).error().Wrap(ctx);
  }
  BERTH_TRY_CTX(writer.Finish(), ctx);

  // The tar ends with zero blocks and padding the tar reader need not consume;
  // the diff_id covers all of it.
  for (;;) {
    la_ssize_t n = NextChunk(&d);
    if (n < 0) return ArchiveError(raw.get(), "decompress").Wrap(ctx);
    if (d.over_limit) return TooBig(options).Wrap(ctx);
    if (n == 0) break;
  }
  stats.bytes = d.bytes;
  BERTH_ASSIGN_OR_RETURN(stats.diff_id, d.hasher.Finish());
  if (options.diff_id && !(stats.diff_id == *options.diff_id)) {
    return Error::Invalid("diff_id mismatch: expected " + options.diff_id->String() + ", got " +
                          stats.diff_id.String())
        .Wrap(ctx);
  }
  return stats;
}

}  // namespace berth::runtime::image
