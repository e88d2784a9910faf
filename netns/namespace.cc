#include "berth/netns/namespace.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "berth/common/file.h"

namespace berth::netns {

Status CreateNetns(const std::filesystem::path& path) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd file,
                         OpenFile(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  file.reset();
  // unshare in a short-lived thread: the namespace is new for that thread
  // only, and the bind mount of its nsfs file keeps it alive.
  Status result;
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) < 0) {
      result = Error::FromErrno("unshare(CLONE_NEWNET)");
      return;
    }
    const std::string self = "/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/ns/net";
    if (::mount(self.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) < 0) {
      result = Error::FromErrno("bind-mount " + self + " on " + path.string());
    }
  });
  t.join();
  if (!result.ok()) ::unlink(path.c_str());
  return result;
}

Status DeleteNetns(const std::filesystem::path& path) {
  if (::umount2(path.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
    return Error::FromErrno("unmount " + path.string());
  }
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) {
    return Error::FromErrno("unlink " + path.string());
  }
  return {};
}

bool IsNetns(const std::filesystem::path& path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == NSFS_MAGIC;
}

Result<UniqueFd> OpenNetns(const std::filesystem::path& path) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY | O_CLOEXEC));
  if (!IsNetns(path)) return Error::Sys(EINVAL, path.string() + " is not a network namespace");
  return fd;
}

Status InNetns(int ns_fd, const std::function<Status()>& fn) {
  UniqueFd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!self) return Error::FromErrno("open /proc/thread-self/ns/net");
  if (::setns(ns_fd, CLONE_NEWNET) < 0) return Error::FromErrno("setns(CLONE_NEWNET)");
  Status s = fn();
  if (::setns(self.get(), CLONE_NEWNET) < 0) {
    (void)std::fprintf(stderr, "berth: cannot return to the original network namespace: %s\n",
                       std::strerror(errno));
    std::abort();
  }
  return s;
}

}  // namespace berth::netns
