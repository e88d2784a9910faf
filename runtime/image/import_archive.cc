// One streaming pass over an image tar (oci-archive or docker-archive): each
// regular file goes straight into the store through a BlobWriter (verified
// against its name when it sits at blobs/sha256/<hex>), the few metadata
// files are kept in memory, links are remembered. Blobs of images the archive
// does not end up naming stay unreferenced until garbage collection.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

#include <memory>

#include "import_common.h"

#include "berth/common/file.h"
#include "berth/runtime/image/gc.h"

namespace berth::runtime::image {
namespace detail {
namespace {

constexpr int64_t kMaxMetadata = 16 << 20;

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

bool IsMetadataName(const std::string& p) {
  return p == "manifest.json" || p == "index.json" || p == "oci-layout" || p == "repositories";
}

// Lexical normalisation of an archive-internal path; ".." cannot climb above
// the archive root (these are names inside the tar, never host paths).
std::string Normalise(const std::string& path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    std::string c = path.substr(pos, end - pos);
    if (c == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!c.empty() && c != ".") {
      out.push_back(std::move(c));
    }
    pos = end + 1;
  }
  std::string s;
  for (size_t i = 0; i < out.size(); ++i) s += (i ? "/" : "") + out[i];
  return s;
}

Error ArchiveError(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return Error::Sys(archive_errno(a) > 0 ? archive_errno(a) : EIO,
                    what + ": " + (msg ? msg : "unknown libarchive error"));
}

}  // namespace

Result<Descriptor> ArchiveScan::Lookup(const std::string& path) const {
  std::string p = Normalise(path);
  for (int hops = 0; hops < 16; ++hops) {
    if (auto f = files.find(p); f != files.end()) return f->second;
    auto l = links.find(p);
    if (l == links.end()) break;
    p = l->second;
  }
  return Error::Sys(ENOENT, "\"" + path + "\" is not in the archive");
}

Result<ArchiveScan> ScanArchive(const ImageStore& store, const std::filesystem::path& tar) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tar, O_RDONLY));
  std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
  if (!a) return Error::Sys(ENOMEM, "archive_read_new");
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_zstd(a.get());
  if (archive_read_open_fd(a.get(), fd.get(), 1 << 17) != ARCHIVE_OK) {
    return ArchiveError(a.get(), "open archive");
  }
  ArchiveScan scan;
  std::string buf(1 << 17, '\0');
  for (;;) {
    archive_entry* e;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return ArchiveError(a.get(), "read archive header");
    const char* raw = archive_entry_pathname(e);
    if (raw == nullptr) return Error::Invalid("archive entry without a name");
    const std::string name = Normalise(raw);
    const std::string ctx = "archive entry \"" + std::string(raw) + "\"";
    if (const char* hl = archive_entry_hardlink(e)) {
      scan.links[name] = Normalise(hl);
      continue;
    }
    if (archive_entry_filetype(e) == AE_IFLNK) {
      std::string target = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
      std::string dir = name.substr(0, name.rfind('/') == std::string::npos ? 0 : name.rfind('/'));
      scan.links[name] =
          Normalise(!target.empty() && target.front() == '/' ? target : dir + "/" + target);
      continue;
    }
    if (archive_entry_filetype(e) != AE_IFREG) continue;

    if (IsMetadataName(name)) {
      if (archive_entry_size(e) > kMaxMetadata) {
        return Error::Sys(EFBIG, ctx + ": larger than " + std::to_string(kMaxMetadata) + " bytes");
      }
      std::string data;
      for (;;) {
        la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
        if (n < 0) return ArchiveError(a.get(), ctx);
        if (n == 0) break;
        data.append(buf.data(), static_cast<size_t>(n));
      }
      scan.metadata[name] = std::move(data);
      continue;
    }
    std::optional<Digest> expected;
    if (name.rfind("blobs/sha256/", 0) == 0) {
      auto d = ParseDigest("sha256:" + name.substr(13));
      if (d.ok()) expected = std::move(d).value();
    }
    BERTH_ASSIGN_OR_RETURN(BlobWriter w, store.NewBlobWriter(expected, archive_entry_size(e)));
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n < 0) return ArchiveError(a.get(), ctx);
      if (n == 0) break;
      BERTH_TRY_CTX(w.Write(buf.data(), static_cast<size_t>(n)), ctx);
    }
    BERTH_ASSIGN_OR_RETURN(Descriptor d, w.Commit().Wrap(ctx));
    scan.files[name] = std::move(d);
  }
  return scan;
}

}  // namespace detail

Result<std::vector<ImportedImage>> ImportOciArchive(const ImageStore& store,
                                                    const std::filesystem::path& tar,
                                                    const ImportOptions& options) {
  const std::string ctx = "import oci-archive " + tar.string();
  BERTH_ASSIGN_OR_RETURN(StoreWriteGuard guard, StoreWriteGuard::Acquire(store).Wrap(ctx));
  BERTH_ASSIGN_OR_RETURN(detail::ArchiveScan scan, detail::ScanArchive(store, tar).Wrap(ctx));
  return detail::ImportOciScan(store, scan, options).Wrap(ctx);
}

Result<std::vector<ImportedImage>> ImportDockerArchive(const ImageStore& store,
                                                       const std::filesystem::path& tar,
                                                       const ImportOptions& options) {
  const std::string ctx = "import docker-archive " + tar.string();
  BERTH_ASSIGN_OR_RETURN(StoreWriteGuard guard, StoreWriteGuard::Acquire(store).Wrap(ctx));
  BERTH_ASSIGN_OR_RETURN(detail::ArchiveScan scan, detail::ScanArchive(store, tar).Wrap(ctx));
  return detail::ImportDockerScan(store, scan, options).Wrap(ctx);
}

Result<std::vector<ImportedImage>> ImportArchive(const ImageStore& store,
                                                 const std::filesystem::path& tar,
                                                 const ImportOptions& options) {
  const std::string ctx = "import archive " + tar.string();
  BERTH_ASSIGN_OR_RETURN(StoreWriteGuard guard, StoreWriteGuard::Acquire(store).Wrap(ctx));
  BERTH_ASSIGN_OR_RETURN(detail::ArchiveScan scan, detail::ScanArchive(store, tar).Wrap(ctx));
  if (scan.metadata.count("manifest.json")) {
    return detail::ImportDockerScan(store, scan, options).Wrap(ctx + " (docker-archive)");
  }
  return detail::ImportOciScan(store, scan, options).Wrap(ctx + " (oci-archive)");
}

}  // namespace berth::runtime::image
