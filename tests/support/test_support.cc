#include "test_support.h"

#include <unistd.h>

#include <sys/prctl.h>
#include <sys/socket.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "berth/common/file.h"

namespace berth::testing {
namespace {

std::string Cgroup2Mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // Fields: id parent major:minor root mountpoint opts ... - fstype source superopts
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream post(line.substr(dash + 3));
    std::string fstype;
    post >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream pre(line.substr(0, dash));
    std::string id, parent, dev, root, mountpoint;
    pre >> id >> parent >> dev >> root >> mountpoint;
    return mountpoint;
  }
  return "";
}

}  // namespace

const char* FeatureName(Feature f) {
  switch (f) {
    case Feature::kUserNamespace:
      return "user namespaces";
    case Feature::kCgroup2:
      return "a writable cgroup2 mount";
    case Feature::kCgroup2Controllers:
      return "cgroup2 controllers cpu, memory and pids";
    case Feature::kOverlayfs:
      return "overlayfs";
    case Feature::kSeccomp:
      return "seccomp";
    case Feature::kBusybox:
      return "busybox-static";
  }
  return "?";
}

bool IsRoot() { return geteuid() == 0; }

std::string MissingFeature(Feature f) {
  switch (f) {
    case Feature::kUserNamespace: {
      auto max = ReadFile("/proc/sys/user/max_user_namespaces");
      if (!max.ok()) return max.error().ToString();
      if (std::string(Trim(*max)) == "0") return "user.max_user_namespaces is 0";
      return "";
    }
    case Feature::kCgroup2: {
      std::string mnt = Cgroup2Mount();
      if (mnt.empty()) return "no cgroup2 mount in /proc/self/mountinfo";
      if (access(mnt.c_str(), W_OK) != 0) return mnt + " is not writable";
      return "";
    }
    case Feature::kCgroup2Controllers: {
      std::string mnt = Cgroup2Mount();
      if (mnt.empty()) return "no cgroup2 mount in /proc/self/mountinfo";
      auto c = ReadFile(mnt + "/cgroup.controllers");
      if (!c.ok()) return c.error().ToString();
      std::string have = " " + std::string(Trim(*c)) + " ";
      for (const char* want : {"cpu", "memory", "pids"}) {
        if (have.find(std::string(" ") + want + " ") == std::string::npos) {
          return mnt + " offers only \"" + std::string(Trim(*c)) +
                 "\" (controllers bound to cgroup v1?); run these tests with tools/vmtest";
        }
      }
      return "";
    }
    case Feature::kOverlayfs: {
      auto fs = ReadFile("/proc/filesystems");
      if (!fs.ok()) return fs.error().ToString();
      if (fs->find("\toverlay\n") == std::string::npos) return "overlay not in /proc/filesystems";
      return "";
    }
    case Feature::kSeccomp:
      if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) return "prctl(PR_GET_SECCOMP) failed";
      return "";
    case Feature::kBusybox:
      if (access("/bin/busybox", X_OK) != 0)
        return "/bin/busybox missing (apt-get install busybox-static)";
      return "";
  }
  return "unknown feature";
}

UniqueFd ReceiveFd(int sock) {
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  if (::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0) return UniqueFd();
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS) return UniqueFd();
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(fd));
  return UniqueFd(fd);
}

}  // namespace berth::testing
