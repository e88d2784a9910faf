#include "container_instance.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <sys/syscall.h>
#include <sys/wait.h>

#include <csignal>
#include <cstring>

#include "container_spec.h"
#include "image_user.h"

#include "berth/cgroups/cgroup.h"
#include "berth/common/file.h"
#include "berth/common/log.h"
#include "berth/runtime/container.h"
#include "berth/runtime/image/gc.h"
#include "berth/runtime/image/overlay.h"
#include "berth/runtime/image/rootfs.h"

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;
namespace image = runtime::image;
namespace shim = runtime::shim;

constexpr const char* kStopSignalAnnotation = "io.berth.stop-signal";
// linux.seccomp of config.json, compiled (SeccompCache).
constexpr const char* kSeccompProgram = "seccomp.bpf";

Result<UniqueFd> PidfdOpen(pid_t pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return Error::FromErrno("pidfd_open " + std::to_string(pid));
  return UniqueFd(fd);
}

int ParseSignal(const std::string& name) {
  if (name.empty()) return SIGTERM;
  std::string n = name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
  if (!n.empty() && n.find_first_not_of("0123456789") == std::string::npos) return std::stoi(n);
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev != nullptr && n == abbrev) return sig;
  }
  return SIGTERM;
}

// The container's environment from the manifest: literal values, then
// ConfigMap/Secret keys (valueFrom), with envFrom keys first as Kubernetes
// orders them (explicit env wins over envFrom).
Result<std::vector<std::string>> ResolveEnv(const fs::path& config_dir, const ContainerSpec& c) {
  std::vector<std::string> env;
  for (const auto& from : c.env_from) {
    auto keys = LoadConfigObject(config_dir, from.source, from.name);
    if (!keys.ok()) {
      if (from.optional && keys.error().err() == ENOENT) continue;
      return std::move(keys).error();
    }
    for (const auto& [k, v] : *keys) {
      std::string kv = from.prefix;
      kv.append(k).append("=").append(v);
      env.push_back(std::move(kv));
    }
  }
  for (const auto& e : c.env) {
    if (!e.value_from) {
      env.push_back(e.name + "=" + e.value);
      continue;
    }
    const KeyRef& ref = *e.value_from;
    auto keys = LoadConfigObject(config_dir, ref.source, ref.name);
    if (!keys.ok()) {
      if (ref.optional && keys.error().err() == ENOENT) continue;
      return std::move(keys).error().Wrap("env " + e.name);
    }
    auto it = keys->find(ref.key);
    if (it == keys->end()) {
      if (ref.optional) continue;
      return Error::Sys(
          ENOENT, "env " + e.name + ": key \"" + ref.key + "\" not found in " +
                      (ref.source == ConfigSource::kSecret ? "secret " : "configmap ") + ref.name);
    }
    env.push_back(e.name + "=" + it->second);
  }
  return env;
}

std::vector<BindMount> Mounts(const SandboxInfo& sb, const ContainerSpec& c) {
  std::vector<BindMount> mounts;
  for (const auto& vm : c.volume_mounts) {
    auto it = sb.volumes.find(vm.name);
    if (it != sb.volumes.end())
      mounts.push_back({it->second.string(), vm.mount_path, vm.read_only});
  }
  mounts.push_back({sb.hosts_file.string(), "/etc/hosts", false});
  mounts.push_back({sb.resolv_file.string(), "/etc/resolv.conf", false});
  return mounts;
}

// Where a container start spends its time, for the debug log.
class PhaseTimer {
 public:
  void Mark(const char* phase) {
    const auto now = std::chrono::steady_clock::now();
    summary_ +=
        (summary_.empty() ? "" : ",") + std::string(phase) + ":" +
        std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now - last_).count());
    last_ = now;
  }
  const std::string& Summary() const { return summary_; }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  std::string summary_;
};

// Unmounts and releases whatever Start made, in reverse.
struct StartUndo {
  const image::ImageStore* store = nullptr;
  std::string lease;
  fs::path rootfs, dir;
  std::string cgroup;
  fs::path cgroup_mount;
  bool armed = true;
  ~StartUndo() {
    if (!armed) return;
    if (!rootfs.empty()) IgnoreError(image::UnmountOverlay(rootfs, true), "undo: best effort");
    if (!lease.empty()) IgnoreError(image::RemoveLease(*store, lease), "undo: best effort");
    if (!cgroup.empty()) {
      cgroups::Cgroup cg(cgroup_mount, cgroup);
      IgnoreError(cg.Kill(), "ENOENT: the shim never created it");
      IgnoreError(cg.WaitEmpty(std::chrono::seconds(5)), "undo: best effort");
      IgnoreError(cg.Remove(), "undo: best effort");
    }
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

}  // namespace

fs::path ContainerInstance::Dir(const InstanceRef& ref) {
  return ref.sandbox->dir / "containers" / ref.spec->name / std::to_string(ref.restart);
}

std::string ContainerInstance::LeaseId(const InstanceRef& ref) {
  return "pod-" + ref.pod->uid + "-" + ref.spec->name + "-" + std::to_string(ref.restart);
}

fs::path ContainerInstance::LogPath(const InstanceRef& ref) {
  return ref.ctx->log_dir / (ref.pod->namespace_ + "_" + ref.pod->name + "_" + ref.pod->uid) /
         ref.spec->name / (std::to_string(ref.restart) + ".log");
}

std::optional<int> ContainerInstance::LatestInstance(const InstanceRef& ref) {
  std::optional<int> latest;
  std::error_code ec;
  const fs::path dir = ref.sandbox->dir / "containers" / ref.spec->name;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) continue;
    const int v = std::stoi(n);
    if (!latest || v > *latest) latest = v;
  }
  return latest;
}

std::optional<shim::ExitStatus> ContainerInstance::RecordedExit(const InstanceRef& ref) {
  auto st = shim::ReadExitStatus(Dir(ref));
  return st.ok() ? *st : std::nullopt;
}

Result<ContainerInstance> ContainerInstance::Start(const InstanceRef& ref, QosClass qos,
                                                   const std::string& pidns) {
  const NodeContext& ctx = *ref.ctx;
  const ContainerSpec& c = *ref.spec;
  PhaseTimer timer;
  Result<image::Image> img = image::LoadImage(*ctx.images, c.image);
  if (!img.ok() && img.error().err() == ENOENT && ctx.pull) {
    BERTH_TRY(ctx.pull(c.image).Wrap("pull " + c.image));
    img = image::LoadImage(*ctx.images, c.image);
  }
  if (!img.ok()) return std::move(img).error();
  BERTH_ASSIGN_OR_RETURN(image::ImageRootfs layers, image::PrepareRootfs(*ctx.images, *img));
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> env,
                         ResolveEnv(ConfigDirOf(ctx.sandbox, *ref.pod), c));
  timer.Mark("image");

  StartUndo undo;
  undo.store = ctx.images;
  const fs::path dir = Dir(ref);
  std::error_code ec;
  fs::remove_all(dir, ec);  // a half-made instance from a crash
  undo.dir = dir;
  BERTH_TRY(MakeDirs(dir / "upper", 0755));
  BERTH_TRY(MakeDirs(dir / "work", 0700));
  BERTH_TRY(MakeDirs(dir / "rootfs", 0755));
  BERTH_TRY(MakeDirs(LogPath(ref).parent_path(), 0755));
  const std::string lease = LeaseId(ref);
  BERTH_TRY(image::AddLease(*ctx.images, lease, img->config.diff_ids));
  undo.lease = lease;
  image::OverlayMount mount;
  mount.lowerdirs = layers.lowerdirs;
  mount.upperdir = dir / "upper";
  mount.workdir = dir / "work";
  mount.target = dir / "rootfs";
  BERTH_TRY(image::MountOverlay(mount));
  undo.rootfs = mount.target;
  timer.Mark("rootfs");

  ContainerPlan plan;
  plan.pod = ref.pod;
  plan.container = &c;
  plan.image = &img->config;
  BERTH_ASSIGN_OR_RETURN(plan.image_user, ResolveImageUser(mount.target, img->config.user));
  plan.rootfs = mount.target.string();
  plan.netns = ref.sandbox->netns.string();
  plan.utsns = ref.sandbox->utsns.string();
  plan.ipcns = ref.sandbox->ipcns.string();
  plan.pidns = pidns;
  plan.mounts = Mounts(*ref.sandbox, c);
  plan.env = std::move(env);
  plan.qos = qos;
  plan.node_memory_bytes = ctx.node_memory_bytes;
  BERTH_ASSIGN_OR_RETURN(runtime::Spec spec, BuildContainerSpec(plan));
  spec.annotations[kStopSignalAnnotation] = img->config.stop_signal;
  if (ctx.seccomp != nullptr && spec.linux_spec->seccomp) {
    BERTH_ASSIGN_OR_RETURN(std::string program, ctx.seccomp->Program(*spec.linux_spec->seccomp));
    BERTH_TRY(WriteFileReplace(dir / kSeccompProgram, program, 0600));
  }
  BERTH_TRY(WriteFileReplace(dir / "config.json", runtime::SpecToJson(spec), 0600));
  timer.Mark("spec");

  ContainerInstance inst;
  inst.ref_ = ref;
  inst.cgroup_ = PodSandbox::ContainerCgroup(*ref.sandbox, c.name);
  inst.stop_signal_ = ParseSignal(img->config.stop_signal);
  undo.cgroup = inst.cgroup_;
  undo.cgroup_mount = ctx.sandbox.cgroup_mount;
  shim::ShimConfig sc;
  sc.id = ref.pod->namespace_ + "/" + ref.pod->name + "/" + c.name;
  sc.bundle = dir;
  sc.cgroup_mount = ctx.sandbox.cgroup_mount;
  sc.cgroup_path = inst.cgroup_;
  sc.shim_cgroup = ref.sandbox->shim_cgroup;
  sc.state_dir = dir;
  sc.log_path = LogPath(ref);
  sc.log_max_bytes = ctx.log_max_bytes;
  sc.log_max_files = ctx.log_max_files;
  if (ctx.seccomp != nullptr && spec.linux_spec->seccomp) sc.seccomp_bpf = dir / kSeccompProgram;
  BERTH_ASSIGN_OR_RETURN(inst.shim_, shim::StartShim(ctx.shim_binary, sc, ctx.shim_start_timeout));
  auto pidfd = PidfdOpen(inst.shim_.shim_pid);
  if (!pidfd.ok()) {
    ::kill(inst.shim_.init_pid, SIGKILL);
    return std::move(pidfd).error();
  }
  inst.shim_pidfd_ = std::move(pidfd).value();
  undo.armed = false;
  timer.Mark("shim");
  log::Debug("container started", {{"container", c.name}, {"phases_us", timer.Summary()}});
  return inst;
}

Result<ContainerInstance> ContainerInstance::Adopt(const InstanceRef& ref) {
  const fs::path dir = Dir(ref);
  BERTH_ASSIGN_OR_RETURN(shim::ShimState st, shim::ReadShimState(dir));
  ContainerInstance inst;
  inst.ref_ = ref;
  inst.shim_ = st;
  inst.cgroup_ = PodSandbox::ContainerCgroup(*ref.sandbox, ref.spec->name);
  // The pidfd first, then the start time: once the pidfd is open the pid
  // cannot be reused, so a matching start time proves it is our shim.
  auto pidfd = PidfdOpen(st.shim_pid);
  if (pidfd.ok()) {
    auto start = runtime::ProcessStartTime(st.shim_pid);
    if (start.ok() && *start == st.shim_start_time) inst.shim_pidfd_ = std::move(pidfd).value();
  }
  if (!inst.shim_pidfd_) {
    // The shim is gone: its exit file says how the container ended.
    auto exit = shim::ReadExitStatus(dir);
    if (!exit.ok() || !exit->has_value()) {
      return Error::Sys(ESRCH, "container " + ref.spec->name + ": shim " +
                                   std::to_string(st.shim_pid) + " is gone without an exit record");
    }
  }
  if (auto spec = runtime::LoadSpec(dir.string()); spec.ok()) {
    auto it = spec->spec.annotations.find(kStopSignalAnnotation);
    if (it != spec->spec.annotations.end()) inst.stop_signal_ = ParseSignal(it->second);
  }
  return inst;
}

Result<std::optional<shim::ExitStatus>> ContainerInstance::Exit() const {
  return shim::ReadExitStatus(Dir(ref_));
}

Status ContainerInstance::Signal(int sig) const {
  // Signal through a pidfd of the init so a recycled pid is never hit.
  auto fd = PidfdOpen(shim_.init_pid);
  if (!fd.ok()) return fd.error().err() == ESRCH ? Ok() : Status(std::move(fd).error());
  auto start = runtime::ProcessStartTime(shim_.init_pid);
  if (!start.ok() || *start != shim_.init_start_time) return Ok();  // already gone
  if (::syscall(SYS_pidfd_send_signal, fd->get(), sig, nullptr, 0) < 0 && errno != ESRCH) {
    return Error::FromErrno("signal container " + ref_.spec->name);
  }
  return Ok();
}

Status ContainerInstance::KillAll() const {
  cgroups::Cgroup cg(ref_.ctx->sandbox.cgroup_mount, cgroup_);
  Status s = cg.Kill();
  if (!s.ok() && s.error().err() == ENOENT) return Ok();
  return s;
}

Result<runtime::ExecOptions> ContainerInstance::ExecOptionsFor(
    const std::vector<std::string>& command) const {
  if (command.empty()) return Error::Invalid("exec: a command is required");
  BERTH_ASSIGN_OR_RETURN(runtime::ParseResult parsed, runtime::LoadSpec(Dir(ref_).string()));
  runtime::ExecOptions o;
  o.init_pid = shim_.init_pid;
  o.cgroup_mount = ref_.ctx->sandbox.cgroup_mount;
  o.cgroup_path = cgroup_;
  o.process = *parsed.spec.process;
  o.process.args = command;
  if (parsed.spec.linux_spec) o.seccomp = parsed.spec.linux_spec->seccomp;
  if (o.seccomp) {
    auto program = ReadFile(Dir(ref_) / kSeccompProgram);
    if (program.ok()) o.seccomp_bpf = std::move(program).value();  // else compile it
  }
  return o;
}

Result<ExecResult> ContainerInstance::Exec(const std::vector<std::string>& command,
                                           std::chrono::milliseconds timeout) const {
  BERTH_ASSIGN_OR_RETURN(runtime::ExecOptions o, ExecOptionsFor(command));
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return Error::FromErrno("pipe2");
  UniqueFd out_r(p[0]), out_w(p[1]);
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  o.stdio[0] = null.get();
  o.stdio[1] = out_w.get();
  o.stdio[2] = out_w.get();
  BERTH_ASSIGN_OR_RETURN(pid_t pid, runtime::SpawnExec(o));
  out_w.reset();
  ExecResult r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{out_r.get(), POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[4096];
    ssize_t got = ::read(out_r.get(), buf, sizeof(buf));
    if (got <= 0) break;  // EOF: every holder of the pipe is gone
    if (r.output.size() < (1 << 20)) r.output.append(buf, static_cast<size_t>(got));
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Error::Sys(ETIMEDOUT, "exec in " + ref_.spec->name + ": timed out after " +
                                     std::to_string(timeout.count()) + " ms");
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

Status ContainerInstance::Cleanup() {
  if (cleaned_) return Ok();
  const fs::path dir = Dir(ref_);
  cgroups::Cgroup cg(ref_.ctx->sandbox.cgroup_mount, cgroup_);
  IgnoreError(cg.Kill(), "ENOENT: already removed");
  IgnoreError(cg.WaitEmpty(std::chrono::seconds(10)), "Remove reports EBUSY");
  BERTH_TRY(cg.Remove());
  Status unmounted = runtime::image::UnmountOverlay(dir / "rootfs", true);
  if (!unmounted.ok() && unmounted.error().err() != EINVAL && unmounted.error().err() != ENOENT) {
    return unmounted;
  }
  BERTH_TRY(runtime::image::RemoveLease(*ref_.ctx->images, LeaseId(ref_)));
  std::error_code ec;
  for (const char* sub : {"rootfs", "upper", "work"}) fs::remove_all(dir / sub, ec);
  cleaned_ = true;
  return Ok();
}

}  // namespace berth::nodeagent
