// v1 Pod manifests: what Berth supports parses into the model; unknown
// fields and impossible values are errors naming the file and field path.
#include "manifest.h"

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/common/quantity.h"

namespace berth::nodeagent {
namespace {

constexpr const char* kWeb = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels: {app: web, tier: front}
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 10
  shareProcessNamespace: true
  initContainers:
    - name: setup
      image: busybox
      command: [sh, -c, "echo ready > /work/flag"]
  containers:
    - name: nginx
      image: docker.io/library/nginx:1.25
      args: ["-g", "daemon off;"]
      workingDir: /srv
      env:
        - {name: MODE, value: prod}
        - {name: EMPTY}
      ports:
        - {name: http, containerPort: 8080}
        - {containerPort: 53, protocol: UDP}
      resources:
        requests: {cpu: 250m, memory: 64Mi}
        limits: {cpu: "1", memory: 128Mi}
)";

std::string ErrorOf(const std::string& yaml) {
  auto r = ParsePodManifest(yaml, "pod.yaml");
  return r.ok() ? "" : r.error().ToString();
}

TEST(PodManifestTest, ParsesTheSupportedFields) {
  auto p = ParsePodManifest(kWeb, "web.yaml");
  ASSERT_OK(p);
  EXPECT_EQ(p->name, "web");
  EXPECT_EQ(p->namespace_, "shop");
  EXPECT_EQ(p->labels.at("tier"), "front");
  EXPECT_EQ(p->restart_policy, RestartPolicy::kOnFailure);
  EXPECT_EQ(p->termination_grace_period_seconds, 10);
  EXPECT_TRUE(p->share_process_namespace);
  ASSERT_EQ(p->init_containers.size(), 1u);
  EXPECT_EQ(p->init_containers[0].command.size(), 3u);
  ASSERT_EQ(p->containers.size(), 1u);
  const ContainerSpec& c = p->containers[0];
  EXPECT_EQ(c.image, "docker.io/library/nginx:1.25");
  EXPECT_EQ(c.args[1], "daemon off;");
  EXPECT_EQ(c.working_dir, "/srv");
  ASSERT_EQ(c.env.size(), 2u);
  EXPECT_EQ(c.env[0].value, "prod");
  EXPECT_EQ(c.env[1].value, "");
  ASSERT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.ports[1].protocol, "UDP");
  EXPECT_EQ(*c.resources.cpu_request_milli, 250);
  EXPECT_EQ(*c.resources.cpu_limit_milli, 1000);
  EXPECT_EQ(*c.resources.memory_request_bytes, 64 << 20);
  EXPECT_EQ(*c.resources.memory_limit_bytes, 128 << 20);
}

TEST(PodManifestTest, DefaultsAsKubernetesApplies) {
  auto p = ParsePodManifest(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - {name: c, image: "
      "busybox}\n",
      "a.yaml");
  ASSERT_OK(p);
  EXPECT_EQ(p->namespace_, "default");
  EXPECT_EQ(p->restart_policy, RestartPolicy::kAlways);
  EXPECT_EQ(p->termination_grace_period_seconds, 30);
  EXPECT_EQ(p->containers[0].ports.size(), 0u);
}

TEST(PodManifestTest, ErrorsNameTheFileAndThePath) {
  const std::string base = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n";
  EXPECT_NE(ErrorOf(base + "  - {name: c, image: busybox, tty: true}\n")
                .find("pod.yaml: spec.containers[0].tty: unknown field"),
            std::string::npos);
  EXPECT_NE(ErrorOf(base + "  - {name: c, image: busybox}\n  hostNetwork: true\n")
                .find("spec.hostNetwork: unknown field"),
            std::string::npos);
  EXPECT_NE(ErrorOf(base + "  - {name: c}\n").find("spec.containers[0].image: Required value"),
            std::string::npos);
  EXPECT_NE(ErrorOf(base + "  - {name: C_1, image: x}\n").find("DNS-1123"), std::string::npos);
  EXPECT_NE(ErrorOf(base + "  - {name: c, image: x}\n  - {name: c, image: y}\n")
                .find("spec.containers[1].name: Duplicate value"),
            std::string::npos);
  EXPECT_NE(ErrorOf(base + "  - {name: c, image: x, ports: [{containerPort: 70000}]}\n")
                .find("spec.containers[0].ports[0].containerPort: must be between 1 and 65535"),
            std::string::npos);
  EXPECT_NE(ErrorOf(base + "  - {name: c, image: x, resources: {limits: {cpu: lots}}}\n")
                .find("spec.containers[0].resources.limits.cpu"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf(
          base +
          "  - {name: c, image: x, resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}}\n")
          .find("must be less than or equal to memory limit"),
      std::string::npos);
  EXPECT_NE(ErrorOf(base + "  - {name: c, image: x}\n  restartPolicy: Sometimes\n")
                .find("spec.restartPolicy: Unsupported value: \"Sometimes\""),
            std::string::npos);
  EXPECT_NE(ErrorOf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {}\n")
                .find("kind Pod"),
            std::string::npos);
  EXPECT_NE(ErrorOf("apiVersion: v1\nkind: Pod\nmetadata: {name: a\n").find("pod.yaml: YAML"),
            std::string::npos);
  EXPECT_NE(ErrorOf("").find("empty document"), std::string::npos);
}

constexpr const char* kFull = R"(apiVersion: v1
kind: Pod
metadata: {name: full}
spec:
  volumes:
    - {name: scratch, emptyDir: {medium: Memory, sizeLimit: 64Mi}}
    - {name: cache, emptyDir: {}}
    - {name: host, hostPath: {path: /var/log}}
    - {name: conf, configMap: {name: web-conf}}
    - {name: creds, secret: {secretName: web-creds}}
  containers:
    - name: app
      image: busybox
      ports: [{name: http, containerPort: 8080}]
      securityContext:
        runAsUser: 1000
        runAsGroup: 1000
        readOnlyRootFilesystem: true
        allowPrivilegeEscalation: false
        capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
        seccompProfile: {type: RuntimeDefault}
      livenessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 5, failureThreshold: 2}
      readinessProbe: {tcpSocket: {port: 8080}, initialDelaySeconds: 1}
      startupProbe: {exec: {command: [cat, /tmp/ready]}}
      lifecycle: {preStop: {exec: {command: [sh, -c, "sleep 1"]}}}
      volumeMounts:
        - {name: scratch, mountPath: /tmp}
        - {name: creds, mountPath: /etc/creds, readOnly: true}
)";

TEST(PodManifestTest, SecurityProbesLifecycleAndVolumes) {
  auto p = ParsePodManifest(kFull, "full.yaml");
  ASSERT_OK(p);
  const ContainerSpec& c = p->containers[0];
  EXPECT_EQ(*c.security.run_as_user, 1000);
  EXPECT_TRUE(c.security.read_only_root_filesystem);
  EXPECT_FALSE(*c.security.allow_privilege_escalation);
  EXPECT_EQ(c.security.capabilities_drop[0], "ALL");
  ASSERT_TRUE(c.liveness.has_value());
  EXPECT_EQ(c.liveness->kind, ProbeKind::kHttpGet);
  EXPECT_EQ(c.liveness->port, 8080);  // the named port
  EXPECT_EQ(c.liveness->period_seconds, 5);
  EXPECT_EQ(c.readiness->kind, ProbeKind::kTcpSocket);
  EXPECT_EQ(c.readiness->timeout_seconds, 1);  // default
  EXPECT_EQ(c.startup->command[1], "/tmp/ready");
  EXPECT_EQ(c.pre_stop_exec.size(), 3u);
  ASSERT_EQ(p->volumes.size(), 5u);
  EXPECT_TRUE(p->volumes[0].memory);
  EXPECT_EQ(*p->volumes[0].size_limit, 64 << 20);
  EXPECT_EQ(p->volumes[2].source, "/var/log");
  EXPECT_EQ(p->volumes[4].kind, VolumeKind::kSecret);
  EXPECT_EQ(p->volumes[4].default_mode, 0400);
  EXPECT_TRUE(c.volume_mounts[1].read_only);
}

TEST(PodManifestTest, BadSecurityProbesAndVolumesNameTheField) {
  const std::string base = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n";
  EXPECT_NE(ErrorOf(base + "  - {name: c, image: x, livenessProbe: {periodSeconds: 3}}\n")
                .find("spec.containers[0].livenessProbe: must specify exactly one handler type"),
            std::string::npos);
  EXPECT_NE(ErrorOf(base + "  - {name: c, image: x, readinessProbe: {httpGet: {port: web}}}\n")
                .find("readinessProbe.httpGet.port: no container port named \"web\""),
            std::string::npos);
  EXPECT_NE(
      ErrorOf(base +
              "  - {name: c, image: x, securityContext: {seccompProfile: {type: Localhost}}}\n")
          .find("securityContext.seccompProfile.type: Unsupported value"),
      std::string::npos);
  EXPECT_NE(ErrorOf(base + "  - {name: c, image: x, volumeMounts: [{name: v, mountPath: /v}]}\n")
                .find("spec.containers[0].volumeMounts[0].name: Not found: \"v\""),
            std::string::npos);
  EXPECT_NE(
      ErrorOf(
          base +
          "  - {name: c, image: x}\n  volumes: [{name: v, emptyDir: {}, hostPath: {path: /}}]\n")
          .find("spec.volumes[0]: must specify exactly one volume source"),
      std::string::npos);
  EXPECT_NE(
      ErrorOf(base + "  - {name: c, image: x}\n  volumes: [{name: v, hostPath: {path: rel}}]\n")
          .find("spec.volumes[0].hostPath.path: must be an absolute path"),
      std::string::npos);
}

TEST(QuantityTest, CpuAndBytes) {
  EXPECT_EQ(*ParseMilliCpu("500m"), 500);
  EXPECT_EQ(*ParseMilliCpu("2"), 2000);
  EXPECT_EQ(*ParseMilliCpu("0.25"), 250);
  EXPECT_EQ(*ParseBytes("128Mi"), 134217728);
  EXPECT_EQ(*ParseBytes("1G"), 1000000000);
  EXPECT_EQ(*ParseBytes("1e3"), 1000);
  EXPECT_EQ(*ParseBytes("512"), 512);
  EXPECT_FALSE(ParseBytes("12Qi").ok());
  EXPECT_FALSE(ParseBytes("inf").ok());
  EXPECT_FALSE(ParseBytes("-1").ok());
  EXPECT_FALSE(ParseMilliCpu("").ok());
}

}  // namespace
}  // namespace berth::nodeagent

namespace berth::nodeagent {
namespace {

constexpr const char* kEnvFiles = R"(
apiVersion: v1
kind: Pod
metadata: {name: env}
spec:
  containers:
    - name: app
      image: busybox
      env:
        - name: DB_HOST
          valueFrom: {configMapKeyRef: {name: db, key: host}}
        - name: DB_PASS
          valueFrom: {secretKeyRef: {name: db-creds, key: password, optional: true}}
      envFrom:
        - configMapRef: {name: common}
        - prefix: S_
          secretRef: {name: tokens}
)";

TEST(PodManifestEnvTest, ValueFromAndEnvFrom) {
  auto p = ParsePodManifest(kEnvFiles, "env.yaml");
  ASSERT_OK(p);
  const ContainerSpec& c = p->containers[0];
  ASSERT_EQ(c.env.size(), 2u);
  ASSERT_TRUE(c.env[0].value_from.has_value());
  EXPECT_EQ(c.env[0].value_from->source, ConfigSource::kConfigMap);
  EXPECT_EQ(c.env[0].value_from->name, "db");
  EXPECT_EQ(c.env[0].value_from->key, "host");
  EXPECT_FALSE(c.env[0].value_from->optional);
  EXPECT_EQ(c.env[1].value_from->source, ConfigSource::kSecret);
  EXPECT_TRUE(c.env[1].value_from->optional);
  ASSERT_EQ(c.env_from.size(), 2u);
  EXPECT_EQ(c.env_from[0].source, ConfigSource::kConfigMap);
  EXPECT_EQ(c.env_from[0].name, "common");
  EXPECT_EQ(c.env_from[1].source, ConfigSource::kSecret);
  EXPECT_EQ(c.env_from[1].prefix, "S_");
}

TEST(PodManifestEnvTest, BadEnvSourcesNameTheField) {
  auto bad = [](const std::string& env) {
    auto r = ParsePodManifest(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n    - name: a\n     "
        " image: b\n" +
            env,
        "x.yaml");
    return r.ok() ? std::string() : r.error().ToString();
  };
  EXPECT_NE(bad("      env: [{name: A, value: x, valueFrom: {configMapKeyRef: {name: c, key: k}}}]")
                .find("spec.containers[0].env[0].valueFrom"),
            std::string::npos);
  EXPECT_NE(bad("      env: [{name: A, valueFrom: {configMapKeyRef: {name: c}}}]")
                .find("spec.containers[0].env[0].valueFrom.configMapKeyRef.key: Required value"),
            std::string::npos);
  EXPECT_NE(bad("      env: [{name: A, valueFrom: {fieldRef: {fieldPath: x}}}]")
                .find("spec.containers[0].env[0].valueFrom.fieldRef"),
            std::string::npos);
  EXPECT_NE(bad("      envFrom: [{configMapRef: {name: a}, secretRef: {name: b}}]")
                .find("spec.containers[0].envFrom[0]: must specify exactly one"),
            std::string::npos);
  EXPECT_NE(bad("      env: [{name: \"A=B\", value: x}]").find("spec.containers[0].env[0].name"),
            std::string::npos);
}

}  // namespace
}  // namespace berth::nodeagent
