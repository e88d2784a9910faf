#include "fs_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <atomic>
#include <vector>

#include "berth/common/file.h"

namespace berth::runtime::image::detail {

Result<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags, mode_t mode) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  // glibc 2.36 has no openat2 wrapper; see man 2 openat2.
  long fd;
  do {
    fd = ::syscall(SYS_openat2, root_fd, path.empty() ? "." : path.c_str(), &how, sizeof(how));
  } while (fd < 0 && errno == EAGAIN);
  if (fd < 0) return Error::FromErrno("openat2 " + path);
  return UniqueFd(static_cast<int>(fd));
}

Status EmptyDirFd(int dir_fd, const std::string& what) {
  int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return Error::FromErrno("dup " + what);
  DIR* dir = ::fdopendir(dup);
  if (!dir) {
    Error e = Error::FromErrno("fdopendir " + what);
    ::close(dup);
    return e;
  }
  ::rewinddir(dir);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* de = ::readdir(dir)) {
    std::string n = de->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return Error::Sys(err, "readdir " + what);
  for (const auto& n : names) BERTH_TRY(RemoveTreeAt(dir_fd, n));
  return Ok();
}

Status RemoveTreeAt(int dir_fd, const std::string& name) {
  if (::unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT) return Ok();
  if (errno != EISDIR && errno != EPERM) return Error::FromErrno("unlink " + name);
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Error::FromErrno("open " + name);
  UniqueFd sub(fd);
  // A read-only directory (mode 0555 from a layer) cannot be emptied by a
  // non-root owner until it is writable again.
  (void)::fchmod(sub.get(), 0700);
  BERTH_TRY_CTX(EmptyDirFd(sub.get(), name), "remove " + name);
  if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT) {
    return Error::FromErrno("rmdir " + name);
  }
  return Ok();
}

Status FsyncPath(const std::filesystem::path& path) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  if (::fsync(fd.get()) < 0) return Error::FromErrno("fsync " + path.string());
  return Ok();
}

std::string TempName(const std::string& prefix) {
  static std::atomic<uint64_t> counter{0};
  return prefix + "." + std::to_string(::getpid()) + "." + std::to_string(::gettid()) + "." +
         std::to_string(counter.fetch_add(1));
}

}  // namespace berth::runtime::image::detail
