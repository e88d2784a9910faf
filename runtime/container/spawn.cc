// Parent side of container creation: cgroup, exec fifo, clone3, id maps,
// and the sync protocol with the child. Everything made is unwound when any
// step fails.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <linux/sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <climits>
#include <csignal>
#include <cstdlib>

#include "child_sync.h"
#include "init.h"

#include "berth/cgroups/cgroup.h"
#include "berth/common/file.h"
#include "berth/common/log.h"
#include "berth/runtime/container.h"

namespace berth::runtime {
namespace {

using container_internal::ReceiveSync;
using container_internal::SendSync;
using container_internal::SyncKind;

uint64_t CloneFlags(const Linux& l) {
  uint64_t flags = 0;
  for (const auto& ns : l.namespaces) {
    if (!ns.path.empty()) continue;
    switch (ns.type) {
      case NamespaceType::kPid:
        flags |= CLONE_NEWPID;
        break;
      case NamespaceType::kNetwork:
        flags |= CLONE_NEWNET;
        break;
      case NamespaceType::kMount:
        flags |= CLONE_NEWNS;
        break;
      case NamespaceType::kIpc:
        flags |= CLONE_NEWIPC;
        break;
      case NamespaceType::kUts:
        flags |= CLONE_NEWUTS;
        break;
      case NamespaceType::kUser:
        flags |= CLONE_NEWUSER;
        break;
      case NamespaceType::kCgroup:
        flags |= CLONE_NEWCGROUP;
        break;
      case NamespaceType::kTime:
        flags |= CLONE_NEWTIME;
        break;
    }
  }
  return flags;
}

struct ClonePlan {
  uint64_t clone_flags = 0;
  // Namespaces the child unshares after joining a user namespace by path,
  // so that they are owned by that user namespace (youki's order).
  uint64_t unshare_flags = 0;
};

Result<ClonePlan> PlanNamespaces(const Linux& l) {
  ClonePlan plan;
  plan.clone_flags = CloneFlags(l);
  const Namespace* user = l.FindNamespace(NamespaceType::kUser);
  if (user == nullptr || user->path.empty()) return plan;
  if ((plan.clone_flags & CLONE_NEWPID) != 0) {
    // A pid namespace made by clone3 here would belong to our user
    // namespace, and /proc could not be mounted from the joined one; making
    // it inside needs an intermediate process, which Berth does not have.
    return Error::Invalid(
        "linux.namespaces: a new pid namespace together with a user namespace joined by path is "
        "not supported; give the pid namespace's path as well");
  }
  constexpr uint64_t kUnsharable =
      CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP;
  plan.unshare_flags = plan.clone_flags & kUnsharable;
  plan.clone_flags &= ~kUnsharable;
  return plan;
}

Status WriteIdMap(pid_t pid, const char* file, const std::vector<IdMapping>& maps) {
  if (maps.empty()) return Ok();
  std::string text;
  for (const auto& m : maps) {
    text += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
            std::to_string(m.size) + "\n";
  }
  return WriteFile("/proc/" + std::to_string(pid) + "/" + file, text);
}

// Kills and reaps the child on every early return.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ~ChildGuard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  pid_t release() { return std::exchange(pid_, -1); }

 private:
  pid_t pid_;
};

class FifoGuard {
 public:
  explicit FifoGuard(std::string path) : path_(std::move(path)) {}
  ~FifoGuard() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  FifoGuard(const FifoGuard&) = delete;
  FifoGuard& operator=(const FifoGuard&) = delete;
  void release() { path_.clear(); }

 private:
  std::string path_;
};

Result<std::string> RootfsPath(const InitOptions& o) {
  std::filesystem::path root = o.spec.root.path;
  if (root.is_relative()) root = o.bundle / root;
  char resolved[PATH_MAX];
  if (::realpath(root.c_str(), resolved) == nullptr) {
    return Error::FromErrno("root.path " + root.string());
  }
  return std::string(resolved);
}

// Inside a user namespace the init reopens the fifo as the container's root;
// hand the fifo to the host ids that root maps to.
Status OwnFifoByContainerRoot(const std::filesystem::path& fifo, const Linux& l) {
  auto host_id = [](const std::vector<IdMapping>& maps) -> int64_t {
    for (const auto& m : maps) {
      if (m.container_id == 0 && m.size > 0) return m.host_id;
    }
    return -1;
  };
  int64_t uid = host_id(l.uid_mappings), gid = host_id(l.gid_mappings);
  if (uid < 0 && gid < 0) return Ok();
  if (::chown(fifo.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) < 0) {
    return Error::FromErrno("chown exec fifo " + fifo.string());
  }
  return Ok();
}

// A pid namespace given by path must be entered before the clone: setns
// on a pid namespace moves only the children made afterwards (see man 2
// setns). The caller's own pid_for_children is restored once the init is
// cloned, so the runtime's later children stay where they were.
class PidNamespaceForChildren {
 public:
  Status Join(const Linux& l) {
    const Namespace* pid = l.FindNamespace(NamespaceType::kPid);
    if (pid == nullptr || pid->path.empty()) return Ok();
    BERTH_ASSIGN_OR_RETURN(saved_, OpenFile("/proc/self/ns/pid_for_children", O_RDONLY));
    BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(pid->path, O_RDONLY));
    if (::setns(fd.get(), CLONE_NEWPID) < 0) {
      Error e = Error::FromErrno("join pid namespace " + pid->path);
      saved_.reset();
      return e;
    }
    return Ok();
  }
  Status Restore() {
    if (!saved_) return Ok();
    UniqueFd fd = std::move(saved_);
    if (::setns(fd.get(), CLONE_NEWPID) < 0) {
      return Error::FromErrno("return to the runtime's pid namespace");
    }
    return Ok();
  }
  ~PidNamespaceForChildren() {
    IgnoreError(Restore(), "EINVAL: cannot happen for our own namespace; nothing better to do");
  }

 private:
  UniqueFd saved_;
};

Result<pid_t> Clone3(uint64_t flags, int cgroup_fd) {
  struct clone_args args {};
  args.flags = flags | CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup_fd);
  long pid = syscall(SYS_clone3, &args, sizeof(args));
  if (pid < 0) return Error::FromErrno("clone3");
  return static_cast<pid_t>(pid);
}

// Runs the parent's half of the sync protocol until the child is ready.
Status AwaitReady(pid_t pid, int sync_fd, const Linux& l) {
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(container_internal::SyncMessage m, ReceiveSync(sync_fd));
    switch (m.kind) {
      case SyncKind::kNeedIdMaps:
        BERTH_TRY(WriteIdMap(pid, "uid_map", l.uid_mappings).Wrap("linux.uidMappings"));
        BERTH_TRY(WriteIdMap(pid, "gid_map", l.gid_mappings).Wrap("linux.gidMappings"));
        BERTH_TRY(SendSync(sync_fd, SyncKind::kIdMapsDone));
        break;
      case SyncKind::kReady:
        return Ok();
      case SyncKind::kError:
        return Error::Sys(m.err, m.text);
      default:
        return Error::Sys(EPROTO, "unexpected message from the container process");
    }
  }
}

}  // namespace

Result<uint64_t> ProcessStartTime(pid_t pid, const std::filesystem::path& proc) {
  auto stat = ReadFile(proc / std::to_string(pid) / "stat");
  if (!stat.ok()) {
    if (stat.error().err() == ENOENT) return Error::Sys(ESRCH, "process " + std::to_string(pid));
    return std::move(stat).error();
  }
  // Field 2 (comm) may hold spaces and parentheses: count from the last ')'.
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return Error::Sys(EPROTO, "malformed /proc/<pid>/stat");
  size_t pos = close + 2;
  for (int field = 3; field < 22; ++field) {
    pos = stat->find(' ', pos);
    if (pos == std::string::npos) return Error::Sys(EPROTO, "short /proc/<pid>/stat");
    ++pos;
  }
  return std::strtoull(stat->c_str() + pos, nullptr, 10);
}

Result<InitProcess> SpawnInit(const InitOptions& o) {
  if (!o.spec.process) return Error::Invalid("process: required to create a container");
  if (!o.spec.linux_spec) return Error::Invalid("linux: required to create a container");
  const Linux& l = *o.spec.linux_spec;
  InitProcess out;
  BERTH_ASSIGN_OR_RETURN(std::string rootfs, RootfsPath(o));
  BERTH_ASSIGN_OR_RETURN(ClonePlan plan, PlanNamespaces(l));

  BERTH_ASSIGN_OR_RETURN(cgroups::Cgroup cg,
                         cgroups::Cgroup::Create(o.cgroup_mount, o.cgroup_path));
  cgroups::ScopedCgroup cgroup_guard(cg);
  if (l.resources) {
    cgroups::ApplyOptions ao;
    ao.strict = o.strict_resources;
    BERTH_ASSIGN_OR_RETURN(out.warnings, cg.Apply(*l.resources, ao));
    if (!l.resources->devices.empty()) {
      out.warnings.emplace_back(
          "linux.resources.devices is not enforced: cgroup v2 device filtering needs a BPF "
          "program Berth does not load yet");
    }
  }
  for (const auto& w : out.warnings) log::Warn(w, {{"id", o.id}});

  if (::mkfifo(o.exec_fifo.c_str(), 0622) < 0) {
    return Error::FromErrno("mkfifo " + o.exec_fifo.string());
  }
  FifoGuard fifo_guard(o.exec_fifo.string());
  // 0622 regardless of our umask: an init running as a non-root user (or as
  // an unmapped root) must be able to open it for writing, as runc's is.
  if (::chmod(o.exec_fifo.c_str(), 0622) < 0) {
    return Error::FromErrno("chmod exec fifo " + o.exec_fifo.string());
  }
  BERTH_TRY(OwnFifoByContainerRoot(o.exec_fifo, l));
  BERTH_ASSIGN_OR_RETURN(UniqueFd fifo, OpenFile(o.exec_fifo, O_PATH));
  BERTH_ASSIGN_OR_RETURN(UniqueFd cgroup_dir, OpenFile(cg.dir(), O_PATH | O_DIRECTORY));

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    return Error::FromErrno("socketpair");
  }
  UniqueFd parent_end(sv[0]), child_end(sv[1]);
  PidNamespaceForChildren pid_ns;
  BERTH_TRY(pid_ns.Join(l));

  uint64_t flags = plan.clone_flags;
  BERTH_ASSIGN_OR_RETURN(pid_t pid, Clone3(flags, cgroup_dir.get()));
  if (pid == 0) {
    (void)parent_end.release();  // the child must not close the parent's copy
    container_internal::ChildConfig cc;
    cc.options = &o;
    cc.rootfs = rootfs;
    cc.sync_fd = child_end.get();
    cc.fifo_path_fd = fifo.get();
    cc.new_user_namespace = (flags & CLONE_NEWUSER) != 0;
    cc.unshare_flags = plan.unshare_flags;
    container_internal::RunInitChild(cc);
  }
  ChildGuard child(pid);
  BERTH_TRY(pid_ns.Restore());
  child_end.reset();
  BERTH_TRY(AwaitReady(pid, parent_end.get(), l));
  BERTH_ASSIGN_OR_RETURN(out.start_time, ProcessStartTime(pid));
  out.pid = child.release();
  fifo_guard.release();
  cgroup_guard.release();
  return out;
}

Status StartInit(const std::filesystem::path& exec_fifo) {
  // Opening for reading completes the init's blocked open for writing.
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(exec_fifo, O_RDONLY));
  char byte;
  ssize_t n;
  do {
    n = ::read(fd.get(), &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Error::FromErrno("read exec fifo " + exec_fifo.string());
  if (n == 0) return Error::Sys(ECHILD, "container init exited before start");
  if (::unlink(exec_fifo.c_str()) < 0 && errno != ENOENT) {
    return Error::FromErrno("remove exec fifo " + exec_fifo.string());
  }
  return Ok();
}

Status StartInit(const std::filesystem::path& exec_fifo, pid_t init_pid) {
  // A non-blocking open for reading succeeds at once and lets the init's
  // blocked open for writing complete (see man 7 fifo).
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(exec_fifo, O_RDONLY | O_NONBLOCK));
  for (;;) {
    struct pollfd pfd {
      fd.get(), POLLIN, 0
    };
    int ready = ::poll(&pfd, 1, 100);
    if (ready < 0 && errno != EINTR)
      return Error::FromErrno("poll exec fifo " + exec_fifo.string());
    if (ready > 0) {
      char byte;
      ssize_t n = ::read(fd.get(), &byte, 1);
      if (n == 1) break;
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return Error::FromErrno("read exec fifo " + exec_fifo.string());
      }
      // POLLHUP: a writer came and went without a byte; the init is dying.
      if (n == 0 && (pfd.revents & POLLHUP) != 0) {
        return Error::Sys(ECHILD, "container init exited before start");
      }
    }
    // A zombie still answers kill(pid, 0): look at its state instead.
    auto stat = ReadFile("/proc/" + std::to_string(init_pid) + "/stat");
    size_t close = stat.ok() ? stat->rfind(')') : std::string::npos;
    if (close == std::string::npos || close + 2 >= stat->size() || (*stat)[close + 2] == 'Z') {
      return Error::Sys(ECHILD,
                        "container init " + std::to_string(init_pid) + " exited before start");
    }
  }
  if (::unlink(exec_fifo.c_str()) < 0 && errno != ENOENT) {
    return Error::FromErrno("remove exec fifo " + exec_fifo.string());
  }
  return Ok();
}

}  // namespace berth::runtime
