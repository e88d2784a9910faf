#include "berth/runtime/image/overlay.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/mount.h>

#include "berth/common/unique_fd.h"

namespace berth::runtime::image {
namespace {

// The fs context queues the kernel's own explanation ("e overlayfs: ...");
// see man 2 fsopen, "Message retrieval interface".
std::string KernelMessages(int fs_fd) {
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fs_fd, buf, sizeof(buf) - 1);
    if (n <= 0) break;
    if (!out.empty()) out += "; ";
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Error FsError(int fs_fd, const std::string& what) {
  int err = errno;
  std::string msg = KernelMessages(fs_fd);
  return Error::Sys(err, msg.empty() ? what : what + " (" + msg + ")");
}

// mount(2) option values escape the separators overlayfs splits on.
std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ':' || c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

Status MountLegacy(const OverlayMount& m) {
  std::string data = "lowerdir=";
  for (size_t i = 0; i < m.lowerdirs.size(); ++i) {
    if (i) data += ':';
    data += Escape(m.lowerdirs[i].string());
  }
  if (!m.upperdir.empty()) {
    data += ",upperdir=" + Escape(m.upperdir.string()) + ",workdir=" + Escape(m.workdir.string());
  }
  for (const auto& o : m.options) data += "," + o;
  long page = ::sysconf(_SC_PAGESIZE);
  if (static_cast<long>(data.size()) >= page) {
    return Error::Sys(E2BIG, "overlay options are " + std::to_string(data.size()) +
                                 " bytes, more than mount(2) accepts (" + std::to_string(page) +
                                 "); this kernel lacks lowerdir+ (Linux 6.8)");
  }
  if (::mount("overlay", m.target.c_str(), "overlay", 0, data.c_str()) < 0) {
    return Error::FromErrno("mount overlay on " + m.target.string());
  }
  return Ok();
}

}  // namespace

Status MountOverlay(const OverlayMount& m) {
  if (m.lowerdirs.empty()) return Error::Invalid("overlay mount without lowerdirs");
  if (m.upperdir.empty() != m.workdir.empty()) {
    return Error::Invalid("overlay mount needs both upperdir and workdir, or neither");
  }
  int raw = ::fsopen("overlay", FSOPEN_CLOEXEC);
  if (raw < 0) {
    if (errno == ENOSYS) return MountLegacy(m);
    return Error::FromErrno("fsopen overlay");
  }
  UniqueFd fs(raw);
  for (const auto& dir : m.lowerdirs) {
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", dir.c_str(), 0) < 0) {
      // Kernels before 6.8 know only the single "lowerdir" string.
      if (errno == EINVAL && &dir == &m.lowerdirs.front()) return MountLegacy(m);
      return FsError(fs.get(), "overlay lowerdir+ " + dir.string());
    }
  }
  if (!m.upperdir.empty()) {
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "upperdir", m.upperdir.c_str(), 0) < 0) {
      return FsError(fs.get(), "overlay upperdir " + m.upperdir.string());
    }
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "workdir", m.workdir.c_str(), 0) < 0) {
      return FsError(fs.get(), "overlay workdir " + m.workdir.string());
    }
  }
  for (const auto& o : m.options) {
    size_t eq = o.find('=');
    int rc = eq == std::string::npos
                 ? ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, o.c_str(), nullptr, 0)
                 : ::fsconfig(fs.get(), FSCONFIG_SET_STRING, o.substr(0, eq).c_str(),
                              o.substr(eq + 1).c_str(), 0);
    if (rc < 0) return FsError(fs.get(), "overlay option " + o);
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
    return FsError(fs.get(), "create overlay for " + m.target.string());
  }
  int mnt = ::fsmount(fs.get(), FSMOUNT_CLOEXEC, 0);
  if (mnt < 0) return FsError(fs.get(), "fsmount overlay");
  UniqueFd mnt_fd(mnt);
  if (::move_mount(mnt_fd.get(), "", AT_FDCWD, m.target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0) {
    return Error::FromErrno("move_mount overlay to " + m.target.string());
  }
  return Ok();
}

Status UnmountOverlay(const std::filesystem::path& target, bool detach) {
  if (::umount2(target.c_str(), detach ? MNT_DETACH : 0) < 0) {
    return Error::FromErrno("umount " + target.string());
  }
  return Ok();
}

}  // namespace berth::runtime::image
