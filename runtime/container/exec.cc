// SpawnExec: a new process inside a running container. A helper child joins
// the init's cgroup and namespaces; because a pid namespace applies only to
// children, it then clones the real process with CLONE_PARENT so that the
// process is our own child (waitable) and lives in the container's pid ns.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <csignal>
#include <optional>

#include "child_sync.h"
#include "init.h"

#include "berth/common/file.h"
#include "berth/runtime/container.h"

namespace berth::runtime {
namespace {

using container_internal::FailChild;
using container_internal::ReceiveSync;
using container_internal::SendSync;
using container_internal::SyncKind;

struct NsEntry {
  const char* name;
  int flag;
};
// User first (its capabilities allow the rest), mount last-but-one so the
// earlier /proc paths still resolve on the host.
constexpr NsEntry kOrder[] = {{"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC},
                              {"uts", CLONE_NEWUTS},   {"net", CLONE_NEWNET},
                              {"pid", CLONE_NEWPID},   {"cgroup", CLONE_NEWCGROUP},
                              {"mnt", CLONE_NEWNS}};

bool SameNamespace(pid_t pid, const char* name) {
  struct stat theirs {
  }, ours{};
  std::string t = "/proc/" + std::to_string(pid) + "/ns/" + name;
  std::string o = std::string("/proc/self/ns/") + name;
  if (::stat(t.c_str(), &theirs) < 0 || ::stat(o.c_str(), &ours) < 0) return false;
  return theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev;
}

Status JoinContainer(const ExecOptions& o) {
  BERTH_TRY(WriteFile(o.cgroup_mount / o.cgroup_path.substr(1) / "cgroup.procs",
                      std::to_string(::getpid()))
                .Wrap("join cgroup " + o.cgroup_path));
  std::vector<std::pair<UniqueFd, int>> fds;
  for (const auto& ns : kOrder) {
    // Joining one's own user namespace is EINVAL; others are harmless but
    // skipped alike.
    if (SameNamespace(o.init_pid, ns.name)) continue;
    std::string path = "/proc/" + std::to_string(o.init_pid) + "/ns/" + ns.name;
    BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
    fds.emplace_back(std::move(fd), ns.flag);
  }
  for (auto& [fd, flag] : fds) {
    if (::setns(fd.get(), flag) < 0) return Error::FromErrno("setns " + std::to_string(flag));
  }
  return Ok();
}

[[noreturn]] void RunExecProcess(const ExecOptions& o, int sync_fd, int console_fd) {
  const Process& p = o.process;
  auto fail = [&](const Error& e) { FailChild(sync_fd, e); };
  if (::chdir(p.cwd.c_str()) < 0) fail(Error::FromErrno("chdir to process.cwd " + p.cwd));
  if (p.terminal) {
    Status t = container_internal::SetUpTerminal(console_fd, p.console_size);
    if (!t.ok()) fail(t.error());
  }
  auto exe = container_internal::ResolveExecutable(p);
  if (!exe.ok()) fail(exe.error());
  Status fds = container_internal::PrepareFds(o.preserve_fds, {sync_fd});
  if (!fds.ok()) fail(fds.error());
  container_internal::ProcessPlan plan{&p, o.seccomp ? &*o.seccomp : nullptr, &o.seccomp_bpf};
  auto pending = container_internal::ApplyIdentity(plan);
  if (!pending.ok()) fail(pending.error());
  std::optional<SeccompFilter> late;
  if (*pending) {
    auto f = container_internal::FilterFor(plan);
    if (!f.ok()) fail(f.error());
    late.emplace(std::move(f).value());
  }
  // sync_fd is close-on-exec: the parent's read sees EOF once exec succeeds.
  container_internal::ExecProcess(*exe, p, &late);
}

}  // namespace

Result<pid_t> SpawnExec(const ExecOptions& o) {
  if (o.process.args.empty()) return Error::Invalid("process.args: must not be empty");
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    return Error::FromErrno("socketpair");
  }
  UniqueFd parent_end(sv[0]), child_end(sv[1]);
  pid_t helper = ::fork();
  if (helper < 0) return Error::FromErrno("fork");
  if (helper == 0) {
    (void)parent_end.release();
    for (int fd = 0; fd < 3; ++fd) {
      if (o.stdio[fd] >= 0 && ::dup2(o.stdio[fd], fd) < 0) {
        FailChild(child_end.get(), Error::FromErrno("dup2 exec stdio"));
      }
    }
    UniqueFd console;
    if (o.process.terminal) {
      auto c = container_internal::ConnectConsoleSocket(o.console_socket);
      if (!c.ok()) FailChild(child_end.get(), c.error());
      console = std::move(c).value();
    }
    Status joined = JoinContainer(o);
    if (!joined.ok()) FailChild(child_end.get(), joined.error());
    struct clone_args args {};
    // clone3 refuses an exit_signal with CLONE_PARENT: the child inherits
    // ours (SIGCHLD, from fork) and reports to our parent, the caller.
    args.flags = CLONE_PARENT;
    long pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid < 0) FailChild(child_end.get(), Error::FromErrno("clone3 exec process"));
    if (pid == 0) RunExecProcess(o, child_end.get(), console.get());
    // Tell the parent the pid of its new child, then leave.
    (void)SendSync(child_end.get(), SyncKind::kReady, static_cast<int>(pid));
    _exit(0);
  }
  child_end.reset();
  int status = 0;
  while (::waitpid(helper, &status, 0) < 0 && errno == EINTR) {
  }
  // Read until EOF (the helper has exited; the process's copy of the socket
  // is close-on-exec, so EOF also means it exec'd). The process may report
  // a failure before the helper reports its pid: collect both in any order.
  pid_t pid = -1;
  std::optional<Error> failure;
  for (;;) {
    auto m = ReceiveSync(parent_end.get());
    if (!m.ok()) break;
    if (m->kind == SyncKind::kReady) {
      pid = m->err;
    } else if (m->kind == SyncKind::kError) {
      if (!failure) failure = Error::Sys(m->err, m->text);
    } else {
      if (!failure) failure = Error::Sys(EPROTO, "unexpected exec sync message");
    }
  }
  if (!failure && pid <= 0) {
    failure = Error::Sys(ECHILD, "exec helper exited without starting the process");
  }
  if (failure) {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    return std::move(*failure);
  }
  return pid;
}

}  // namespace berth::runtime
