// Creating one tar entry beneath the layer root. Every path is resolved from
// the root fd with openat2(RESOLVE_IN_ROOT) and every final component is
// created or changed with *at() calls that do not follow symlinks, so no entry
// can reach outside the layer whatever earlier entries made.
#include "unpack_entry.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>

#include "fs_util.h"

#include "berth/common/log.h"

namespace berth::runtime::image::detail {
namespace {

constexpr size_t kMaxPath = 4096;

std::string Join(const std::vector<std::string>& comps, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    if (i) s += '/';
    s += comps[i];
  }
  return s;
}

bool IsChownTolerable(int err) { return err == EPERM || err == EINVAL; }

}  // namespace

Result<std::vector<std::string>> SplitEntryPath(std::string_view name) {
  if (name.size() > kMaxPath) {
    return Error::Invalid("entry name longer than " + std::to_string(kMaxPath) + " bytes");
  }
  if (!name.empty() && name.front() == '/') return Error::Invalid("absolute entry name");
  std::vector<std::string> comps;
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t end = name.find('/', pos);
    if (end == std::string_view::npos) end = name.size();
    std::string_view c = name.substr(pos, end - pos);
    if (c == "..") return Error::Invalid("\"..\" in entry name");
    if (!c.empty() && c != ".") comps.emplace_back(c);
    pos = end + 1;
  }
  return comps;
}

Result<int> EntryWriter::ParentFd(const std::vector<std::string>& comps, size_t n) {
  if (n == 0) return root_fd_;
  std::string parent = Join(comps, n);
  if (cached_fd_ && cached_parent_ == parent) return cached_fd_.get();
  InvalidateParentCache();
  UniqueFd cur;
  std::string prefix;
  for (size_t i = 0; i < n; ++i) {
    if (i) prefix += '/';
    prefix += comps[i];
    auto fd = OpenInRoot(root_fd_, prefix, O_RDONLY | O_DIRECTORY);
    if (!fd.ok() && fd.error().err() == ENOENT) {
      // The tar did not list this directory before its content: make it in
      // the already-resolved parent (mkdirat never follows its last component).
      int at = i == 0 ? root_fd_ : cur.get();
      if (::mkdirat(at, comps[i].c_str(), 0755) < 0 && errno != EEXIST) {
        return Error::FromErrno("mkdir " + prefix);
      }
      fd = OpenInRoot(root_fd_, prefix, O_RDONLY | O_DIRECTORY);
    }
    if (!fd.ok()) return std::move(fd).error().Wrap("parent directory " + prefix);
    cur = std::move(fd).value();
  }
  cached_parent_ = parent;
  cached_fd_ = std::move(cur);
  return cached_fd_.get();
}

Status EntryWriter::Apply(archive* tar, archive_entry* e) {
  const char* raw = archive_entry_pathname(e);
  if (raw == nullptr) return Error::Invalid("tar entry without a name");
  std::string name = raw;
  if (++stats_->entries > options_.max_entries) {
    return Error::Sys(EFBIG,
                      "layer has more than " + std::to_string(options_.max_entries) + " entries");
  }
  auto comps = SplitEntryPath(name);
  if (!comps.ok()) return std::move(comps).error().Wrap("entry \"" + name + "\"");
  return ApplyAt(tar, e, *comps).Wrap("entry \"" + name + "\"");
}

Status EntryWriter::ApplyAt(archive* tar, archive_entry* e, const std::vector<std::string>& comps) {
  const std::string name = Join(comps, comps.size());
  mode_t type = archive_entry_filetype(e);
  if (archive_entry_size_is_set(e) && archive_entry_size(e) > options_.max_bytes) {
    return Error::Sys(EFBIG, "declares " + std::to_string(archive_entry_size(e)) +
                                 " bytes, more than the layer limit of " +
                                 std::to_string(options_.max_bytes));
  }
  struct timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
  bool has_mtime = archive_entry_mtime_is_set(e);
  if (has_mtime) {
    times[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    times[0] = times[1];
  }

  if (comps.empty()) {  // "./": the layer root's own metadata
    if (type != AE_IFDIR) return Error::Invalid("the root entry is not a directory");
    BERTH_TRY(Chown(root_fd_, nullptr, e, "."));
    dirs_.push_back(
        {"", 0, static_cast<mode_t>(archive_entry_perm(e)), has_mtime, {times[0], times[1]}});
    return Ok();
  }

  const std::string& base = comps.back();
  BERTH_ASSIGN_OR_RETURN(int parent, ParentFd(comps, comps.size() - 1));
  if (base.rfind(".wh.", 0) == 0) return Whiteout(parent, base, name);

  // An entry replaces what an earlier entry of this layer put at the same
  // name, except that a directory over a directory only updates metadata.
  struct stat st;
  bool exists = ::fstatat(parent, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  bool keep_dir =
      exists && S_ISDIR(st.st_mode) && type == AE_IFDIR && archive_entry_hardlink(e) == nullptr;
  if (exists && !keep_dir) {
    InvalidateParentCache();
    BERTH_TRY(RemoveTreeAt(parent, base));
    BERTH_ASSIGN_OR_RETURN(parent, ParentFd(comps, comps.size() - 1));
  }

  if (archive_entry_hardlink(e) != nullptr) return HardLink(e, parent, base, name);

  switch (type) {
    case AE_IFREG:
      return WriteRegular(tar, e, parent, base, name);
    case AE_IFDIR: {
      InvalidateParentCache();
      if (!keep_dir && ::mkdirat(parent, base.c_str(), 0700) < 0) {
        return Error::FromErrno("mkdir");
      }
      int fd = ::openat(parent, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return Error::FromErrno("open directory");
      UniqueFd dir(fd);
      BERTH_TRY(Chown(dir.get(), nullptr, e, name));
      BERTH_TRY(Xattrs(dir.get(), e, name));
      dirs_.push_back({name,
                       comps.size(),
                       static_cast<mode_t>(archive_entry_perm(e)),
                       has_mtime,
                       {times[0], times[1]}});
      return Ok();
    }
    case AE_IFLNK: {
      InvalidateParentCache();
      const char* target = archive_entry_symlink(e);
      if (target == nullptr) return Error::Invalid("symlink without a target");
      // The target is stored as given: it is only ever resolved later beneath
      // a root (openat2 RESOLVE_IN_ROOT here, the container's rootfs at run time).
      if (::symlinkat(target, parent, base.c_str()) < 0) return Error::FromErrno("symlink");
      BERTH_TRY(Chown(parent, base.c_str(), e, name));
      if (has_mtime && ::utimensat(parent, base.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0) {
        return Error::FromErrno("utimensat");
      }
      return Ok();
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
      dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
      if (::mknodat(parent, base.c_str(), type | 0600, type == AE_IFIFO ? 0 : dev) < 0) {
        if (errno == EPERM && type != AE_IFIFO) {
          // Inside a user namespace the kernel refuses mknod of real devices;
          // runtimes bind-mount /dev nodes anyway.
          ++stats_->skipped_devices;
          log::Info("unpack: device node skipped (mknod not permitted)", {{"entry", name}});
          return Ok();
        }
        return Error::FromErrno("mknod");
      }
      BERTH_TRY(Chown(parent, base.c_str(), e, name));
      if (::fchmodat(parent, base.c_str(), archive_entry_perm(e), 0) < 0) {
        return Error::FromErrno("chmod");
      }
      if (has_mtime && ::utimensat(parent, base.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0) {
        return Error::FromErrno("utimensat");
      }
      return Ok();
    }
    default:
      return Error::Invalid("unsupported entry type " + std::to_string(type));
  }
}

Status EntryWriter::WriteRegular(archive* tar, archive_entry* e, int parent,
                                 const std::string& base, const std::string& name) {
  int raw =
      ::openat(parent, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (raw < 0) return Error::FromErrno("create");
  UniqueFd fd(raw);
  const void* buf;
  size_t size;
  la_int64_t offset;
  for (;;) {
    int r = archive_read_data_block(tar, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      return Error::Sys(archive_errno(tar) > 0 ? archive_errno(tar) : EIO,
                        std::string("read data: ") + archive_error_string(tar));
    }
    const char* p = static_cast<const char*>(buf);
    while (size > 0) {
      ssize_t n = ::pwrite(fd.get(), p, size, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error::FromErrno("write");
      }
      p += n;
      size -= static_cast<size_t>(n);
      offset += n;
    }
  }
  // Sparse files may end in a hole that no data block covers.
  if (archive_entry_size_is_set(e) && ::ftruncate(fd.get(), archive_entry_size(e)) < 0) {
    return Error::FromErrno("truncate");
  }
  // chown before chmod: chown(2) clears set-user-ID and set-group-ID bits.
  BERTH_TRY(Chown(fd.get(), nullptr, e, name));
  if (::fchmod(fd.get(), archive_entry_perm(e)) < 0) return Error::FromErrno("chmod");
  BERTH_TRY(Xattrs(fd.get(), e, name));
  if (archive_entry_mtime_is_set(e)) {
    struct timespec t[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                            {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
    if (::futimens(fd.get(), t) < 0) return Error::FromErrno("futimens");
  }
  return Ok();
}

Status EntryWriter::HardLink(archive_entry* e, int parent, const std::string& base,
                             const std::string& name) {
  const std::string target = archive_entry_hardlink(e);
  auto comps = SplitEntryPath(target);
  if (!comps.ok()) return std::move(comps).error().Wrap("hard link target \"" + target + "\"");
  if (comps->empty()) return Error::Invalid("hard link to the layer root");
  // The target's parent resolves beneath the root like any entry, and linkat
  // without AT_SYMLINK_FOLLOW links the final component itself.
  auto tparent = OpenInRoot(root_fd_, Join(*comps, comps->size() - 1), O_PATH | O_DIRECTORY);
  if (!tparent.ok()) return std::move(tparent).error().Wrap("hard link target \"" + target + "\"");
  if (::linkat(tparent->get(), comps->back().c_str(), parent, base.c_str(), 0) < 0) {
    return Error::FromErrno("link to \"" + target + "\"");
  }
  return Ok();
}

Status EntryWriter::Chown(int fd, const char* at_name, archive_entry* e, const std::string& name) {
  uid_t uid = static_cast<uid_t>(archive_entry_uid(e));
  gid_t gid = static_cast<gid_t>(archive_entry_gid(e));
  int rc =
      at_name ? ::fchownat(fd, at_name, uid, gid, AT_SYMLINK_NOFOLLOW) : ::fchown(fd, uid, gid);
  if (rc == 0) return Ok();
  if (options_.ignore_chown_errors && IsChownTolerable(errno)) {
    ++stats_->skipped_chowns;
    return Ok();
  }
  return Error::FromErrno("chown " + std::to_string(uid) + ":" + std::to_string(gid));
}

Status EntryWriter::Xattrs(int fd, archive_entry* e, const std::string& name) {
  if (archive_entry_xattr_reset(e) == 0) return Ok();
  const char* key;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
    std::string k = key;
    // Overlay's own xattrs (opaque, redirect, metacopy, origin) would change
    // how layers combine; only our whiteout translation may set them.
    if (k.rfind("trusted.overlay.", 0) == 0 || k.rfind("user.overlay.", 0) == 0) {
      ++stats_->skipped_xattrs;
      log::Warn("unpack: overlay xattr in layer ignored", {{"entry", name}, {"xattr", k}});
      continue;
    }
    if (::fsetxattr(fd, key, value, size, 0) < 0) {
      if (errno == EPERM || errno == EOPNOTSUPP || errno == EACCES) {
        ++stats_->skipped_xattrs;
        log::Info("unpack: xattr not settable here, skipped", {{"entry", name}, {"xattr", k}});
        continue;
      }
      return Error::FromErrno("setxattr " + k);
    }
  }
  return Ok();
}

Status EntryWriter::Finish() {
  InvalidateParentCache();
  std::stable_sort(dirs_.begin(), dirs_.end(),
                   [](const DeferredDir& a, const DeferredDir& b) { return a.depth > b.depth; });
  for (const auto& d : dirs_) {
    auto fd = OpenInRoot(root_fd_, d.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!fd.ok()) {
      // A later entry replaced this directory (by a file, symlink or whiteout).
      if (fd.error().err() == ENOENT || fd.error().err() == ENOTDIR || fd.error().err() == ELOOP) {
        continue;
      }
      return std::move(fd).error().Wrap("directory \"" + d.path + "\"");
    }
    if (::fchmod(fd->get(), d.mode) < 0) return Error::FromErrno("chmod \"" + d.path + "\"");
    if (d.has_mtime && ::futimens(fd->get(), d.times) < 0) {
      return Error::FromErrno("futimens \"" + d.path + "\"");
    }
  }
  return Ok();
}

}  // namespace berth::runtime::image::detail
