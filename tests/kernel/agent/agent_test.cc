// The agent running pods for real: containers from the busybox image in a
// per-run node (network namespace, cgroup, state dirs). See agent_fixture.h.
#include <sys/stat.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "agent_fixture.h"
#include "cri_reader.h"
#include "test_support.h"

#include "berth/common/file.h"
#include "berth/runtime/shim/shim.h"

namespace berth::nodeagent::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string FileText(const fs::path& p) {
  auto r = ReadFile(p);
  return r.ok() ? *r : "<" + r.error().ToString() + ">";
}

bool Running(const ContainerStatus* c) {
  return c != nullptr && c->state.kind == ContainerState::Kind::kRunning;
}

TEST_F(AgentTest, TwoContainersTalkOverLocalhost) {
  StartAgent();
  WriteManifest("web.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers:
    - name: server
      image: busybox
      command: [sh, -c, "mkdir -p /tmp/www && echo hello-from-server > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"]
    - name: client
      image: busybox
      command: [sh, -c, "until wget -q -O- http://127.0.0.1:8080/; do sleep 0.1; done; exec sleep 1000"]
)");
  PodStatus pod;
  ASSERT_TRUE(WaitFor([&] {
    auto p = Pod("web");
    if (!p.ok()) return false;
    pod = *p;
    const ContainerStatus* c = Container(pod, "client");
    return c != nullptr && LogText(c->log_path).find("hello-from-server") != std::string::npos;
  })) << "client never fetched the server's page";
  EXPECT_EQ(pod.phase, PodPhase::kRunning);
  EXPECT_TRUE(pod.ready);
  EXPECT_EQ(pod.qos_class, "BestEffort");
  EXPECT_EQ(pod.pod_ip.rfind("10.231.7.", 0), 0u) << pod.pod_ip;
  EXPECT_TRUE(Running(Container(pod, "server")));
  EXPECT_EQ(pod.labels.at("app"), "web");
  // Both containers share the pod's uts namespace: hostname is the pod name.
  auto exec =
      agent_->StartExec("default", "web", "client", {"hostname"}, false, false, std::nullopt);
  ASSERT_OK(exec);
  char buf[64] = {};
  ssize_t n = ::read((*exec)->stdout_fd(), buf, sizeof(buf) - 1);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "web\n");
  ASSERT_OK((*exec)->Wait());
}

TEST_F(AgentTest, CrashingContainerRestartsWithGrowingBackoff) {
  backoff_base_ = milliseconds(200);
  StartAgent();
  WriteManifest("crash.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  containers:
    - name: c
      image: busybox
      command: [sh, -c, "echo run; exit 3"]
)");
  PodStatus pod;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto p = Pod("crash");
        if (!p.ok()) return false;
        pod = *p;
        return Container(pod, "c")->restart_count >= 4;
      },
      seconds(20)));
  const ContainerStatus* c = Container(pod, "c");
  ASSERT_TRUE(c->last_state.has_value());
  EXPECT_EQ(c->last_state->exit_code, 3);
  EXPECT_EQ(c->last_state->reason, "Error");
  // The gap between an exit and the next start doubles: 200, 400, 800 ms.
  std::vector<double> gaps;
  for (int i = 0; i + 1 < 4; ++i) {
    auto done = runtime::shim::ReadExitStatus(PodDir(pod.uid) / "containers/c" / std::to_string(i));
    auto next =
        runtime::shim::ReadExitStatus(PodDir(pod.uid) / "containers/c" / std::to_string(i + 1));
    ASSERT_OK(done);
    ASSERT_OK(next);
    ASSERT_TRUE(done->has_value() && next->has_value());
    gaps.push_back(static_cast<double>((*next)->started_at_ns - (*done)->finished_at_ns) / 1e6);
  }
  // Each gap is the back-off plus the time a start takes; the back-off part
  // grows 200 -> 400 -> 800 ms, so consecutive gaps differ by about 200 and
  // 400 ms (margins leave room for a loaded machine's start times).
  EXPECT_GE(gaps[0], 190);
  EXPECT_GE(gaps[1] - gaps[0], 100) << gaps[0] << " " << gaps[1];
  EXPECT_GE(gaps[2] - gaps[1], 250) << gaps[1] << " " << gaps[2];
  EXPECT_EQ(pod.phase, PodPhase::kRunning);
}

TEST_F(AgentTest, FailingLivenessProbeRestarts) {
  StartAgent();
  WriteManifest("live.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: live}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: c
      image: busybox
      command: [sh, -c, "touch /tmp/healthy; sleep 1; rm /tmp/healthy; exec sleep 1000"]
      livenessProbe:
        exec: {command: [cat, /tmp/healthy]}
        periodSeconds: 1
        failureThreshold: 2
)");
  PodStatus pod;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto p = Pod("live");
        if (!p.ok()) return false;
        pod = *p;
        return Container(pod, "c")->restart_count >= 1;
      },
      seconds(20)));
  const ContainerStatus* c = Container(pod, "c");
  ASSERT_TRUE(c->last_state.has_value());
  // sleep as pid 1 ignores SIGTERM: killed after the grace period.
  EXPECT_EQ(c->last_state->signal, SIGKILL);
}

TEST_F(AgentTest, ReadinessGatesTheReadyCondition) {
  StartAgent();
  WriteManifest("ready.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: ready}
spec:
  containers:
    - name: c
      image: busybox
      command: [sleep, "1000"]
      readinessProbe:
        exec: {command: [cat, /tmp/ready]}
        periodSeconds: 1
)");
  ASSERT_TRUE(WaitFor([&] {
    auto p = Pod("ready");
    return p.ok() && Running(Container(*p, "c"));
  }));
  // Two probe periods later the pod is still not Ready.
  std::this_thread::sleep_for(seconds(2));
  auto p = Pod("ready");
  ASSERT_OK(p);
  EXPECT_EQ(p->phase, PodPhase::kRunning);
  EXPECT_FALSE(p->ready);
  EXPECT_FALSE(Container(*p, "c")->ready);
  auto exec = agent_->StartExec("default", "ready", "c", {"touch", "/tmp/ready"}, false, false,
                                std::nullopt);
  ASSERT_OK(exec);
  ASSERT_OK((*exec)->Wait());
  EXPECT_TRUE(WaitFor(
      [&] {
        auto q = Pod("ready");
        return q.ok() && q->ready;
      },
      seconds(5)));
}

TEST_F(AgentTest, ExecReturnsOutputAndExitCode) {
  StartAgent();
  WriteManifest("ex.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: ex}
spec:
  containers:
    - name: c
      image: busybox
      command: [sleep, "1000"]
      env: [{name: GREETING, value: hi}]
)");
  ASSERT_TRUE(WaitFor([&] {
    auto p = Pod("ex");
    return p.ok() && Running(Container(*p, "c"));
  }));
  auto exec =
      agent_->StartExec("default", "ex", "c", {"sh", "-c", "echo $GREETING; echo oops >&2; exit 5"},
                        false, false, std::nullopt);
  ASSERT_OK(exec);
  std::string out, err;
  char buf[256];
  ssize_t n;
  while ((n = ::read((*exec)->stdout_fd(), buf, sizeof(buf))) > 0) out.append(buf, n);
  while ((n = ::read((*exec)->stderr_fd(), buf, sizeof(buf))) > 0) err.append(buf, n);
  auto code = (*exec)->Wait();
  ASSERT_OK(code);
  EXPECT_EQ(*code, 5);
  EXPECT_EQ(out, "hi\n");
  EXPECT_EQ(err, "oops\n");
  auto missing = agent_->StartExec("default", "nope", "c", {"true"}, false, false, std::nullopt);
  EXPECT_ERRNO(missing, ENOENT);

  // With a terminal: the pty master carries input and output, resizes apply.
  auto tty = agent_->StartExec("default", "ex", "c", {"sh", "-c", "read x; echo got $x; stty size"},
                               true, true, std::nullopt);
  ASSERT_OK(tty);
  ASSERT_OK((*tty)->Resize(100, 40));
  ASSERT_EQ(::write((*tty)->stdin_fd(), "ping\n", 5), 5);
  std::string screen;
  while (screen.find("40 100") == std::string::npos) {
    n = ::read((*tty)->stdout_fd(), buf, sizeof(buf));
    if (n <= 0) break;
    screen.append(buf, n);
  }
  EXPECT_NE(screen.find("got ping"), std::string::npos) << screen;
  EXPECT_NE(screen.find("40 100"), std::string::npos) << screen;
  auto tty_code = (*tty)->Wait();
  ASSERT_OK(tty_code);
  EXPECT_EQ(*tty_code, 0);
}

TEST_F(AgentTest, LogsRotate) {
  log_max_bytes_ = 4096;
  log_max_files_ = 3;
  StartAgent();
  WriteManifest("chatty.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: chatty}
spec:
  restartPolicy: Never
  containers:
    - name: c
      image: busybox
      command: [sh, -c, "i=0; while [ $i -lt 300 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done"]
)");
  PodStatus pod;
  ASSERT_TRUE(WaitFor([&] {
    auto p = Pod("chatty");
    if (!p.ok()) return false;
    pod = *p;
    return pod.phase == PodPhase::kSucceeded;
  }));
  const std::string log = Container(pod, "c")->log_path;
  EXPECT_TRUE(fs::exists(log + ".1"));
  EXPECT_TRUE(fs::exists(log + ".2"));
  EXPECT_FALSE(fs::exists(log + ".3"));
  for (const auto& f : {log, log + ".1", log + ".2"}) EXPECT_LE(fs::file_size(f), 4096u);
  // What is kept is the newest output, contiguous, ending with the last line.
  auto lines = ReadLogs(log, {}, 3);
  ASSERT_OK(lines);
  ASSERT_GT(lines->size(), 50u);
  EXPECT_EQ(lines->back().content, "line-299-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  const int first = std::stoi(lines->front().content.substr(5));
  for (size_t i = 0; i < lines->size(); ++i) {
    EXPECT_EQ((*lines)[i].content.substr(0, 5 + std::to_string(first + i).size() + 1),
              "line-" + std::to_string(first + i) + "-");
  }
}

TEST_F(AgentTest, RemovingTheManifestStopsThePodAndLeavesNothing) {
  const fs::path host = dir_ / "hostvol";
  fs::create_directories(host);
  StartAgent();
  WriteManifest("gone.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: gone}
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: c
      image: busybox
      command: [sh, -c, "trap 'echo term > /host/term; exit 0' TERM; touch /host/trapped; while :; do sleep 0.1; done"]
      lifecycle:
        preStop: {exec: {command: [sh, -c, "echo prestop > /host/prestop"]}}
      volumeMounts: [{name: host, mountPath: /host}, {name: scratch, mountPath: /scratch}]
    - name: stubborn
      image: busybox
      command: [sleep, "1000"]
  volumes:
    - {name: host, hostPath: {path: )" +
                                 host.string() + R"(}}
    - {name: scratch, emptyDir: {medium: Memory, sizeLimit: 1Mi}}
)");
  PodStatus pod;
  ASSERT_TRUE(WaitFor([&] {
    auto p = Pod("gone");
    if (!p.ok()) return false;
    pod = *p;
    // Running, and past the trap (a SIGTERM before it would be dropped).
    return Running(Container(pod, "c")) && Running(Container(pod, "stubborn")) &&
           fs::exists(host / "trapped");
  }));
  const pid_t pid_c = Container(pod, "c")->pid, pid_s = Container(pod, "stubborn")->pid;
  const std::string pod_cgroup = CgroupDir() + "/pods/" + pod.uid;
  ASSERT_TRUE(fs::exists(pod_cgroup));
  const auto removed_at = std::chrono::steady_clock::now();
  RemoveManifest("gone.yaml");
  ASSERT_TRUE(
      WaitFor([&] { return !Pod("gone").ok() && !fs::exists(PodDir(pod.uid)); }, seconds(10)));
  ASSERT_TRUE(WaitFor([&] { return !fs::exists(pod_cgroup); }, seconds(5)));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - removed_at).count();
  EXPECT_LT(took, 2.0 + 2.0) << "grace period is 2 s";
  EXPECT_EQ(FileText(host / "prestop"), "prestop\n");
  EXPECT_EQ(FileText(host / "term"), "term\n");
  EXPECT_NE(::kill(pid_c, 0), 0);
  EXPECT_NE(::kill(pid_s, 0), 0);
  EXPECT_TRUE(fs::is_empty(dir_ / "run" / "ns"));
  EXPECT_TRUE(fs::is_empty(dir_ / "netns"));
  EXPECT_TRUE(fs::is_empty(dir_ / "logs"));
  EXPECT_TRUE(fs::is_empty(dir_ / "state" / "pods"));
  // No address stays allocated, no host end of a veth stays on the node.
  std::error_code ec;
  size_t allocated = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "state" / "netns" / "ipam", ec)) {
    if (e.is_regular_file() && IpAddress::Parse(e.path().filename().string()).ok()) ++allocated;
  }
  EXPECT_EQ(allocated, 0u);
  // No shim left: nothing at all in the run's cgroup tree.
  for (const auto& e : fs::recursive_directory_iterator(CgroupDir(), ec)) {
    if (e.path().filename() == "cgroup.procs") EXPECT_EQ(FileText(e.path()), "");
  }
  std::ifstream mounts("/proc/self/mounts");
  std::string line;
  while (std::getline(mounts, line)) {
    EXPECT_EQ(line.find(dir_.string() + "/state"), std::string::npos) << line;
    EXPECT_EQ(line.find(dir_.string() + "/run"), std::string::npos) << line;
  }
}

TEST_F(AgentTest, ManifestPresentAtStartCanBeRemoved) {
  WriteManifest("early.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: early}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: busybox, command: [sleep, "1000"]}]
)");
  StartAgent();
  ASSERT_TRUE(WaitFor([&] {
    auto p = Pod("early");
    return p.ok() && Running(Container(*p, "c"));
  }));
  RemoveManifest("early.yaml");
  EXPECT_TRUE(WaitFor([&] { return fs::is_empty(dir_ / "state" / "pods"); }, seconds(5)));
}

TEST_F(AgentTest, BadManifestIsRefusedOthersRun) {
  StartAgent();
  WriteManifest("good.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: good}
spec:
  containers: [{name: c, image: busybox, command: [sleep, "1000"]}]
)");
  WriteManifest("bad.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  containers: [{name: c, image: busybox, resources: {limits: {memory: lots}}}]
)");
  WriteManifest("typo.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: typo}
spec:
  containers: [{name: c, image: busybox, comand: [sleep]}]
)");
  ASSERT_TRUE(WaitFor([&] {
    auto p = Pod("good");
    return p.ok() && Running(Container(*p, "c")) && agent_->Problems().size() == 2;
  }));
  std::string all;
  for (const auto& p : agent_->Problems()) all += p.error + "\n";
  EXPECT_NE(all.find("bad.yaml: spec.containers[0].resources.limits.memory"), std::string::npos)
      << all;
  EXPECT_NE(all.find("typo.yaml: spec.containers[0].comand: unknown field"), std::string::npos)
      << all;
  EXPECT_FALSE(Pod("bad").ok());
  EXPECT_EQ(agent_->ListPods().size(), 1u);
}

}  // namespace
}  // namespace berth::nodeagent::testing
