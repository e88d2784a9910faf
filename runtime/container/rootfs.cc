#include "rootfs.h"

#include <fcntl.h>
#include <unistd.h>

#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include <cstring>

#include "berth/common/file.h"
#include "berth/common/unique_fd.h"

namespace berth::runtime::container_internal {
namespace {

struct FlagName {
  const char* name;
  bool clear;
  unsigned long flag;
};

constexpr FlagName kFlags[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
};

constexpr FlagName kPropagation[] = {
    {"private", false, MS_PRIVATE},       {"rprivate", false, MS_PRIVATE | MS_REC},
    {"shared", false, MS_SHARED},         {"rshared", false, MS_SHARED | MS_REC},
    {"slave", false, MS_SLAVE},           {"rslave", false, MS_SLAVE | MS_REC},
    {"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC},
};

// openat2(2) with RESOLVE_IN_ROOT: ".." and absolute symlinks inside the
// container rootfs cannot lead out of it (see man 2 openat2).
Result<UniqueFd> OpenInRoot(int root_fd, const std::string& path, uint64_t flags) {
  struct open_how how {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = path;
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  if (rel.empty()) rel = ".";
  long fd = syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof(how));
  if (fd < 0) return Error::FromErrno("open " + path + " in the container rootfs");
  return UniqueFd(static_cast<int>(fd));
}

// mkdir -p of `path` inside the rootfs, every step resolved in the root.
Status MakeDirsInRoot(int root_fd, const std::string& path) {
  std::string cur;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    std::string part = path.substr(pos, next - pos);
    pos = next + 1;
    if (part.empty() || part == ".") continue;
    BERTH_ASSIGN_OR_RETURN(UniqueFd parent,
                           OpenInRoot(root_fd, cur.empty() ? "/" : cur, O_PATH | O_DIRECTORY));
    if (mkdirat(parent.get(), part.c_str(), 0755) < 0 && errno != EEXIST) {
      return Error::FromErrno("mkdir " + cur + "/" + part);
    }
    cur += "/" + part;
  }
  return Ok();
}

// Creates the mount target (a directory, or an empty file when the bind
// source is a file) and returns an O_PATH fd to it.
Result<UniqueFd> MakeTarget(int root_fd, const std::string& dest, bool file) {
  if (!file) {
    BERTH_TRY(MakeDirsInRoot(root_fd, dest));
    return OpenInRoot(root_fd, dest, O_PATH);
  }
  size_t slash = dest.rfind('/');
  BERTH_TRY(MakeDirsInRoot(root_fd, dest.substr(0, slash)));
  auto existing = OpenInRoot(root_fd, dest, O_PATH);
  if (existing.ok()) return existing;
  BERTH_ASSIGN_OR_RETURN(UniqueFd created, OpenInRoot(root_fd, dest, O_CREAT | O_WRONLY));
  return OpenInRoot(root_fd, dest, O_PATH);
}

std::string FdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Status DoMount(const std::string& source, const std::string& target_desc, int target_fd,
               const char* type, unsigned long flags, const std::string& data) {
  std::string target = FdPath(target_fd);
  if (::mount(source.c_str(), target.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) <
      0) {
    return Error::FromErrno(std::string("mount ") + (type ? type : "bind") + " " + source + " on " +
                            target_desc);
  }
  return Ok();
}

Status MountOne(int root_fd, const RootfsConfig& cfg, const Mount& m) {
  MountFlags mf = ParseMountOptions(m.options);
  bool bind = mf.bind || m.type == "bind";
  std::string source = m.source;
  if (bind && !source.empty() && source[0] != '/') source = cfg.bundle + "/" + source;
  bool file = false;
  if (bind) {
    struct stat st {};
    if (::stat(source.c_str(), &st) < 0) return Error::FromErrno("stat bind source " + source);
    file = !S_ISDIR(st.st_mode);
  }
  BERTH_ASSIGN_OR_RETURN(UniqueFd target, MakeTarget(root_fd, m.destination, file));
  if (bind) {
    BERTH_TRY(
        DoMount(source, m.destination, target.get(), nullptr, mf.flags & (MS_BIND | MS_REC), ""));
    unsigned long extra = mf.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (extra != 0) {
      // A bind mount ignores most flags; apply them with a bind remount.
      BERTH_ASSIGN_OR_RETURN(UniqueFd again, OpenInRoot(root_fd, m.destination, O_PATH));
      BERTH_TRY(DoMount("", m.destination, again.get(), nullptr, MS_REMOUNT | MS_BIND | extra, ""));
    }
  } else {
    std::string type = m.type;
    std::string src = m.source.empty() ? type : m.source;
    if (type == "cgroup") type = "cgroup2";  // cgroup v2 only (design.md)
    BERTH_TRY(DoMount(src, m.destination, target.get(), type.c_str(), mf.flags, mf.data));
  }
  if (mf.propagation != 0) {
    BERTH_ASSIGN_OR_RETURN(UniqueFd again, OpenInRoot(root_fd, m.destination, O_PATH));
    BERTH_TRY(DoMount("", m.destination, again.get(), nullptr, mf.propagation, ""));
  }
  return Ok();
}

struct DefaultDevice {
  const char* path;
  unsigned major, minor;
};
constexpr DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

Status MakeDevice(int root_fd, const RootfsConfig& cfg, const std::string& path, mode_t type,
                  unsigned major, unsigned minor, mode_t mode, uid_t uid, gid_t gid) {
  size_t slash = path.rfind('/');
  BERTH_TRY(MakeDirsInRoot(root_fd, path.substr(0, slash)));
  BERTH_ASSIGN_OR_RETURN(UniqueFd dir,
                         OpenInRoot(root_fd, path.substr(0, slash), O_PATH | O_DIRECTORY));
  std::string name = path.substr(slash + 1);
  if (cfg.in_user_namespace) {
    // mknod is refused in a user namespace: bind the host's node instead.
    BERTH_ASSIGN_OR_RETURN(UniqueFd target, MakeTarget(root_fd, path, true));
    return DoMount(path, path, target.get(), nullptr, MS_BIND, "");
  }
  if (mknodat(dir.get(), name.c_str(), type | mode, makedev(major, minor)) < 0 && errno != EEXIST) {
    return Error::FromErrno("mknod " + path);
  }
  if (fchownat(dir.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
    return Error::FromErrno("chown " + path);
  }
  return Ok();
}

Status SetUpDev(int root_fd, const RootfsConfig& cfg) {
  const Linux& l = *cfg.spec->linux_spec;
  for (const auto& d : kDefaultDevices) {
    BERTH_TRY(MakeDevice(root_fd, cfg, d.path, S_IFCHR, d.major, d.minor, 0666, 0, 0));
  }
  for (const Device& d : l.devices) {
    mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
    BERTH_TRY(MakeDevice(root_fd, cfg, d.path, type, static_cast<unsigned>(d.major),
                         static_cast<unsigned>(d.minor), d.file_mode.value_or(0666),
                         d.uid.value_or(0), d.gid.value_or(0)));
  }
  static const std::pair<const char*, const char*> kLinks[] = {{"/proc/self/fd", "fd"},
                                                               {"/proc/self/fd/0", "stdin"},
                                                               {"/proc/self/fd/1", "stdout"},
                                                               {"/proc/self/fd/2", "stderr"},
                                                               {"pts/ptmx", "ptmx"}};
  BERTH_ASSIGN_OR_RETURN(UniqueFd dev, OpenInRoot(root_fd, "/dev", O_PATH | O_DIRECTORY));
  for (const auto& [target, name] : kLinks) {
    if (symlinkat(target, dev.get(), name) < 0 && errno != EEXIST) {
      return Error::FromErrno(std::string("symlink /dev/") + name);
    }
  }
  return Ok();
}

bool MountsDevTmpfs(const Spec& spec) {
  for (const Mount& m : spec.mounts) {
    if (m.destination == "/dev" && m.type == "tmpfs") return true;
  }
  return false;
}

Status PivotRoot(const std::string& rootfs) {
  if (::chdir(rootfs.c_str()) < 0) return Error::FromErrno("chdir " + rootfs);
  // see man 2 pivot_root: new_root and put_old may be the same directory; the
  // old root then sits on top of "/" and is detached right after.
  if (syscall(SYS_pivot_root, ".", ".") < 0) return Error::FromErrno("pivot_root " + rootfs);
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
    return Error::FromErrno("make the old root rslave");
  }
  if (::umount2(".", MNT_DETACH) < 0) return Error::FromErrno("detach the old root");
  if (::chdir("/") < 0) return Error::FromErrno("chdir /");
  return Ok();
}

}  // namespace

MountFlags ParseMountOptions(const std::vector<std::string>& options) {
  MountFlags out;
  for (const std::string& o : options) {
    bool known = false;
    if (o == "bind" || o == "rbind") {
      out.bind = true;
      out.flags |= MS_BIND | (o == "rbind" ? MS_REC : 0);
      continue;
    }
    for (const auto& f : kFlags) {
      if (o == f.name) {
        if (f.clear) {
          out.flags &= ~f.flag;
        } else {
          out.flags |= f.flag;
        }
        known = true;
      }
    }
    for (const auto& f : kPropagation) {
      if (o == f.name) {
        out.propagation |= f.flag;
        known = true;
      }
    }
    if (!known) {
      if (!out.data.empty()) out.data += ",";
      out.data += o;
    }
  }
  return out;
}

Status SetUpRootfs(const RootfsConfig& cfg) {
  const Spec& spec = *cfg.spec;
  unsigned long prop = MS_PRIVATE | MS_REC;
  if (!spec.linux_spec->rootfs_propagation.empty()) {
    MountFlags pf = ParseMountOptions({spec.linux_spec->rootfs_propagation});
    if (pf.propagation != 0) prop = pf.propagation;
  }
  // Nothing we mount may propagate back to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0) {
    return Error::FromErrno("make / rslave");
  }
  if (::mount(cfg.rootfs.c_str(), cfg.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    return Error::FromErrno("bind mount rootfs " + cfg.rootfs);
  }
  if (::mount(nullptr, cfg.rootfs.c_str(), nullptr, MS_PRIVATE, nullptr) < 0) {
    return Error::FromErrno("make rootfs private");
  }
  BERTH_ASSIGN_OR_RETURN(UniqueFd root, OpenFile(cfg.rootfs, O_PATH | O_DIRECTORY));
  for (const Mount& m : spec.mounts) {
    BERTH_TRY(MountOne(root.get(), cfg, m).Wrap("mounts: " + m.destination));
  }
  if (MountsDevTmpfs(spec)) BERTH_TRY(SetUpDev(root.get(), cfg).Wrap("set up /dev"));
  BERTH_TRY(PivotRoot(cfg.rootfs));
  if (prop != (MS_PRIVATE | MS_REC) && ::mount(nullptr, "/", nullptr, prop, nullptr) < 0) {
    return Error::FromErrno("set rootfsPropagation " + spec.linux_spec->rootfs_propagation);
  }
  return Ok();
}

Status FinishRootfs(const Spec& spec) {
  const Linux& l = *spec.linux_spec;
  for (const std::string& p : l.masked_paths) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) < 0) {
      if (errno == ENOENT) continue;  // masking what is absent is a no-op
      return Error::FromErrno("stat masked path " + p);
    }
    if (S_ISDIR(st.st_mode)) {
      if (::mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, nullptr) < 0) {
        return Error::FromErrno("mask " + p + " with a read-only tmpfs");
      }
    } else if (::mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr) < 0) {
      return Error::FromErrno("mask " + p + " with /dev/null");
    }
  }
  for (const std::string& p : l.readonly_paths) {
    if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
      if (errno == ENOENT) continue;  // nothing to protect
      return Error::FromErrno("bind readonly path " + p);
    }
    if (::mount(nullptr, p.c_str(), nullptr,
                MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
      return Error::FromErrno("remount " + p + " read-only");
    }
  }
  if (spec.root.readonly &&
      ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) < 0) {
    return Error::FromErrno("remount / read-only");
  }
  return Ok();
}

}  // namespace berth::runtime::container_internal
