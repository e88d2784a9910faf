#include "fake_backend.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "berth/common/unique_fd.h"
#include "berth/runtime/shim/cri_log.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): posix_spawn's envp

namespace berth::nodeagent::testing {
namespace {

namespace fs = std::filesystem;

// 2026-11-23T06:00:00Z
constexpr int64_t kStart = 1795413600LL * 1'000'000'000;

class FakeExec final : public ExecProcess {
 public:
  FakeExec(pid_t pid, UniqueFd in, UniqueFd out, UniqueFd err, bool tty, bool has_stdin,
           std::shared_ptr<std::atomic<int>> kills, std::shared_ptr<std::atomic<int>> alive)
      : pid_(pid),
        in_(std::move(in)),
        out_(std::move(out)),
        err_(std::move(err)),
        tty_(tty),
        has_stdin_(has_stdin),
        kills_(std::move(kills)),
        alive_(std::move(alive)) {
    ++*alive_;
  }
  ~FakeExec() override {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      IgnoreError(Wait(), "ECHILD: already reaped");
    }
    --*alive_;
  }
  FakeExec(const FakeExec&) = delete;
  FakeExec& operator=(const FakeExec&) = delete;

  int stdin_fd() const override {
    if (tty_) return has_stdin_ ? out_.get() : -1;
    return in_.get();
  }
  int stdout_fd() const override { return out_.get(); }
  int stderr_fd() const override { return err_.get(); }
  Status Resize(unsigned width, unsigned height) override {
    if (!tty_) return Error::Invalid("resize: the exec has no terminal");
    struct winsize ws {};
    ws.ws_col = static_cast<unsigned short>(width);
    ws.ws_row = static_cast<unsigned short>(height);
    if (::ioctl(out_.get(), TIOCSWINSZ, &ws) < 0) return Error::FromErrno("TIOCSWINSZ");
    return Ok();
  }
  void CloseStdin() override {
    if (!tty_) {
      in_.reset();
    } else if (has_stdin_) {
      (void)!::write(out_.get(), "\x04", 1);
    }
  }
  Result<int> Wait() override {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR) return Error::FromErrno("waitpid");
    }
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  void Kill() override {
    ++*kills_;
    if (!reaped_) ::kill(pid_, SIGKILL);
  }

 private:
  pid_t pid_;
  UniqueFd in_, out_, err_;
  bool tty_, has_stdin_;
  std::atomic<bool> reaped_{false};
  std::shared_ptr<std::atomic<int>> kills_, alive_;
};

Result<std::pair<UniqueFd, UniqueFd>> Pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return Error::FromErrno("pipe2");
  return std::make_pair(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

// posix_spawn file actions and attributes, destroyed on every path.
struct SpawnSetup {
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
};

Result<pid_t> Spawn(const std::vector<std::string>& command, SpawnSetup& s) {
  std::vector<char*> argv;
  argv.reserve(command.size() + 1);
  for (const std::string& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // Its own session, so that a pty's slave can become its terminal.
  posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSID);
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, argv[0], &s.actions, &s.attr, argv.data(), environ);
  if (err != 0) return Error::Sys(err, "spawn " + command.front());
  return pid;
}

}  // namespace

std::vector<PodStatus> FakeBackend::ListPods() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pods_;
}

Result<PodStatus> FakeBackend::GetPod(const std::string& ns, const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const PodStatus& p : pods_) {
    if (p.namespace_ == ns && p.name == name) return p;
  }
  return Error::Sys(ENOENT, "pod not found on this node");
}

Result<fs::path> FakeBackend::LogPath(const std::string& ns, const std::string& pod,
                                      const std::string& container, bool previous) const {
  BERTH_ASSIGN_OR_RETURN(PodStatus p, GetPod(ns, pod));
  std::string name = container;
  if (name.empty()) {
    if (p.containers.size() != 1) return Error::Invalid("a container name is required");
    name = p.containers.front().name;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = logs_.find(ns + "/" + pod + "/" + name + (previous ? "/previous" : ""));
  if (it == logs_.end()) {
    return Error::Sys(
        ENOENT, std::string(previous ? "no previous log" : "no log") + " for container " + name);
  }
  return it->second;
}

Result<std::unique_ptr<ExecProcess>> FakeBackend::StartExec(
    const std::string& ns, const std::string& pod, const std::string& container,
    const std::vector<std::string>& command, bool tty, bool stdin,
    std::optional<runtime::ConsoleSize> size) {
  BERTH_ASSIGN_OR_RETURN(PodStatus p, GetPod(ns, pod));
  (void)p;
  (void)container;
  ++exec_starts_;
  SpawnSetup s;
  if (tty) {
    UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) return Error::FromErrno("posix_openpt");
    char name[64];
    if (::grantpt(master.get()) < 0 || ::unlockpt(master.get()) < 0 ||
        ::ptsname_r(master.get(), name, sizeof(name)) != 0) {
      return Error::FromErrno("pty setup");
    }
    UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) return Error::FromErrno(std::string("open ") + name);
    if (size) {  // as the runtime does: sized before the command starts
      struct winsize ws {};
      ws.ws_row = static_cast<unsigned short>(size->height);
      ws.ws_col = static_cast<unsigned short>(size->width);
      if (::ioctl(master.get(), TIOCSWINSZ, &ws) < 0) return Error::FromErrno("TIOCSWINSZ");
    }
    for (int fd = 0; fd < 3; ++fd) posix_spawn_file_actions_adddup2(&s.actions, slave.get(), fd);
    BERTH_ASSIGN_OR_RETURN(pid_t pid, Spawn(command, s));
    return std::unique_ptr<ExecProcess>(std::make_unique<FakeExec>(
        pid, UniqueFd(), std::move(master), UniqueFd(), true, stdin, kills_, alive_));
  }
  std::pair<UniqueFd, UniqueFd> in;
  if (stdin) {
    BERTH_ASSIGN_OR_RETURN(in, Pipe());
    posix_spawn_file_actions_adddup2(&s.actions, in.first.get(), 0);
  } else {
    posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0);
  }
  BERTH_ASSIGN_OR_RETURN(auto out, Pipe());
  BERTH_ASSIGN_OR_RETURN(auto err, Pipe());
  posix_spawn_file_actions_adddup2(&s.actions, out.second.get(), 1);
  posix_spawn_file_actions_adddup2(&s.actions, err.second.get(), 2);
  BERTH_ASSIGN_OR_RETURN(pid_t pid, Spawn(command, s));
  return std::unique_ptr<ExecProcess>(
      std::make_unique<FakeExec>(pid, std::move(in.second), std::move(out.first),
                                 std::move(err.first), false, stdin, kills_, alive_));
}

Result<NodeStatus> FakeBackend::GetNodeStatus() const { return SampleNode(); }

void FakeBackend::SetPods(std::vector<PodStatus> pods) {
  std::lock_guard<std::mutex> lock(mu_);
  pods_ = std::move(pods);
}

void FakeBackend::SetContainerState(const std::string& ns, const std::string& name,
                                    const std::string& container, const ContainerState& state) {
  std::lock_guard<std::mutex> lock(mu_);
  for (PodStatus& p : pods_) {
    if (p.namespace_ != ns || p.name != name) continue;
    for (ContainerStatus& c : p.containers) {
      if (c.name == container) c.state = state;
    }
  }
}

void FakeBackend::SetLogPath(const std::string& ns, const std::string& pod,
                             const std::string& container, bool previous, fs::path path) {
  std::lock_guard<std::mutex> lock(mu_);
  logs_[ns + "/" + pod + "/" + container + (previous ? "/previous" : "")] = std::move(path);
}

PodStatus SamplePod(const std::string& ns, const std::string& name) {
  PodStatus p;
  p.name = name;
  p.namespace_ = ns;
  p.uid = "uid-" + name;
  p.source = "/etc/berth/manifests/" + name + ".yaml";
  p.labels = {{"app", name}, {"tier", "front"}};
  p.phase = PodPhase::kRunning;
  p.ready = true;
  p.initialized = true;
  p.qos_class = "Burstable";
  p.pod_ip = "10.88.0.5";
  p.pod_ips = {"10.88.0.5", "fd00::5"};
  p.start_time_ns = kStart;

  ContainerStatus init;
  init.name = "setup";
  init.image = "busybox:1.36";
  init.init = true;
  init.state.kind = ContainerState::Kind::kTerminated;
  init.state.reason = "Completed";
  init.state.started_at_ns = kStart;
  init.state.finished_at_ns = kStart + 1'000'000'000;
  p.init_containers.push_back(init);

  ContainerStatus c;
  c.name = "web";
  c.image = "nginx:1.25";
  c.ready = true;
  c.started = true;
  c.restart_count = 1;
  c.state.kind = ContainerState::Kind::kRunning;
  c.state.started_at_ns = kStart + 5'000'000'000;
  ContainerState last;
  last.kind = ContainerState::Kind::kTerminated;
  last.reason = "Error";
  last.exit_code = 2;
  last.started_at_ns = kStart + 2'000'000'000;
  last.finished_at_ns = kStart + 3'000'000'123;
  c.last_state = last;
  c.pid = 4242;
  c.cgroup = "/berth/pods/uid-" + name + "/web";
  c.log_path = "/var/log/berth/pods/" + ns + "_" + name + "/web/1.log";
  p.containers.push_back(c);
  return p;
}

NodeStatus SampleNode() {
  NodeStatus n;
  n.name = "node-1";
  n.cpu_milli = 4000;
  n.memory_bytes = 8LL << 30;
  n.pods = 110;
  n.allocatable_cpu_milli = 3500;
  n.allocatable_memory_bytes = 7LL << 30;
  n.allocatable_pods = 110;
  n.conditions = {{"Ready", true, "AgentReady", "berth-agent is ready"},
                  {"MemoryPressure", false, "", ""}};
  n.controllers_enforced = {"pids"};
  n.controllers_missing = {"cpu", "memory", "io"};
  n.cgroup_root = "/berth";
  n.running_pods = 2;
  return n;
}

void AppendCri(const fs::path& path, int64_t time_ns, const std::string& stream, char tag,
               const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << runtime::shim::FormatRfc3339Nano(time_ns) << ' ' << stream << ' ' << tag << ' ' << content
      << '\n';
}

ServedFake::ServedFake() {
  std::string tmpl = (fs::temp_directory_path() / "berth-api-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp: " << Error::FromErrno("mkdtemp").ToString();
    return;
  }
  dir_ = tmpl;
  auto server = AgentServer::Start(backend_, socket());
  if (!server.ok()) {
    ADD_FAILURE() << "AgentServer::Start: " << server.error().ToString();
    return;
  }
  server_ = std::move(*server);
}

ServedFake::~ServedFake() {
  server_.reset();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

}  // namespace berth::nodeagent::testing
