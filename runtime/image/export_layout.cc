// Export to an OCI image layout directory (image-spec image-layout.md).
#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include "fs_util.h"

#include "berth/common/file.h"
#include "berth/runtime/image/import.h"
#include "berth/runtime/image/rootfs.h"

namespace berth::runtime::image {
namespace {

Status CopyBlob(const ImageStore& store, const Descriptor& d, const std::filesystem::path& dir) {
  std::filesystem::path dst = dir / "blobs" / d.digest.algorithm / d.digest.hex;
  struct stat st;
  if (::stat(dst.c_str(), &st) == 0 && st.st_size == d.size) return Ok();
  BERTH_ASSIGN_OR_RETURN(UniqueFd in, store.OpenBlob(d.digest));
  std::filesystem::path tmp =
      dir / "blobs" / d.digest.algorithm / detail::TempName("." + d.digest.hex);
  BERTH_ASSIGN_OR_RETURN(UniqueFd out, OpenFile(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644));
  for (;;) {
    ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, 1 << 30, 0);
    if (n < 0) {
      Error e = Error::FromErrno("copy blob " + d.digest.String() + " to " + tmp.string());
      ::unlink(tmp.c_str());
      return e;
    }
    if (n == 0) break;
  }
  if (::fsync(out.get()) < 0 || ::rename(tmp.c_str(), dst.c_str()) < 0) {
    Error e = Error::FromErrno("write " + dst.string());
    ::unlink(tmp.c_str());
    return e;
  }
  return Ok();
}

}  // namespace

Status ExportOciLayout(const ImageStore& store, const std::vector<std::string>& references,
                       const std::filesystem::path& dir) {
  const std::string ctx = "export OCI layout " + dir.string();
  BERTH_TRY_CTX(MakeDirs(dir / "blobs" / "sha256"), ctx);
  Index index;
  index.media_type = std::string(media_type::kOciIndex);
  for (const auto& r : references) {
    BERTH_ASSIGN_OR_RETURN(Image img, LoadImage(store, r).Wrap(ctx));
    BERTH_TRY_CTX(CopyBlob(store, img.manifest.config, dir), ctx);
    for (const auto& l : img.manifest.layers) BERTH_TRY_CTX(CopyBlob(store, l, dir), ctx);
    BERTH_TRY_CTX(CopyBlob(store, img.manifest_descriptor, dir), ctx);
    BERTH_ASSIGN_OR_RETURN(Reference ref, ParseReference(r));
    Descriptor d = img.manifest_descriptor;
    d.annotations["io.containerd.image.name"] = ref.String();
    if (!ref.tag.empty()) d.annotations["org.opencontainers.image.ref.name"] = ref.tag;
    index.manifests.push_back(std::move(d));
  }
  BERTH_TRY_CTX(detail::FsyncPath(dir / "blobs" / "sha256"), ctx);
  BERTH_TRY_CTX(WriteFileAtomic(dir / "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}\n"), ctx);
  // index.json last: a reader never sees it name a blob not yet written.
  BERTH_TRY_CTX(WriteFileAtomic(dir / "index.json", SerializeIndex(index) + "\n"), ctx);
  return Ok();
}

}  // namespace berth::runtime::image
