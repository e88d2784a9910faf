#include "pod_sandbox.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <sys/mount.h>
#include <sys/syscall.h>

#include <fstream>
#include <functional>
#include <thread>

#include "qos.h"

#include "berth/cgroups/cgroup.h"
#include "berth/common/file.h"
#include "berth/common/log.h"
#include "berth/netns/namespace.h"

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;

// Runs steps' undo actions in reverse unless disarmed.
class Undo {
 public:
  ~Undo() {
    if (!armed_) return;
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) (*it)();
  }
  void Add(std::function<void()> f) { steps_.push_back(std::move(f)); }
  void Disarm() { armed_ = false; }

 private:
  std::vector<std::function<void()>> steps_;
  bool armed_ = true;
};

// A uts or ipc namespace held by a bind mount of its nsfs file, made in a
// short-lived thread (namespaces are per task), like netns::CreateNetns.
Status CreateNamespaceFile(int flag, const char* kind, const fs::path& path,
                           const std::string& hostname) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd file,
                         OpenFile(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  file.reset();
  Status result;
  std::thread t([&] {
    if (::unshare(flag) < 0) {
      result = Error::FromErrno(std::string("unshare ") + kind);
      return;
    }
    if (!hostname.empty() && ::sethostname(hostname.data(), hostname.size()) < 0) {
      result = Error::FromErrno("sethostname " + hostname);
      return;
    }
    const std::string self =
        "/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/ns/" + kind;
    if (::mount(self.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) < 0) {
      result = Error::FromErrno("bind-mount " + self + " on " + path.string());
    }
  });
  t.join();
  if (!result.ok()) ::unlink(path.c_str());
  return result;
}

void UnmountAndRemove(const fs::path& path) {
  // EINVAL: not a mount point; ENOENT: already gone.
  if (::umount2(path.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
    log::Warn("unmount failed", {{"path", path.string()}, {"errno", errno}});
  }
  std::error_code ec;
  fs::remove_all(path, ec);
}

Status MountTmpfs(const fs::path& target, std::optional<int64_t> size, mode_t mode) {
  std::string opts = "mode=" + [&] {
    char buf[8];
    (void)std::snprintf(buf, sizeof(buf), "%o", mode);
    return std::string(buf);
  }();
  if (size) opts += ",size=" + std::to_string(*size);
  if (::mount("tmpfs", target.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) < 0) {
    return Error::FromErrno("mount tmpfs on " + target.string());
  }
  return Ok();
}

const char* SourceDir(ConfigSource s) {
  return s == ConfigSource::kSecret ? "secrets" : "configmaps";
}

Status WriteKeys(const fs::path& dir, const std::map<std::string, std::string>& keys, int mode) {
  for (const auto& [key, value] : keys) {
    BERTH_TRY(WriteFileReplace(dir / key, value, static_cast<mode_t>(mode)));
  }
  return Ok();
}

Status PrepareVolume(const fs::path& config_dir, const Volume& v, const fs::path& path,
                     fs::path* host_path) {
  switch (v.kind) {
    case VolumeKind::kHostPath: {
      std::error_code ec;
      if (!fs::exists(v.source, ec)) {
        return Error::Sys(ENOENT,
                          "volume " + v.name + ": hostPath " + v.source + " does not exist");
      }
      *host_path = v.source;
      return Ok();
    }
    case VolumeKind::kEmptyDir:
      BERTH_TRY(MakeDirs(path, 0777));
      if (v.memory) BERTH_TRY(MountTmpfs(path, v.size_limit, 01777));
      *host_path = path;
      return Ok();
    case VolumeKind::kConfigMap:
    case VolumeKind::kSecret: {
      const ConfigSource src =
          v.kind == VolumeKind::kSecret ? ConfigSource::kSecret : ConfigSource::kConfigMap;
      BERTH_ASSIGN_OR_RETURN(auto keys, LoadConfigObject(config_dir, src, v.source));
      BERTH_TRY(MakeDirs(path, 0755));
      // Secrets never touch the disk: tmpfs, as kubelet does.
      if (src == ConfigSource::kSecret) BERTH_TRY(MountTmpfs(path, std::nullopt, 0755));
      BERTH_TRY(WriteKeys(path, keys, v.default_mode).Wrap("volume " + v.name));
      *host_path = path;
      return Ok();
    }
  }
  return Error::Invalid("volume " + v.name + ": unknown kind");
}

std::string HostsFile(const PodManifest& pod, const std::vector<IpPrefix>& addresses) {
  std::string s = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  for (const auto& a : addresses) s += a.address.String() + "\t" + pod.name + "\n";
  return s;
}

SandboxInfo Paths(const SandboxConfig& cfg, const PodManifest& pod) {
  SandboxInfo s;
  s.uid = pod.uid;
  s.dir = cfg.state_dir / pod.uid;
  s.cgroup_path = cfg.cgroup_root + "/pods/" + pod.uid;
  s.shim_cgroup = s.cgroup_path + "/shims";
  s.utsns = cfg.run_dir / pod.uid / "uts";
  s.ipcns = cfg.run_dir / pod.uid / "ipc";
  s.hosts_file = s.dir / "etc" / "hosts";
  s.resolv_file = s.dir / "etc" / "resolv.conf";
  for (const auto& v : pod.volumes) {
    s.volumes[v.name] =
        v.kind == VolumeKind::kHostPath ? fs::path(v.source) : s.dir / "volumes" / v.name;
  }
  return s;
}

}  // namespace

Result<std::map<std::string, std::string>> LoadConfigObject(const fs::path& config_dir,
                                                            ConfigSource source,
                                                            const std::string& name) {
  const char* kind = source == ConfigSource::kSecret ? "secret" : "configmap";
  const fs::path dir = config_dir / SourceDir(source) / name;
  std::error_code ec;
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    return Error::Invalid(std::string(kind) + " name \"" + name + "\" is not valid");
  }
  if (!fs::is_directory(dir, ec)) {
    return Error::Sys(ENOENT, std::string(kind) + " \"" + name + "\" not found in " + dir.string());
  }
  std::map<std::string, std::string> keys;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file()) continue;
    BERTH_ASSIGN_OR_RETURN(keys[e.path().filename().string()], ReadFile(e.path()));
  }
  if (ec) return Error::Sys(ec.value(), "list " + dir.string());
  return keys;
}

Result<SandboxInfo> PodSandbox::Create(const SandboxConfig& cfg, const PodManifest& pod) {
  if (cfg.network == nullptr) return Error::Invalid("pod sandbox: no pod network configured");
  SandboxInfo s = Paths(cfg, pod);
  Undo undo;
  undo.Add(
      [&cfg, uid = pod.uid] { IgnoreError(Destroy(cfg, uid), "best effort after a failure"); });

  BERTH_TRY(MakeDirs(s.dir / "etc", 0755));
  BERTH_TRY(MakeDirs(cfg.run_dir / pod.uid, 0755));
  BERTH_ASSIGN_OR_RETURN(cgroups::Cgroup cg,
                         cgroups::Cgroup::Create(cfg.cgroup_mount, s.cgroup_path));
  BERTH_ASSIGN_OR_RETURN(auto warnings, cg.Apply(PodResources(pod)));
  for (const auto& w : warnings) log::Debug(w, {{"pod", pod.name}});
  BERTH_TRY(StatusOf(cgroups::Cgroup::Create(cfg.cgroup_mount, s.shim_cgroup)));

  BERTH_TRY(CreateNamespaceFile(CLONE_NEWUTS, "uts", s.utsns, pod.name));
  BERTH_TRY(CreateNamespaceFile(CLONE_NEWIPC, "ipc", s.ipcns, ""));
  BERTH_ASSIGN_OR_RETURN(netns::PodNetworkInfo net, cfg.network->SetUpPod(pod.uid));
  s.netns = net.netns;
  s.addresses = net.addresses;
  if (!s.addresses.empty()) s.pod_ip = s.addresses.front().address.String();

  for (const auto& v : pod.volumes) {
    fs::path host;
    BERTH_TRY(PrepareVolume(ConfigDirOf(cfg, pod), v, s.dir / "volumes" / v.name, &host)
                  .Wrap("pod " + pod.namespace_ + "/" + pod.name));
    s.volumes[v.name] = host;
  }
  BERTH_TRY(WriteFileReplace(s.hosts_file, HostsFile(pod, s.addresses), 0644));
  if (!pod.resolv_conf.empty()) {
    BERTH_TRY(WriteFileReplace(s.resolv_file, pod.resolv_conf, 0644));
  } else {
    auto resolv = ReadFile("/etc/resolv.conf");
    BERTH_TRY(WriteFileReplace(s.resolv_file, resolv.ok() ? *resolv : "", 0644));
  }
  undo.Disarm();
  return s;
}

Result<SandboxInfo> PodSandbox::Open(const SandboxConfig& cfg, const PodManifest& pod) {
  SandboxInfo s = Paths(cfg, pod);
  if (!netns::IsNetns(s.utsns) || !netns::IsNetns(s.ipcns)) {
    return Error::Sys(ENOENT, "pod " + pod.uid + ": its uts/ipc namespaces are gone");
  }
  BERTH_ASSIGN_OR_RETURN(auto pods, cfg.network->ListPods());
  for (const auto& p : pods) {
    if (p.pod != pod.uid) continue;
    s.netns = p.netns;
    s.addresses = p.addresses;
    if (!s.addresses.empty()) s.pod_ip = s.addresses.front().address.String();
    return s;
  }
  return Error::Sys(ENOENT, "pod " + pod.uid + ": no network state");
}

Status PodSandbox::Destroy(const SandboxConfig& cfg, const std::string& uid) {
  const fs::path dir = cfg.state_dir / uid;
  std::error_code ec;
  if (fs::is_directory(dir / "volumes", ec)) {
    for (const auto& e : fs::directory_iterator(dir / "volumes", ec)) UnmountAndRemove(e.path());
  }
  for (const char* ns : {"uts", "ipc"}) {
    BERTH_TRY(netns::DeleteNetns(cfg.run_dir / uid / ns));
  }
  fs::remove(cfg.run_dir / uid, ec);
  if (cfg.network != nullptr) BERTH_TRY(cfg.network->TearDownPod(uid));
  cgroups::Cgroup cg(cfg.cgroup_mount, cfg.cgroup_root + "/pods/" + uid);
  if (fs::exists(cg.dir(), ec)) {
    IgnoreError(cg.Kill(), "ENOENT: raced with removal");
    IgnoreError(cg.WaitEmpty(std::chrono::seconds(10)), "Remove reports EBUSY if not empty");
    BERTH_TRY(cg.Remove());
  }
  fs::remove_all(dir, ec);
  if (ec) return Error::Sys(ec.value(), "remove " + dir.string());
  return Ok();
}

}  // namespace berth::nodeagent
