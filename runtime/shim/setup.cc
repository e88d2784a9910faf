#include "setup.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <vector>

#include "berth/common/file.h"
#include "berth/common/unique_fd.h"
#include "berth/runtime/container.h"
#include "berth/runtime/shim/cri_log.h"

namespace berth::runtime::shim {
namespace {

namespace fs = std::filesystem;

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> MakePipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return Error::FromErrno("pipe2");
  return Pipe{UniqueFd(p[0]), UniqueFd(p[1])};
}

// The fds the monitor inherits must survive execve.
Status KeepAcrossExec(int fd) {
  if (::fcntl(fd, F_SETFD, 0) < 0) return Error::FromErrno("fcntl F_SETFD");
  return Ok();
}

struct Running {
  InitProcess init;
  int64_t started_at_ns = 0;
  UniqueFd stdout_read, stderr_read;
};

// SpawnInit gives the init this process's fds 0, 1 and 2: point them at
// /dev/null and the pipes for the spawn only, so that afterwards only the
// container holds the write ends (the monitor sees EOF when it is gone).
Result<Running> CreateAndStart(const ShimConfig& c) {
  BERTH_ASSIGN_OR_RETURN(ParseResult parsed, LoadSpec(c.bundle.string()));
  InitOptions o;
  o.id = c.id;
  o.bundle = c.bundle;
  o.spec = std::move(parsed.spec);
  o.cgroup_mount = c.cgroup_mount;
  o.cgroup_path = c.cgroup_path;
  o.exec_fifo = c.state_dir / "exec.fifo";
  if (!c.seccomp_bpf.empty()) {
    BERTH_ASSIGN_OR_RETURN(o.seccomp_bpf, ReadFile(c.seccomp_bpf));
  }
  BERTH_ASSIGN_OR_RETURN(Pipe out, MakePipe());
  BERTH_ASSIGN_OR_RETURN(Pipe err, MakePipe());
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return Error::FromErrno("open /dev/null");
  UniqueFd saved_out(::fcntl(1, F_DUPFD_CLOEXEC, 3));
  UniqueFd saved_err(::fcntl(2, F_DUPFD_CLOEXEC, 3));
  ::dup2(null.get(), 0);
  ::dup2(out.write.get(), 1);
  ::dup2(err.write.get(), 2);
  Result<InitProcess> init = SpawnInit(o);
  ::dup2(saved_out ? saved_out.get() : null.get(), 1);
  ::dup2(saved_err ? saved_err.get() : null.get(), 2);
  if (!init.ok()) return std::move(init).error();
  Running r;
  r.init = std::move(init).value();
  for (const auto& w : r.init.warnings) (void)std::fprintf(stderr, "berth-shim: %s\n", w.c_str());
  r.stdout_read = std::move(out.read);
  r.stderr_read = std::move(err.read);
  Status started = StartInit(o.exec_fifo, r.init.pid);
  if (!started.ok()) {
    ::kill(r.init.pid, SIGKILL);
    ::waitpid(r.init.pid, nullptr, 0);
    return std::move(started).error();
  }
  r.started_at_ns = RealtimeNanos();
  return r;
}

void ReportError(int sync_fd, const Error& e) {
  std::string msg = e.Chain();
  for (char& ch : msg) {
    if (ch == '\n') ch = ' ';
  }
  std::string line = "error " + std::to_string(e.err()) + " " + msg + "\n";
  (void)!::write(sync_fd, line.data(), line.size());
}

Status Setup(const SetupOptions& options) {
  const ShimConfig& c = options.config;
  if (!c.shim_cgroup.empty()) {
    BERTH_TRY(WriteFile(c.cgroup_mount / c.shim_cgroup.substr(c.shim_cgroup[0] == '/' ? 1 : 0) /
                            "cgroup.procs",
                        "0")
                  .Wrap("move the shim into its cgroup"));
  }
  BERTH_ASSIGN_OR_RETURN(Running r, CreateAndStart(c));
  ShimState state;
  state.shim_pid = ::getpid();
  state.init_pid = r.init.pid;
  state.init_start_time = r.init.start_time;
  state.started_at_ns = r.started_at_ns;
  Result<uint64_t> own_start = ProcessStartTime(state.shim_pid);
  Status saved = own_start.ok() ? Ok() : Status(own_start.error());
  if (saved.ok()) {
    state.shim_start_time = *own_start;
    // No fsync: shim.state only matters while the shim's processes live, and
    // they do not survive a power loss; the exit file is written durably.
    saved = WriteFileDurably((c.state_dir / kShimStateFile).string(), FormatShimState(state),
                             /*sync=*/false);
  }
  for (int fd : {r.stdout_read.get(), r.stderr_read.get(), options.sync_fd}) {
    if (saved.ok()) saved = KeepAcrossExec(fd);
  }
  if (saved.ok()) {
    const fs::path cgroup_dir =
        c.cgroup_mount / c.cgroup_path.substr(!c.cgroup_path.empty() && c.cgroup_path[0] == '/');
    std::vector<std::string> args = {
        "berth-shim-monitor",
        "--init-pid",
        std::to_string(r.init.pid),
        "--started-at",
        std::to_string(r.started_at_ns),
        "--stdout-fd",
        std::to_string(r.stdout_read.get()),
        "--stderr-fd",
        std::to_string(r.stderr_read.get()),
        "--ready-fd",
        std::to_string(options.sync_fd),
        "--log-path",
        c.log_path.string(),
        "--log-max-bytes",
        std::to_string(c.log_max_bytes),
        "--log-max-files",
        std::to_string(c.log_max_files),
        "--exit-file",
        (c.state_dir / kExitFile).string(),
        "--memory-events",
        (cgroup_dir / "memory.events").string(),
    };
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(options.monitor.c_str(), argv.data());
    saved = Error::FromErrno("exec " + options.monitor.string());
  }
  // The container must not outlive a shim that cannot watch it.
  ::kill(r.init.pid, SIGKILL);
  ::waitpid(r.init.pid, nullptr, 0);
  return saved;
}

}  // namespace

Status RunShimSetup(const SetupOptions& options) {
  // Daemonize: the agent's direct child exits at once, so the shim is
  // reparented to init and survives the agent (see StartShim).
  pid_t pid = ::fork();
  if (pid < 0) {
    Error e = Error::FromErrno("fork");
    ReportError(options.sync_fd, e);
    return e;
  }
  if (pid > 0) ::_exit(0);
  ::setsid();
  Status s = Setup(options).Wrap("container " + options.config.id);
  if (!s.ok()) ReportError(options.sync_fd, s.error());
  return s;
}

}  // namespace berth::runtime::shim
