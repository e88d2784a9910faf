// OCI whiteouts to overlayfs whiteouts (OCI image-spec layer.md "Whiteouts";
// kernel Documentation/filesystems/overlayfs.rst "whiteouts and opaque
// directories").
#include <fcntl.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "fs_util.h"
#include "unpack_entry.h"

#include "berth/common/log.h"

namespace berth::runtime::image::detail {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

}  // namespace

Status EntryWriter::Whiteout(int parent, const std::string& base, const std::string& name) {
  if (base == kOpaqueMarker) {
    // The directory hides everything of the same name in lower layers.
    int fd = ::openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Error::FromErrno("open opaque directory");
    UniqueFd dir(fd);
    std::string key = options_.overlay_xattr_prefix + "opaque";
    if (::fsetxattr(dir.get(), key.c_str(), "y", 1, 0) < 0) {
      return Error::FromErrno("setxattr " + key);
    }
    ++stats_->opaque_dirs;
    return Ok();
  }
  if (base.rfind(std::string(kWhiteoutPrefix) + ".wh.", 0) == 0) {
    // Other ".wh..wh." names are AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs):
    // they carry nothing for overlayfs.
    log::Debug("unpack: AUFS metadata entry ignored", {{"entry", name}});
    return Ok();
  }
  std::string hidden = base.substr(kWhiteoutPrefix.size());
  if (hidden.empty() || hidden == "." || hidden == "..") {
    return Error::Invalid("whiteout without a name");
  }
  // An entry of this same layer may have created the name first: the
  // whiteout wins, as it would when the layers are applied in order.
  InvalidateParentCache();
  BERTH_TRY(RemoveTreeAt(parent, hidden));
  // A 0:0 character device is overlayfs' whiteout.
  if (::mknodat(parent, hidden.c_str(), S_IFCHR | 0000, makedev(0, 0)) < 0) {
    return Error::FromErrno("mknod whiteout for \"" + hidden + "\"");
  }
  ++stats_->whiteouts;
  return Ok();
}

}  // namespace berth::runtime::image::detail
