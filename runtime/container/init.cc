// The container init's setup, stage by stage (youki's "init" process).
#include "init.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <csignal>
#include <cstring>

#include <net/if.h>

#include "child_sync.h"
#include "rootfs.h"

#include "berth/common/file.h"
#include "berth/common/unique_fd.h"
#include "berth/runtime/capabilities.h"

namespace berth::runtime::container_internal {
namespace {

struct RlimitName {
  const char* name;
  int resource;
};
constexpr RlimitName kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

int NamespaceFlag(NamespaceType t) {
  switch (t) {
    case NamespaceType::kPid:
      return CLONE_NEWPID;
    case NamespaceType::kNetwork:
      return CLONE_NEWNET;
    case NamespaceType::kMount:
      return CLONE_NEWNS;
    case NamespaceType::kIpc:
      return CLONE_NEWIPC;
    case NamespaceType::kUts:
      return CLONE_NEWUTS;
    case NamespaceType::kUser:
      return CLONE_NEWUSER;
    case NamespaceType::kCgroup:
      return CLONE_NEWCGROUP;
    case NamespaceType::kTime:
      return CLONE_NEWTIME;
  }
  return 0;
}

// Joins the namespaces the spec gives by path: user first, so the rest are
// joined with the capabilities it grants (see man 2 setns). The pid
// namespace was joined by the parent before clone.
Status JoinNamespaces(const Linux& l, uint64_t unshare_flags) {
  // Open every path first: joining a mount namespace changes what the
  // later paths resolve to.
  std::vector<std::pair<const Namespace*, UniqueFd>> user, rest;
  for (const auto& ns : l.namespaces) {
    if (ns.path.empty() || ns.type == NamespaceType::kPid) continue;
    BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(ns.path, O_RDONLY));
    (ns.type == NamespaceType::kUser ? user : rest).emplace_back(&ns, std::move(fd));
  }
  auto join = [](const Namespace* ns, int fd) -> Status {
    if (::setns(fd, NamespaceFlag(ns->type)) < 0) {
      return Error::FromErrno(std::string("join ") + NamespaceTypeName(ns->type) + " namespace " +
                              ns->path);
    }
    return Ok();
  };
  for (auto& [ns, fd] : user) {
    BERTH_TRY(join(ns, fd.get()));
    // Our host ids mean nothing in there: become its root, which the
    // namespace's owner must have mapped.
    if (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0) {
      return Error::FromErrno("become root in user namespace " + ns->path +
                              " (container root must be mapped)");
    }
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) return Error::FromErrno("prctl(PR_SET_DUMPABLE)");
    if (unshare_flags != 0 && ::unshare(static_cast<int>(unshare_flags)) < 0) {
      return Error::FromErrno("unshare the new namespaces inside user namespace " + ns->path);
    }
  }
  for (auto& [ns, fd] : rest) BERTH_TRY(join(ns, fd.get()));
  return Ok();
}

Status ApplyRlimits(const Process& p) {
  for (const Rlimit& r : p.rlimits) {
    int resource = -1;
    for (const auto& k : kRlimits) {
      if (r.type == k.name) resource = k.resource;
    }
    if (resource < 0) return Error::Invalid("process.rlimits: unknown type \"" + r.type + "\"");
    struct rlimit lim {
      r.soft, r.hard
    };
    if (::setrlimit(resource, &lim) < 0) {
      return Error::FromErrno("set " + r.type + " to soft " + std::to_string(r.soft) + " hard " +
                              std::to_string(r.hard) +
                              (errno == EPERM ? " (above the runtime's own hard limit)" : ""));
    }
  }
  return Ok();
}

bool NamespacedSysctl(const std::string& key) {
  static const char* kPrefixes[] = {"net.", "fs.mqueue.", "kernel.shm", "kernel.msg"};
  for (const char* p : kPrefixes) {
    if (key.rfind(p, 0) == 0) return true;
  }
  return key == "kernel.sem" || key == "kernel.hostname" || key == "kernel.domainname";
}

Status ApplySysctls(const Linux& l) {
  for (const auto& [key, value] : l.sysctl) {
    if (!NamespacedSysctl(key) || key.find("..") != std::string::npos) {
      return Error::Invalid("linux.sysctl: \"" + key + "\" is not namespaced; refusing to set it");
    }
    std::string path = "/proc/sys/" + key;
    for (size_t i = 10; i < path.size(); ++i) {
      if (path[i] == '.') path[i] = '/';
    }
    BERTH_TRY(WriteFile(path, value).Wrap("linux.sysctl " + key));
  }
  return Ok();
}

Status SetHostname(const Spec& spec) {
  if (!spec.hostname.empty() && ::sethostname(spec.hostname.c_str(), spec.hostname.size()) < 0) {
    return Error::FromErrno("sethostname " + spec.hostname);
  }
  if (!spec.domainname.empty() &&
      ::setdomainname(spec.domainname.c_str(), spec.domainname.size()) < 0) {
    return Error::FromErrno("setdomainname " + spec.domainname);
  }
  return Ok();
}

// A new network namespace starts with lo down; runc and crun bring it up so
// the container can reach its own services on 127.0.0.1.
Status BringUpLoopback(const Linux& l) {
  bool fresh = false;
  for (const auto& ns : l.namespaces) {
    if (ns.type == NamespaceType::kNetwork && ns.path.empty()) fresh = true;
  }
  if (!fresh) return Ok();
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return Error::FromErrno("socket for lo");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) return Error::FromErrno("SIOCGIFFLAGS lo");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) < 0) return Error::FromErrno("bring up lo");
  return Ok();
}

// runc creates a missing cwd, before root.readonly makes / read-only.
Status MakeCwd(const Process& p) {
  struct stat st {};
  if (::stat(p.cwd.c_str(), &st) == 0 || errno != ENOENT) return Ok();
  return MakeDirs(p.cwd).Wrap("create process.cwd");
}

Status ChangeDir(const Process& p) {
  if (::chdir(p.cwd.c_str()) == 0) return Ok();
  return Error::FromErrno("chdir to process.cwd " + p.cwd);
}

// Stage list; each failure is reported as is to the parent.
Status SetUp(const ChildConfig& c, std::optional<SeccompFilter>* late_seccomp, std::string* exe) {
  const InitOptions& o = *c.options;
  const Spec& spec = o.spec;
  const Linux& l = *spec.linux_spec;
  const Process& p = *spec.process;
  if (c.new_user_namespace) {
    BERTH_TRY(SendSync(c.sync_fd, SyncKind::kNeedIdMaps));
    BERTH_ASSIGN_OR_RETURN(SyncMessage m, ReceiveSync(c.sync_fd));
    if (m.kind != SyncKind::kIdMapsDone) return Error::Sys(EPROTO, "expected id maps");
    if (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0) {
      return Error::FromErrno("become root in the user namespace");
    }
    // The uid change cleared "dumpable", which makes /proc/self/* owned by
    // the host's root, unreachable from here; the exec fifo is reopened
    // through /proc/self/fd later (runc sets dumpable here too).
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) return Error::FromErrno("prctl(PR_SET_DUMPABLE)");
  }
  UniqueFd console;
  if (p.terminal) {
    BERTH_ASSIGN_OR_RETURN(console, ConnectConsoleSocket(o.console_socket));
  }
  BERTH_TRY(JoinNamespaces(l, c.unshare_flags));
  if (l.HasNamespace(NamespaceType::kMount)) {
    RootfsConfig rc;
    rc.rootfs = c.rootfs;
    rc.bundle = o.bundle.string();
    rc.spec = &spec;
    rc.in_user_namespace = l.HasNamespace(NamespaceType::kUser);
    BERTH_TRY(SetUpRootfs(rc).Wrap("set up rootfs " + c.rootfs));
  } else {
    return Error::Invalid("linux.namespaces: a mount namespace is required");
  }
  if (p.terminal) BERTH_TRY(SetUpTerminal(console.get(), p.console_size));
  // Before FinishRootfs: /proc/sys is usually among the readonly paths.
  BERTH_TRY(ApplySysctls(l));
  BERTH_TRY(MakeCwd(p));
  BERTH_TRY(FinishRootfs(spec));
  BERTH_TRY(SetHostname(spec));
  BERTH_TRY(BringUpLoopback(l));
  BERTH_TRY(ApplyRlimits(p));
  if (p.oom_score_adj) {
    BERTH_TRY(WriteFile("/proc/self/oom_score_adj", std::to_string(*p.oom_score_adj)));
  }
  BERTH_TRY(ChangeDir(p));
  BERTH_ASSIGN_OR_RETURN(*exe, ResolveExecutable(p));
  BERTH_TRY(PrepareFds(o.preserve_fds, {c.sync_fd, c.fifo_path_fd}));
  ProcessPlan plan{&p, l.seccomp ? &*l.seccomp : nullptr, &o.seccomp_bpf};
  BERTH_ASSIGN_OR_RETURN(bool pending, ApplyIdentity(plan));
  if (pending) {
    BERTH_ASSIGN_OR_RETURN(SeccompFilter f, FilterFor(plan));
    late_seccomp->emplace(std::move(f));
  }
  return Ok();
}

}  // namespace

void RunInitChild(const ChildConfig& c) {
  // Die with the runtime while still in setup; cleared once ready.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::optional<SeccompFilter> late_seccomp;
  std::string exe;
  Status s = SetUp(c, &late_seccomp, &exe);
  if (!s.ok()) FailChild(c.sync_fd, s.error());
  std::string fifo = "/proc/self/fd/" + std::to_string(c.fifo_path_fd);
  prctl(PR_SET_PDEATHSIG, 0);
  if (!SendSync(c.sync_fd, SyncKind::kReady).ok()) _exit(1);
  ::close(c.sync_fd);
  // Blocks until `start` opens the fifo for reading (runc's exec fifo).
  int fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    dprintf(2, "berth: open exec fifo: %s\n", strerror(errno));
    _exit(127);
  }
  if (::write(fd, "0", 1) != 1) _exit(127);
  ::close(fd);
  ::close(c.fifo_path_fd);
  ExecProcess(exe, *c.options->spec.process, &late_seccomp);
}

}  // namespace berth::runtime::container_internal
