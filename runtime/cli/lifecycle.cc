// create, start, run, kill, delete: the verbs that change a container's life.
#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <sys/wait.h>

#include <climits>
#include <csignal>
#include <cstring>
#include <ctime>

#include "state.h"
#include "verbs.h"

#include "berth/cgroups/cgroup.h"
#include "berth/common/clock.h"
#include "berth/common/file.h"
#include "berth/common/log.h"
#include "berth/runtime/container.h"

namespace berth::runtime::cli {
namespace {

Status WritePidFile(const std::string& path, pid_t pid) {
  if (path.empty()) return Ok();
  return WriteFileAtomic(path, std::to_string(pid), 0644).Wrap("--pid-file");
}

// Removes the reserved state directory unless the create succeeded.
class ReservationGuard {
 public:
  ReservationGuard(const StateStore& store, std::string id) : store_(store), id_(std::move(id)) {}
  ~ReservationGuard() {
    if (!id_.empty()) IgnoreError(store_.Remove(id_), "best effort: create already failed");
  }
  ReservationGuard(const ReservationGuard&) = delete;
  ReservationGuard& operator=(const ReservationGuard&) = delete;
  void Commit() { id_.clear(); }

 private:
  const StateStore& store_;
  std::string id_;
};

Result<ContainerState> CreateContainer(const GlobalOptions& g, const CreateFlags& f) {
  BERTH_TRY(ValidateId(f.id));
  char bundle_real[PATH_MAX];
  if (::realpath(f.bundle.c_str(), bundle_real) == nullptr) {
    return Error::FromErrno("bundle " + f.bundle);
  }
  BERTH_ASSIGN_OR_RETURN(ParseResult parsed, LoadSpec(bundle_real));
  for (const auto& u : parsed.unsupported) {
    log::Warn("unsupported field ignored", {{"field", u}, {"id", f.id}});
  }
  BERTH_ASSIGN_OR_RETURN(cgroups::Hierarchy h, cgroups::Discover());
  StateStore store(g.root);
  BERTH_TRY(store.Reserve(f.id));
  ReservationGuard guard(store, f.id);

  InitOptions o;
  o.id = f.id;
  o.bundle = bundle_real;
  o.spec = std::move(parsed.spec);
  o.cgroup_mount = h.mount;
  o.cgroup_path =
      ResolveCgroupPath(o.spec.linux_spec ? o.spec.linux_spec->cgroups_path : "", h.self, f.id);
  o.exec_fifo = store.Fifo(f.id);
  o.console_socket = f.console_socket;
  o.preserve_fds = f.preserve_fds;
  BERTH_ASSIGN_OR_RETURN(InitProcess init, SpawnInit(o));

  ContainerState s;
  s.id = f.id;
  s.pid = init.pid;
  s.start_time = init.start_time;
  s.bundle = bundle_real;
  std::filesystem::path root = o.spec.root.path;
  s.rootfs = root.is_absolute() ? root.string() : (o.bundle / root).string();
  s.created = NowRfc3339Nano();
  struct passwd* pw = getpwuid(geteuid());
  s.owner = pw != nullptr ? pw->pw_name : std::to_string(geteuid());
  s.cgroup_mount = h.mount;
  s.cgroup_path = o.cgroup_path;
  s.annotations = o.spec.annotations;
  Status saved = store.Save(s);
  if (saved.ok()) saved = WritePidFile(f.pid_file, init.pid);
  if (!saved.ok()) {
    ::kill(init.pid, SIGKILL);
    cgroups::Cgroup cg(h.mount, o.cgroup_path);
    IgnoreError(cg.WaitEmpty(std::chrono::seconds(5)), "best effort before removal");
    IgnoreError(cg.Remove(), "best effort: the save error is what the user needs");
    return std::move(saved).error();
  }
  guard.Commit();
  return s;
}

Result<ContainerState> LoadLive(const StateStore& store, const std::string& id,
                                ContainerStatus* status) {
  BERTH_ASSIGN_OR_RETURN(ContainerState s, store.Load(id));
  *status = ComputeStatus(Observe(s, store.Fifo(id)));
  return s;
}

// Exit code of a waited-for process, as a shell reports it.
int ExitCode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

pid_t g_forward_pid = 0;
void ForwardSignal(int sig) {
  if (g_forward_pid > 0) ::kill(g_forward_pid, sig);
}

// Forwards terminal/job-control signals to `pid` while we wait for it.
void InstallForwarding(pid_t pid) {
  g_forward_pid = pid;
  struct sigaction sa {};
  sa.sa_handler = ForwardSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) {
    sigaction(sig, &sa, nullptr);
  }
}

}  // namespace

std::string ResolveCgroupPath(const std::string& cgroups_path, const std::string& self,
                              const std::string& id) {
  if (cgroups_path.empty()) return "/berth/" + id;
  if (cgroups_path[0] == '/') return cgroups_path;
  std::string base = self == "/" ? "" : self;
  return base + "/" + cgroups_path;
}

Result<int> Create(const GlobalOptions& g, const CreateFlags& f) {
  BERTH_ASSIGN_OR_RETURN(ContainerState s, CreateContainer(g, f));
  log::Debug("created", {{"id", s.id}, {"pid", s.pid}});
  return 0;
}

Result<int> Start(const GlobalOptions& g, const std::string& id) {
  StateStore store(g.root);
  ContainerStatus status;
  BERTH_ASSIGN_OR_RETURN(ContainerState s, LoadLive(store, id, &status));
  if (status != ContainerStatus::kCreated) {
    return Error::Invalid("cannot start container \"" + id + "\" in state " + StatusName(status));
  }
  BERTH_TRY(StartInit(store.Fifo(id), s.pid));
  return 0;
}

Result<int> Run(const GlobalOptions& g, const RunFlags& f) {
  BERTH_ASSIGN_OR_RETURN(ContainerState s, CreateContainer(g, f.create));
  StateStore store(g.root);
  Status started = StartInit(store.Fifo(s.id), s.pid);
  if (!started.ok()) {
    IgnoreError(Delete(g, s.id, true), "the start error is reported instead");
    return std::move(started).error();
  }
  if (f.detach) return 0;
  InstallForwarding(s.pid);
  int wait_status = 0;
  while (::waitpid(s.pid, &wait_status, 0) < 0) {
    if (errno != EINTR) return Error::FromErrno("wait for container " + s.id);
  }
  if (!f.keep) BERTH_TRY(Delete(g, s.id, true).Wrap("delete after run"));
  return ExitCode(wait_status);
}

Result<int> Kill(const GlobalOptions& g, const std::string& id, const std::string& signal,
                 bool all) {
  BERTH_ASSIGN_OR_RETURN(int sig, ParseSignal(signal));
  StateStore store(g.root);
  ContainerStatus status;
  BERTH_ASSIGN_OR_RETURN(ContainerState s, LoadLive(store, id, &status));
  if (status == ContainerStatus::kStopped) {
    return Error::Sys(ESRCH, "container \"" + id + "\" is not running");
  }
  cgroups::Cgroup cg(s.cgroup_mount, s.cgroup_path);
  if (all) {
    if (sig == SIGKILL) {
      BERTH_TRY(cg.Kill());
      return 0;
    }
    BERTH_ASSIGN_OR_RETURN(std::vector<pid_t> pids, cg.Processes());
    for (pid_t p : pids) {
      if (::kill(p, sig) < 0 && errno != ESRCH)
        return Error::FromErrno("kill " + std::to_string(p));
    }
    return 0;
  }
  if (::kill(s.pid, sig) < 0) return Error::FromErrno("kill " + std::to_string(s.pid));
  return 0;
}

Result<int> Delete(const GlobalOptions& g, const std::string& id, bool force) {
  StateStore store(g.root);
  ContainerStatus status;
  BERTH_ASSIGN_OR_RETURN(ContainerState s, LoadLive(store, id, &status));
  BERTH_ASSIGN_OR_RETURN(UniqueFd lock, store.Lock(id));
  cgroups::Cgroup cg(s.cgroup_mount, s.cgroup_path);
  if (status != ContainerStatus::kStopped) {
    if (!force) {
      return Error::Sys(EBUSY, "cannot delete container \"" + id +
                                   "\" that is not stopped: " + StatusName(status));
    }
    if (status == ContainerStatus::kPaused) {
      IgnoreError(cg.Thaw(), "SIGKILL reaches frozen tasks anyway; thaw only speeds it");
    }
    BERTH_TRY(cg.Kill());
  }
  auto empty = cg.WaitEmpty(std::chrono::seconds(10));
  if (!empty.ok() && empty.error().err() != ENOENT) return std::move(empty).error();
  BERTH_TRY(cg.Remove());
  BERTH_TRY(store.Remove(id));
  return 0;
}

}  // namespace berth::runtime::cli
