#include "agent.h"

#include <poll.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include <algorithm>
#include <set>

#include "manifest_dir.h"
#include "pod_from_api.h"

#include "berth/api/codec.h"
#include "berth/cgroups/cgroup.h"
#include "berth/common/file.h"
#include "berth/common/log.h"
#include "berth/runtime/registry/client.h"
#include "berth/runtime/registry/hosts.h"
#include "berth/runtime/registry/pull.h"

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;

constexpr const char* kManifestCopy = "pod.yaml";  // a static pod's manifest
constexpr const char* kApiCopy = "pod.json";       // a cluster pod's API object
constexpr std::string_view kClusterSource = "berth-control";

// The manifest an earlier agent saved in a pod's state dir.
Result<PodManifest> ReadSavedManifest(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir / kApiCopy, ec)) {
    BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(dir / kApiCopy));
    BERTH_ASSIGN_OR_RETURN(v1::Object object, api::DecodeJson(text, (dir / kApiCopy).string()));
    if (!object.has_pod()) return Error::Invalid((dir / kApiCopy).string() + ": not a Pod");
    return PodManifestFromApi(object.pod());
  }
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(dir / kManifestCopy));
  return ParsePodManifest(text, (dir / kManifestCopy).string());
}

// FNV-1a, 64 bits: a stable uid for a static pod from its file and node.
std::string StaticPodUid(const std::string& content, const std::string& node) {
  uint64_t h = 14695981039346656037ULL;
  auto mix = [&](const std::string& s) {
    for (unsigned char ch : s) {
      h ^= ch;
      h *= 1099511628211ULL;
    }
  };
  mix(node);
  mix("\n");
  mix(content);
  char buf[17];
  (void)std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// The agent's own cgroup becomes the pods' root; the agent moves into the
// leaf <own>/agent so the root may enable controllers for its children
// (cgroup v2 "no internal processes").
Result<std::string> DelegatedRoot(const cgroups::Hierarchy& h) {
  const std::string root = h.self == "/" ? "" : h.self;
  if (root.empty()) return Error::Invalid("cgroupRoot: the agent runs in the root cgroup; set it");
  BERTH_ASSIGN_OR_RETURN(cgroups::Cgroup leaf, cgroups::Cgroup::Create(h.mount, root + "/agent"));
  BERTH_TRY(leaf.AddProcess(::getpid()).Wrap("move the agent into " + leaf.path()));
  return root;
}

}  // namespace

Result<std::unique_ptr<Agent>> Agent::Create(AgentConfig config) {
  std::unique_ptr<Agent> a(new Agent(std::move(config)));
  const AgentConfig& c = a->config_;
  BERTH_ASSIGN_OR_RETURN(cgroups::Hierarchy h, cgroups::Discover());
  a->cgroup_mount_ = h.mount;
  std::string root = c.cgroup_root;
  if (root.empty()) {
    BERTH_ASSIGN_OR_RETURN(root, DelegatedRoot(h));
  }
  BERTH_TRY(StatusOf(cgroups::Cgroup::Create(h.mount, root + "/pods")));
  for (const auto& dir : {c.state_dir / "pods", c.run_dir / "ns", c.log_dir}) {
    BERTH_TRY(MakeDirs(dir, 0755));
  }
  BERTH_TRY(MakeDirs(c.config_dir, 0755));
  BERTH_TRY(MakeDirs(c.manifest_dir, 0755));
  BERTH_ASSIGN_OR_RETURN(a->network_, netns::PodNetwork::Open(c.network));
  BERTH_ASSIGN_OR_RETURN(auto store, runtime::image::ImageStore::Open(c.image_store));
  a->images_.emplace(std::move(store));

  NodeContext& ctx = a->ctx_;
  ctx.sandbox.state_dir = c.state_dir / "pods";
  ctx.sandbox.run_dir = c.run_dir / "ns";
  ctx.sandbox.config_dir = c.config_dir;
  ctx.sandbox.cgroup_mount = h.mount;
  ctx.sandbox.cgroup_root = root;
  ctx.sandbox.network = a->network_.get();
  ctx.images = &*a->images_;
  ctx.shim_binary = c.shim_binary;
  ctx.node_netns = c.network.node_netns;
  ctx.log_dir = c.log_dir;
  ctx.log_max_bytes = c.log_max_bytes;
  ctx.log_max_files = c.log_max_files;
  ctx.backoff = c.backoff;
  ctx.seccomp = &a->seccomp_;
  NodeStatusInputs in;
  in.proc = "/proc";
  if (auto s = ReadNodeStatus(in); s.ok()) ctx.node_memory_bytes = s->memory_bytes;
  const runtime::image::ImageStore* images = ctx.images;
  const fs::path registries = c.registries_config;
  ctx.pull = [images, registries](const std::string& ref) -> Status {
    namespace registry = runtime::registry;
    BERTH_ASSIGN_OR_RETURN(registry::RegistryHosts hosts,
                           registry::RegistryHosts::Load(registries));
    registry::ClientOptions copts;
    const fs::path authfile = registry::CredentialStore::DefaultPath();
    BERTH_ASSIGN_OR_RETURN(copts.credentials, registry::CredentialStore::Load(authfile.string()));
    copts.credentials_path = authfile.string();
    registry::RegistryClient client(std::move(copts));
    log::Info("pulling image", {{"image", ref}});
    return StatusOf(registry::Pull(*images, client, hosts, ref, {}));
  };
  a->stop_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!a->stop_) return Error::FromErrno("eventfd");
  return a;
}

Agent::~Agent() { Shutdown(); }

Status Agent::Start() {
  // Watch first, then scan: a manifest written in between is not missed.
  auto watcher = ManifestWatcher::Open(config_.manifest_dir);
  if (watcher.ok()) {
    manifests_.emplace(std::move(watcher).value());
  } else {
    log::Error("cannot watch manifests; rescanning every second",
               {{"error", watcher.error().ToString()}});
  }
  BERTH_TRY(Sync(nullptr));
  ready_.store(true);
  watcher_ = std::thread([this] { Watch(); });
  return Ok();
}

void Agent::Shutdown() {
  if (watcher_.joinable()) {
    uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof(one));
    watcher_.join();
  }
  std::lock_guard lock(mu_);
  for (auto& [uid, w] : workers_) w->Detach();
  for (auto& w : ending_) w->Detach();
  for (auto& [uid, w] : workers_) w->Join();
  for (auto& w : ending_) w->Join();
  workers_.clear();
  ending_.clear();
}

Status Agent::Sync(const ManifestChanges* changes) {
  std::vector<fs::path> reread;
  if (changes == nullptr) {
    BERTH_ASSIGN_OR_RETURN(scan_, ScanManifestDir(config_.manifest_dir));
    for (const auto& [file, pod] : scan_.pods) reread.push_back(file);
  } else {
    for (const auto* list : {&changes->added, &changes->changed, &changes->removed}) {
      for (const auto& f : *list) {
        const fs::path file = f.is_absolute() ? f : config_.manifest_dir / f;
        RescanManifestFile(file, &scan_);
        if (scan_.pods.count(file) != 0) reread.push_back(file);
      }
    }
  }
  // A static pod's uid: its file's content and the node (kubelet hashes the
  // pod the same way), computed once per change of the file.
  for (const auto& file : reread) {
    PodManifest& pod = scan_.pods.at(file);
    if (!pod.uid.empty()) continue;
    auto text = ReadFile(file);
    pod.uid = StaticPodUid(text.ok() ? *text : pod.name, config_.node_name);
  }
  std::vector<ManifestProblem> problems;
  for (const auto& [file, err] : scan_.errors) problems.push_back({file, err.ToString()});
  // uid -> (manifest, file); a namespace/name used twice keeps the first file.
  std::map<std::string, std::pair<PodManifest, fs::path>> desired;
  std::set<std::string> names;
  for (const auto& [file, pod] : scan_.pods) {
    if (!names.insert(pod.namespace_ + "/" + pod.name).second) {
      problems.push_back({file, file.string() + ": pod " + pod.namespace_ + "/" + pod.name +
                                    " is already defined by another manifest"});
      continue;
    }
    desired.emplace(pod.uid, std::make_pair(pod, file));
  }

  std::lock_guard lock(mu_);
  for (const auto& p : problems) {
    const bool known = std::any_of(
        problems_.begin(), problems_.end(),
        [&](const ManifestProblem& q) { return q.file == p.file && q.error == p.error; });
    if (!known) log::Error("pod manifest refused", {{"file", p.file.string()}, {"error", p.error}});
  }
  problems_ = std::move(problems);
  static_pods_ = std::move(desired);
  scanned_ = true;
  Reconcile();
  return Ok();
}

void Agent::SetClusterPods(std::map<std::string, ClusterPod> pods) {
  std::lock_guard lock(mu_);
  cluster_pods_ = std::move(pods);
  cluster_listed_ = true;
  Reconcile();
}

bool Agent::Holds(const std::string& uid) const {
  std::lock_guard lock(mu_);
  if (workers_.count(uid) != 0) return true;
  return std::any_of(ending_.begin(), ending_.end(),
                     [&](const auto& w) { return w->manifest().uid == uid; });
}

void Agent::Reconcile() {
  struct Wanted {
    const PodManifest* pod;
    std::string source;       // for status: the file, or berth-control
    const char* copy;         // file name of the saved copy
    const std::string* text;  // its content (cluster pods)
    const fs::path* file;     // static pods: copied from here
  };
  std::map<std::string, Wanted> wanted;
  for (const auto& [uid, entry] : static_pods_) {
    wanted.emplace(
        uid, Wanted{&entry.first, entry.second.string(), kManifestCopy, nullptr, &entry.second});
  }
  for (const auto& [uid, cp] : cluster_pods_) {
    if (cp.deletion_grace_seconds) continue;
    wanted.emplace(
        uid, Wanted{&cp.manifest, std::string(kClusterSource), kApiCopy, &cp.api_json, nullptr});
  }
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (wanted.count(it->first) != 0) {
      ++it;
      continue;
    }
    std::optional<int64_t> grace;
    if (auto cp = cluster_pods_.find(it->first); cp != cluster_pods_.end()) {
      grace = cp->second.deletion_grace_seconds;
    }
    log::Info("pod removed",
              {{"pod", it->second->manifest().namespace_ + "/" + it->second->manifest().name}});
    it->second->Terminate(grace);
    ending_.push_back(std::move(it->second));
    it = workers_.erase(it);
  }
  for (auto& [uid, want] : wanted) {
    if (workers_.count(uid) != 0) continue;
    const fs::path dir = ctx_.sandbox.state_dir / uid;
    Status saved = MakeDirs(dir, 0700);
    if (saved.ok()) {
      auto text = want.file != nullptr ? ReadFile(*want.file) : Result<std::string>(*want.text);
      if (text.ok()) saved = WriteFileReplace(dir / want.copy, *text, 0600);
    }
    if (!saved.ok()) {
      log::Error("pod state", {{"pod", want.pod->name}, {"error", saved.error().ToString()}});
      continue;
    }
    log::Info("pod added", {{"pod", want.pod->namespace_ + "/" + want.pod->name},
                            {"uid", uid},
                            {"source", want.source}});
    auto w = std::make_unique<PodWorker>(ctx_, *want.pod, want.source);
    w->Start();
    workers_.emplace(uid, std::move(w));
  }
  if (!orphans_checked_ && scanned_ && (!config_.cluster || cluster_listed_)) {
    std::set<std::string> keep;
    for (const auto& [uid, w] : wanted) keep.insert(uid);
    for (const auto& w : ending_) keep.insert(w->manifest().uid);
    TerminateOrphans(keep);
    orphans_checked_ = true;
  }
  ReapEnded();
}

void Agent::ReapEnded() {
  for (auto it = ending_.begin(); it != ending_.end();) {
    if ((*it)->Done()) {
      (*it)->Join();
      it = ending_.erase(it);
    } else {
      ++it;
    }
  }
}

void Agent::TerminateOrphans(const std::set<std::string>& desired) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(ctx_.sandbox.state_dir, ec)) {
    const std::string uid = e.path().filename().string();
    if (desired.count(uid) != 0) continue;
    auto pod = ReadSavedManifest(e.path());
    if (!pod.ok()) {
      // Nothing to stop containers by: remove what the sandbox knows.
      log::Warn("orphan pod without manifest", {{"uid", uid}, {"error", pod.error().ToString()}});
      IgnoreError(PodSandbox::Destroy(ctx_.sandbox, uid), "best effort for an unreadable orphan");
      continue;
    }
    pod->uid = uid;
    log::Info("terminating orphan pod", {{"pod", pod->namespace_ + "/" + pod->name}, {"uid", uid}});
    auto w = std::make_unique<PodWorker>(ctx_, std::move(pod).value(), "");
    w->Start();
    w->Terminate();
    ending_.push_back(std::move(w));
  }
}

void Agent::Watch() {
  for (;;) {
    pollfd fds[2] = {{stop_.get(), POLLIN, 0}, {manifests_ ? manifests_->fd() : -1, POLLIN, 0}};
    // Wake at least every second to reap terminated pods (and to rescan
    // when inotify is unavailable).
    (void)::poll(fds, 2, 1000);
    if (fds[0].revents != 0) return;
    std::optional<ManifestChanges> changes;
    bool full = !manifests_;
    if (manifests_ && fds[1].revents != 0) {
      auto polled = manifests_->Poll();
      if (!polled.ok()) {
        log::Warn("manifest watch", {{"error", polled.error().ToString()}});
        full = true;  // events may be lost (queue overflow): rescan everything
      } else if (!polled->empty()) {
        changes = std::move(polled).value();
      }
    }
    if (full || changes) {
      Status s = Sync(full ? nullptr : &*changes);
      if (!s.ok()) log::Error("manifest sync", {{"error", s.error().ToString()}});
    } else {
      std::lock_guard lock(mu_);
      ReapEnded();
    }
  }
}

std::vector<ManifestProblem> Agent::Problems() const {
  std::lock_guard lock(mu_);
  return problems_;
}

std::vector<PodStatus> Agent::ListPods() const {
  std::lock_guard lock(mu_);
  std::vector<PodStatus> out;
  out.reserve(workers_.size());
  for (const auto& [uid, w] : workers_) out.push_back(w->Status());
  return out;
}

const PodWorker* Agent::Find(const std::string& ns, const std::string& name) const {
  for (const auto& [uid, w] : workers_) {
    if (w->manifest().namespace_ == ns && w->manifest().name == name) return w.get();
  }
  return nullptr;
}

Result<PodStatus> Agent::GetPod(const std::string& ns, const std::string& name) const {
  std::lock_guard lock(mu_);
  const PodWorker* w = Find(ns, name);
  if (w == nullptr) return Error::Sys(ENOENT, "pod " + ns + "/" + name + " not found");
  return w->Status();
}

Result<fs::path> Agent::LogPath(const std::string& ns, const std::string& pod,
                                const std::string& container, bool previous) const {
  std::lock_guard lock(mu_);
  const PodWorker* w = Find(ns, pod);
  if (w == nullptr) return Error::Sys(ENOENT, "pod " + ns + "/" + pod + " not found");
  std::string name = container;
  if (name.empty()) {
    const auto& cs = w->manifest().containers;
    if (cs.size() != 1) {
      std::string names;
      for (const auto& c : cs) names += (names.empty() ? "" : " ") + c.name;
      return Error::Invalid("a container name must be specified for pod " + pod +
                            ", choose one of: [" + names + "]");
    }
    name = cs[0].name;
  }
  return w->LogPath(name, previous);
}

Result<std::unique_ptr<ExecProcess>> Agent::StartExec(const std::string& ns, const std::string& pod,
                                                      const std::string& container,
                                                      const std::vector<std::string>& command,
                                                      bool tty, bool stdin,
                                                      std::optional<runtime::ConsoleSize> size) {
  std::lock_guard lock(mu_);
  const PodWorker* w = Find(ns, pod);
  if (w == nullptr) return Error::Sys(ENOENT, "pod " + ns + "/" + pod + " not found");
  std::string name = container.empty() ? w->manifest().containers[0].name : container;
  return w->StartExec(name, command, tty, stdin, size, config_.run_dir);
}

Result<NodeStatus> Agent::GetNodeStatus() const {
  NodeStatusInputs in;
  in.name = config_.node_name;
  in.cgroup_dir = cgroup_mount_ / ctx_.sandbox.cgroup_root.substr(1);
  in.cgroup_root = ctx_.sandbox.cgroup_root;
  in.state_dir = config_.state_dir;
  in.reserved_cpu_milli = config_.reserved_cpu_milli;
  in.reserved_memory_bytes = config_.reserved_memory_bytes;
  in.max_pods = config_.max_pods;
  {
    std::lock_guard lock(mu_);
    in.running_pods = static_cast<int>(workers_.size());
  }
  return ReadNodeStatus(in);
}

}  // namespace berth::nodeagent
