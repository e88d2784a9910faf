// Pod features end to end: init containers in order, env and volumes from
// ConfigMap/Secret files, a memory emptyDir, the shared pid namespace.
#include <sys/stat.h>

#include <thread>

#include "agent_fixture.h"
#include "cri_reader.h"
#include "test_support.h"

#include "berth/common/file.h"

namespace berth::nodeagent::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

TEST_F(AgentTest, InitContainersConfigAndSecrets) {
  fs::create_directories(dir_ / "config/configmaps/app");
  fs::create_directories(dir_ / "config/secrets/creds");
  ASSERT_OK(WriteFileAtomic(dir_ / "config/configmaps/app/mode", "production", 0644));
  ASSERT_OK(WriteFileAtomic(dir_ / "config/configmaps/app/level", "debug", 0644));
  ASSERT_OK(WriteFileAtomic(dir_ / "config/secrets/creds/password", "s3cret", 0600));
  StartAgent();
  WriteManifest("feat.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: feat}
spec:
  restartPolicy: Never
  initContainers:
    - name: first
      image: busybox
      command: [sh, -c, "echo first >> /work/order"]
      volumeMounts: [{name: work, mountPath: /work}]
    - name: second
      image: busybox
      command: [sh, -c, "echo second >> /work/order"]
      volumeMounts: [{name: work, mountPath: /work}]
  containers:
    - name: main
      image: busybox
      command: [sh, -c]
      args:
        - >-
          cat /work/order; echo MODE=$MODE PASS=$PASS CFG_level=$CFG_level;
          cat /etc/app/level; echo; stat -c %a /etc/creds/password; cat /etc/creds/password; echo;
          grep -c ' /work tmpfs ' /proc/mounts; touch /etc/creds/x 2>/dev/null || echo secret-ro
      env:
        - {name: MODE, valueFrom: {configMapKeyRef: {name: app, key: mode}}}
        - {name: PASS, valueFrom: {secretKeyRef: {name: creds, key: password}}}
      envFrom: [{prefix: CFG_, configMapRef: {name: app}}]
      volumeMounts:
        - {name: work, mountPath: /work}
        - {name: app, mountPath: /etc/app}
        - {name: creds, mountPath: /etc/creds, readOnly: true}
  volumes:
    - {name: work, emptyDir: {medium: Memory}}
    - {name: app, configMap: {name: app}}
    - {name: creds, secret: {secretName: creds}}
)");
  PodStatus pod;
  ASSERT_TRUE(WaitFor([&] {
    auto p = Pod("feat");
    if (!p.ok()) return false;
    pod = *p;
    return pod.phase == PodPhase::kSucceeded || pod.phase == PodPhase::kFailed;
  })) << "pod never finished";
  EXPECT_EQ(pod.phase, PodPhase::kSucceeded);
  EXPECT_TRUE(pod.initialized);
  ASSERT_EQ(pod.init_containers.size(), 2u);
  EXPECT_EQ(pod.init_containers[0].state.reason, "Completed");
  EXPECT_EQ(LogText(pod.containers[0].log_path),
            "first\nsecond\nMODE=production PASS=s3cret CFG_level=debug\ndebug\n400\ns3cret\n1\n"
            "secret-ro\n");
}

TEST_F(AgentTest, MissingConfigMapKeepsTheContainerWaiting) {
  StartAgent();
  WriteManifest("nocm.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: nocm}
spec:
  containers:
    - name: c
      image: busybox
      command: [sleep, "1000"]
      env: [{name: X, valueFrom: {configMapKeyRef: {name: absent, key: k}}}]
)");
  ASSERT_TRUE(WaitFor([&] {
    auto p = Pod("nocm");
    return p.ok() && p->containers[0].state.reason == "CreateContainerConfigError";
  }));
  auto p = Pod("nocm");
  ASSERT_OK(p);
  EXPECT_NE(p->containers[0].state.message.find("configmap \"absent\" not found"),
            std::string::npos)
      << p->containers[0].state.message;
  EXPECT_EQ(p->phase, PodPhase::kPending);
}

TEST_F(AgentTest, ShareProcessNamespace) {
  StartAgent();
  WriteManifest("shared.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: shared}
spec:
  shareProcessNamespace: true
  containers:
    - {name: a, image: busybox, command: [sleep, "1001"]}
    - {name: b, image: busybox, command: [sleep, "1002"]}
)");
  PodStatus pod;
  ASSERT_TRUE(WaitFor([&] {
    auto p = Pod("shared");
    if (!p.ok()) return false;
    pod = *p;
    return pod.containers[0].pid > 0 && pod.containers[1].pid > 0;
  }));
  auto ns = [](pid_t pid) {
    struct stat st {};
    ::stat(("/proc/" + std::to_string(pid) + "/ns/pid").c_str(), &st);
    return st.st_ino;
  };
  EXPECT_EQ(ns(pod.containers[0].pid), ns(pod.containers[1].pid));
  auto exec =
      agent_->StartExec("default", "shared", "b", {"ps", "-o", "args"}, false, false, std::nullopt);
  ASSERT_OK(exec);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read((*exec)->stdout_fd(), buf, sizeof(buf))) > 0) out.append(buf, n);
  ASSERT_OK((*exec)->Wait());
  EXPECT_NE(out.find("sleep 1001"), std::string::npos) << out;
}

TEST_F(AgentTest, HttpAndTcpProbesReachThePodFromTheNode) {
  StartAgent();
  WriteManifest("probed.yaml", R"(
apiVersion: v1
kind: Pod
metadata: {name: probed}
spec:
  containers:
    - name: web
      image: busybox
      command: [sh, -c, "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
      ports: [{name: http, containerPort: 8080}]
      readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
      livenessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
)");
  ASSERT_TRUE(WaitFor([&] {
    auto p = Pod("probed");
    return p.ok() && p->ready;
  })) << "the HTTP readiness probe never passed";
  // Liveness keeps passing: no restart after a few periods.
  std::this_thread::sleep_for(seconds(3));
  auto p = Pod("probed");
  ASSERT_OK(p);
  EXPECT_TRUE(p->ready);
  EXPECT_EQ(p->containers[0].restart_count, 0);
}

}  // namespace
}  // namespace berth::nodeagent::testing
