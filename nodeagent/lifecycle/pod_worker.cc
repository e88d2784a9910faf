#include "pod_worker.h"

#include <poll.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include <csignal>
#include <future>

#include "prober.h"

#include "berth/common/log.h"
#include "berth/netns/namespace.h"
#include "berth/runtime/shim/cri_log.h"

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

// How long a retry of a failed sandbox set-up waits.
constexpr milliseconds kSandboxRetry{2000};
// After cgroup.kill, how long to wait for the shim to record the exit.
constexpr milliseconds kKillWait{5000};

ContainerState Terminated(const runtime::shim::ExitStatus& e) {
  ContainerState s;
  s.kind = ContainerState::Kind::kTerminated;
  s.exit_code = e.exit_code;
  s.signal = e.signal;
  s.started_at_ns = e.started_at_ns;
  s.finished_at_ns = e.finished_at_ns;
  s.reason = e.oom_killed ? "OOMKilled" : (e.exit_code == 0 ? "Completed" : "Error");
  return s;
}

ContainerState Waiting(std::string reason, std::string message = "") {
  ContainerState s;
  s.kind = ContainerState::Kind::kWaiting;
  s.reason = std::move(reason);
  s.message = std::move(message);
  return s;
}

// Kubernetes' reasons for a container that could not be created.
std::string StartFailureReason(const Error& e) {
  const std::string text = e.ToString();
  if (text.find("pull ") != std::string::npos || text.find("load image") != std::string::npos) {
    return "ErrImagePull";
  }
  if (text.find("configmap") != std::string::npos || text.find("secret") != std::string::npos) {
    return "CreateContainerConfigError";
  }
  return "CreateContainerError";
}

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

}  // namespace

PodWorker::PodWorker(const NodeContext& ctx, PodManifest pod, std::string source)
    : ctx_(ctx),
      pod_(std::move(pod)),
      source_(std::move(source)),
      qos_(PodQosClass(pod_)),
      grace_seconds_(pod_.termination_grace_period_seconds) {
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  auto add = [&](const ContainerSpec& c, bool init) {
    Slot s;
    s.spec = &c;
    s.init = init;
    s.backoff = CrashBackoff(ctx_.backoff);
    s.status.name = c.name;
    s.status.image = c.image;
    s.status.init = init;
    s.status.state = Waiting("PodInitializing");
    slots_.push_back(std::move(s));
  };
  for (const auto& c : pod_.init_containers) add(c, true);
  for (const auto& c : pod_.containers) add(c, false);
  status_.name = pod_.name;
  status_.namespace_ = pod_.namespace_;
  status_.uid = pod_.uid;
  status_.source = source_;
  status_.labels = pod_.labels;
  status_.qos_class = QosClassName(qos_);
}

PodWorker::~PodWorker() {
  if (thread_.joinable()) {
    Detach();
    Join();
  }
}

void PodWorker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void PodWorker::Terminate(std::optional<int64_t> grace_seconds) {
  if (grace_seconds) grace_seconds_.store(std::max<int64_t>(0, *grace_seconds));
  mode_.store(Mode::kTerminate);
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof(one));
}

void PodWorker::Detach() {
  Mode expected = Mode::kRun;
  mode_.compare_exchange_strong(expected, Mode::kDetach);
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof(one));
}

void PodWorker::Join() {
  if (thread_.joinable()) thread_.join();
}

PodStatus PodWorker::Status() const {
  std::lock_guard lock(mu_);
  PodStatus s = status_;
  s.init_containers.clear();
  s.containers.clear();
  for (const auto& slot : slots_)
    (slot.init ? s.init_containers : s.containers).push_back(slot.status);
  return s;
}

Result<std::shared_ptr<ContainerInstance>> PodWorker::Running(const std::string& container) const {
  std::lock_guard lock(mu_);
  for (const auto& slot : slots_) {
    if (slot.spec->name != container) continue;
    if (!slot.running) {
      return Error::Sys(ENOENT, "container " + container + " of pod " + pod_.namespace_ + "/" +
                                    pod_.name + " is not running");
    }
    return slot.running;
  }
  return Error::Sys(ENOENT,
                    "pod " + pod_.namespace_ + "/" + pod_.name + " has no container " + container);
}

Result<ExecResult> PodWorker::Exec(const std::string& container,
                                   const std::vector<std::string>& command,
                                   milliseconds timeout) const {
  BERTH_ASSIGN_OR_RETURN(std::shared_ptr<ContainerInstance> inst, Running(container));
  return inst->Exec(command, timeout);
}

Result<std::unique_ptr<ExecProcess>> PodWorker::StartExec(const std::string& container,
                                                          const std::vector<std::string>& command,
                                                          bool tty, bool stdin,
                                                          std::optional<runtime::ConsoleSize> size,
                                                          const fs::path& socket_dir) const {
  BERTH_ASSIGN_OR_RETURN(std::shared_ptr<ContainerInstance> inst, Running(container));
  BERTH_ASSIGN_OR_RETURN(runtime::ExecOptions o, inst->ExecOptionsFor(command));
  // The terminal has its size before the command starts (a resize after
  // it could come after the command read it).
  if (tty) o.process.console_size = size;
  return StartExecProcess(std::move(o), tty, stdin, socket_dir);
}

Result<fs::path> PodWorker::LogPath(const std::string& container, bool previous) const {
  std::lock_guard lock(mu_);
  for (const auto& slot : slots_) {
    if (slot.spec->name != container) continue;
    const int current = slot.next_instance - 1;
    const int want = previous ? current - 1 : current;
    if (want < 0) {
      return Error::Sys(ENOENT, std::string(previous ? "previous terminated" : "") + " container " +
                                    container + " has no logs yet");
    }
    return ContainerInstance::LogPath(Ref(slot, want));
  }
  return Error::Sys(ENOENT,
                    "pod " + pod_.namespace_ + "/" + pod_.name + " has no container " + container);
}

InstanceRef PodWorker::Ref(const Slot& slot, int instance) const {
  InstanceRef r;
  r.ctx = &ctx_;
  r.pod = &pod_;
  r.sandbox = &sandbox_;
  r.spec = slot.spec;
  r.restart = instance;
  return r;
}

std::string PodWorker::PidNamespace(const Slot& slot) const {
  if (!pod_.share_process_namespace || slot.init) return "";
  // Without a pause process the first app container's pid namespace is the
  // pod's: the others join it while it runs.
  for (const auto& s : slots_) {
    if (s.init || &s == &slot) continue;
    if (s.running) return "/proc/" + std::to_string(s.running->init_pid()) + "/ns/pid";
    break;
  }
  return "";
}

void PodWorker::Run() {
  if (PrepareSandbox()) {
    for (auto& slot : slots_) AdoptSlot(slot);
    if (RunInitContainers()) RunAppContainers();
  }
  if (mode_.load() == Mode::kTerminate) StopAll();
  done_.store(true);
}

bool PodWorker::PrepareSandbox() {
  while (!Stopping()) {
    const auto t0 = Clock::now();
    auto opened = PodSandbox::Open(ctx_.sandbox, pod_);
    Result<SandboxInfo> sb =
        opened.ok() ? std::move(opened) : PodSandbox::Create(ctx_.sandbox, pod_);
    if (sb.ok()) {
      std::lock_guard lock(mu_);
      sandbox_ = std::move(sb).value();
      status_.pod_ip = sandbox_.pod_ip;
      status_.pod_ips.clear();
      for (const auto& a : sandbox_.addresses) status_.pod_ips.push_back(a.address.String());
      status_.start_time_ns = runtime::shim::RealtimeNanos();
      status_.message.clear();
      log::Debug("pod sandbox ready",
                 {{"pod", pod_.namespace_ + "/" + pod_.name},
                  {"ms", static_cast<int64_t>(
                             duration_cast<std::chrono::microseconds>(Clock::now() - t0).count() /
                             1000)}});
      return true;
    }
    log::Error("pod sandbox failed",
               {{"pod", pod_.namespace_ + "/" + pod_.name}, {"error", sb.error().ToString()}});
    {
      std::lock_guard lock(mu_);
      status_.message = "sandbox: " + sb.error().ToString();
    }
    Wait(Clock::now() + kSandboxRetry);
  }
  return false;
}

// An instance from before an agent restart: running (adopt its shim) or
// ended while nobody watched (its exit file says how).
void PodWorker::AdoptSlot(Slot& slot) {
  auto latest = ContainerInstance::LatestInstance(Ref(slot, 0));
  if (!latest) return;
  slot.next_instance = *latest + 1;
  auto adopted = ContainerInstance::Adopt(Ref(slot, *latest));
  {
    std::lock_guard lock(mu_);
    slot.status.restart_count = *latest;
    if (*latest > 0) {
      if (auto prev = ContainerInstance::RecordedExit(Ref(slot, *latest - 1))) {
        slot.status.last_state = Terminated(*prev);
      }
    }
    if (!adopted.ok()) {
      log::Warn("cannot adopt container", {{"pod", pod_.name},
                                           {"container", slot.spec->name},
                                           {"error", adopted.error().ToString()}});
      slot.restart_at = Clock::now();
      return;
    }
    slot.running = std::make_shared<ContainerInstance>(std::move(adopted).value());
    slot.started_at = Clock::now();
    slot.status.state.kind = ContainerState::Kind::kRunning;
    slot.status.state.reason.clear();
    slot.status.state.started_at_ns = slot.running->started_at_ns();
    slot.status.pid = slot.running->init_pid();
    slot.status.cgroup = slot.running->cgroup();
    slot.status.log_path = slot.running->log_path().string();
    slot.status.started = true;
    slot.probes.emplace(slot.spec->startup, slot.spec->liveness, slot.spec->readiness,
                        Clock::now());
    slot.status.ready = slot.probes->Ready();
  }
  // Exited while no agent watched: handle it as a live exit would be
  // (termination state, restart policy, back-off).
  if (!slot.running->shim_alive()) OnExit(slot);
}

void PodWorker::StartSlot(Slot& slot) {
  slot.restart_at.reset();
  {
    std::lock_guard lock(mu_);
    slot.status.state = Waiting("ContainerCreating");
  }
  const int instance = slot.next_instance;
  const auto t0 = Clock::now();
  auto started = ContainerInstance::Start(Ref(slot, instance), qos_, PidNamespace(slot));
  log::Debug(
      "container start",
      {{"pod", pod_.namespace_ + "/" + pod_.name},
       {"container", slot.spec->name},
       {"ms", static_cast<int64_t>(duration_cast<milliseconds>(Clock::now() - t0).count())}});
  std::lock_guard lock(mu_);
  if (!started.ok()) {
    const std::string reason = StartFailureReason(started.error());
    log::Warn("container start failed", {{"pod", pod_.namespace_ + "/" + pod_.name},
                                         {"container", slot.spec->name},
                                         {"error", started.error().ToString()}});
    slot.status.state = Waiting(reason, started.error().ToString());
    slot.restart_at = Clock::now() + slot.backoff.Next(milliseconds(0));
    return;
  }
  slot.next_instance = instance + 1;
  slot.status.restart_count = instance;
  slot.running = std::make_shared<ContainerInstance>(std::move(started).value());
  slot.started_at = Clock::now();
  slot.status.state = ContainerState{};
  slot.status.state.kind = ContainerState::Kind::kRunning;
  slot.status.state.started_at_ns = slot.running->started_at_ns();
  slot.status.pid = slot.running->init_pid();
  slot.status.cgroup = slot.running->cgroup();
  slot.status.log_path = slot.running->log_path().string();
  slot.probes.emplace(slot.spec->startup, slot.spec->liveness, slot.spec->readiness, Clock::now());
  slot.status.started = slot.probes->Started();
  slot.status.ready = slot.probes->Ready();
}

void PodWorker::OnExit(Slot& slot) {
  auto exit = slot.running->Exit();
  runtime::shim::ExitStatus e;
  if (exit.ok() && exit->has_value()) {
    e = **exit;
  } else {
    // The shim died without recording (killed): nothing better to report.
    e.exit_code = 255;
    e.started_at_ns = slot.running->started_at_ns();
    e.finished_at_ns = runtime::shim::RealtimeNanos();
  }
  berth::Status cleaned = slot.running->Cleanup();
  if (!cleaned.ok()) {
    log::Warn("container cleanup",
              {{"container", slot.spec->name}, {"error", cleaned.error().ToString()}});
  }
  const auto ran = duration_cast<milliseconds>(Clock::now() - slot.started_at);
  std::lock_guard lock(mu_);
  slot.running.reset();
  slot.probes.reset();
  ContainerState term = Terminated(e);
  slot.status.pid = 0;
  slot.status.ready = false;
  slot.status.last_state = term;
  slot.status.state = term;
  bool restart = false;
  if (mode_.load() == Mode::kTerminate) {
    restart = false;
  } else if (slot.init) {
    slot.succeeded = e.exit_code == 0;
    restart = !slot.succeeded && pod_.restart_policy != RestartPolicy::kNever;
  } else {
    restart = pod_.restart_policy == RestartPolicy::kAlways ||
              (pod_.restart_policy == RestartPolicy::kOnFailure && e.exit_code != 0);
  }
  if (!restart) {
    slot.finished = true;
    slot.status.last_state.reset();
    return;
  }
  const milliseconds delay = slot.backoff.Next(ran);
  slot.restart_at = Clock::now() + delay;
  slot.status.state = Waiting("CrashLoopBackOff", "back-off " + std::to_string(delay.count()) +
                                                      "ms restarting failed container");
  log::Info("container exited", {{"pod", pod_.namespace_ + "/" + pod_.name},
                                 {"container", slot.spec->name},
                                 {"exit_code", e.exit_code},
                                 {"restart_in_ms", static_cast<int64_t>(delay.count())}});
}

void PodWorker::RunProbes(Slot& slot) {
  if (!slot.running || !slot.probes) return;
  auto inst = slot.running;
  ExecFn exec = [inst](const std::vector<std::string>& cmd, milliseconds timeout) -> Result<int> {
    BERTH_ASSIGN_OR_RETURN(ExecResult r, inst->Exec(cmd, timeout));
    return r.exit_code;
  };
  auto ip = IpAddress::Parse(sandbox_.pod_ip.empty() ? "127.0.0.1" : sandbox_.pod_ip);
  for (ProbeType t : slot.probes->Due(Clock::now())) {
    const ProbeTracker* tr = slot.probes->tracker(t);
    if (tr == nullptr) continue;
    ProbeOutcome outcome = RunNodeProbe(tr->spec(), ip.ok() ? *ip : IpAddress(), exec);
    slot.probes->Record(t, outcome, Clock::now());
  }
  std::optional<std::string> restart;
  {
    std::lock_guard lock(mu_);
    slot.status.started = slot.probes->Started();
    slot.status.ready = slot.probes->Ready();
    restart = slot.probes->RestartReason();
  }
  if (restart) {
    log::Info("restarting container", {{"pod", pod_.namespace_ + "/" + pod_.name},
                                       {"container", slot.spec->name},
                                       {"reason", *restart}});
    slot.probes.reset();
    StopSlot(slot, Clock::now() + std::chrono::seconds(pod_.termination_grace_period_seconds));
  }
}

ProbeOutcome PodWorker::RunNodeProbe(const Probe& spec, const IpAddress& ip, const ExecFn& exec) {
  if (spec.kind == ProbeKind::kExec || ctx_.node_netns.empty()) return RunProbe(spec, ip, exec);
  // The pod's address is routed only inside the node's namespace: connect
  // from there (this thread only), never from wherever the agent runs.
  ProbeOutcome outcome{ProbeResult::kFailure, ""};
  auto ns = netns::OpenNetns(ctx_.node_netns);
  if (!ns.ok()) return {ProbeResult::kFailure, ns.error().ToString()};
  berth::Status entered = netns::InNetns(ns->get(), [&]() -> berth::Status {
    outcome = RunProbe(spec, ip, exec);
    return Ok();
  });
  if (!entered.ok()) return {ProbeResult::kFailure, entered.error().ToString()};
  return outcome;
}

void PodWorker::Wait(Clock::time_point until) {
  std::vector<pollfd> fds;
  fds.push_back({wake_.get(), POLLIN, 0});
  for (const auto& s : slots_) {
    if (s.running && s.running->shim_pidfd() >= 0)
      fds.push_back({s.running->shim_pidfd(), POLLIN, 0});
  }
  const auto left = duration_cast<milliseconds>(until - Clock::now());
  const int timeout =
      left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 60000));
  (void)::poll(fds.data(), fds.size(), timeout);
}

bool PodWorker::RunInitContainers() {
  for (auto& slot : slots_) {
    if (!slot.init) continue;
    // Adopted (AdoptSlot ran OnExit for an instance that ended while the
    // agent was away): a completed init container is not run again.
    if (slot.succeeded) continue;
    if (!slot.running && !slot.restart_at) slot.restart_at = Clock::now();
    while (!slot.succeeded) {
      if (Stopping()) return false;
      if (slot.running && Readable(slot.running->shim_pidfd())) {
        OnExit(slot);
        if (slot.finished && !slot.succeeded) {
          std::lock_guard lock(mu_);
          status_.phase = PodPhase::kFailed;
          status_.message = "init container " + slot.spec->name + " failed";
          return false;
        }
        continue;
      }
      if (!slot.running && slot.restart_at && Clock::now() >= *slot.restart_at) StartSlot(slot);
      Wait(slot.running ? Clock::now() + std::chrono::seconds(60)
                        : slot.restart_at.value_or(Clock::now() + kSandboxRetry));
    }
  }
  std::lock_guard lock(mu_);
  status_.initialized = true;
  return true;
}

void PodWorker::RunAppContainers() {
  for (auto& slot : slots_) {
    if (!slot.init && !slot.running && !slot.finished && !slot.restart_at) {
      slot.restart_at = Clock::now();
    }
  }
  while (!Stopping()) {
    for (auto& slot : slots_) {
      if (slot.init) continue;
      if (slot.running && Readable(slot.running->shim_pidfd())) OnExit(slot);
      if (!slot.running && slot.restart_at && Clock::now() >= *slot.restart_at) StartSlot(slot);
      if (slot.running) RunProbes(slot);
    }
    UpdatePhase();
    Clock::time_point next = Clock::now() + std::chrono::seconds(60);
    for (const auto& slot : slots_) {
      if (slot.restart_at) next = std::min(next, *slot.restart_at);
      if (slot.probes) next = std::min(next, slot.probes->NextDue());
    }
    Wait(next);
  }
}

void PodWorker::UpdatePhase() {
  std::lock_guard lock(mu_);
  bool all_started = true, all_finished = true, any_failed = false, all_ready = true;
  for (const auto& slot : slots_) {
    if (slot.init) continue;
    if (slot.next_instance == 0) all_started = false;
    if (!slot.finished) all_finished = false;
    if (slot.finished && slot.status.state.exit_code != 0) any_failed = true;
    if (!slot.status.ready) all_ready = false;
  }
  if (all_finished) {
    status_.phase = any_failed ? PodPhase::kFailed : PodPhase::kSucceeded;
  } else if (all_started) {
    status_.phase = PodPhase::kRunning;
  }
  status_.ready = status_.phase == PodPhase::kRunning && all_ready;
}

void PodWorker::StopSlot(Slot& slot, Clock::time_point deadline) {
  if (!slot.running) return;
  auto inst = slot.running;
  if (!slot.spec->pre_stop_exec.empty()) {
    auto left = duration_cast<milliseconds>(deadline - Clock::now());
    auto r = inst->Exec(slot.spec->pre_stop_exec, std::max(left, milliseconds(1)));
    if (!r.ok()) {
      log::Warn("preStop hook failed",
                {{"container", slot.spec->name}, {"error", r.error().ToString()}});
    }
  }
  IgnoreError(inst->Signal(inst->stop_signal()), "ESRCH: already gone");
  pollfd p{inst->shim_pidfd(), POLLIN, 0};
  auto left = duration_cast<milliseconds>(deadline - Clock::now());
  if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count()))) <= 0) {
    IgnoreError(inst->KillAll(), "ENOENT: the cgroup is already gone");
    (void)::poll(&p, 1, static_cast<int>(kKillWait.count()));
  }
}

void PodWorker::StopAll() {
  const auto deadline = Clock::now() + std::chrono::seconds(grace_seconds_.load());
  {
    // Stop app containers concurrently: each gets the whole grace period.
    std::vector<std::future<void>> stops;
    for (auto& slot : slots_) {
      if (slot.running)
        stops.push_back(std::async(std::launch::async, [&] { StopSlot(slot, deadline); }));
    }
  }
  for (auto& slot : slots_) {
    if (slot.running) OnExit(slot);
  }
  berth::Status destroyed = PodSandbox::Destroy(ctx_.sandbox, pod_.uid);
  if (!destroyed.ok()) {
    log::Error("pod teardown", {{"pod", pod_.namespace_ + "/" + pod_.name},
                                {"error", destroyed.error().ToString()}});
  }
  std::error_code ec;
  fs::remove_all(ctx_.log_dir / (pod_.namespace_ + "_" + pod_.name + "_" + pod_.uid), ec);
}

}  // namespace berth::nodeagent
