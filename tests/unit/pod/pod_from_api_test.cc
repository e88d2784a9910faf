// The control plane's v1.Pod as the agent's PodManifest: every supported
// field group, the defaults a manifest file gets, named probe ports, the
// deletion grace, and an error naming the field path for what the agent
// cannot honour or what is impossible.
#include "pod_from_api.h"

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/api/codec.h"

namespace berth::nodeagent {
namespace {

constexpr const char* kHeader = "apiVersion: v1\nkind: Pod\n";
constexpr const char* kMeta = "metadata: {name: web, namespace: shop, uid: u-1}\n";

// The pod a YAML manifest decodes to, as berth-control would store it.
v1::Pod Decode(const std::string& yaml) {
  auto m = api::DecodeManifests(yaml, "pod.yaml");
  if (!m.ok()) {
    ADD_FAILURE() << m.error().ToString();
    return {};
  }
  if (m->size() != 1 || !(*m)[0].object.has_pod()) {
    ADD_FAILURE() << "not one Pod: " << yaml;
    return {};
  }
  return (*m)[0].object.pod();
}

Result<PodManifest> Convert(const std::string& yaml) { return PodManifestFromApi(Decode(yaml)); }

// `spec` is the YAML under "spec:".
Result<PodManifest> ConvertSpec(const std::string& spec, const std::string& meta = kMeta) {
  return Convert(std::string(kHeader) + meta + "spec:\n" + spec);
}

constexpr const char* kWeb = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  uid: 6f1c-42
  labels: {app: web, tier: front}
  annotations: {note: hello}
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
      command: [nginx]
      args: ["-g", "daemon off;"]
      workingDir: /srv
      env:
        - {name: MODE, value: prod}
        - {name: EMPTY}
        - name: DB_HOST
          valueFrom: {configMapKeyRef: {name: db, key: host}}
        - name: DB_PASS
          valueFrom: {secretKeyRef: {name: db-creds, key: password, optional: true}}
      envFrom:
        - configMapRef: {name: common}
        - prefix: S_
          secretRef: {name: tokens, optional: true}
      ports:
        - {name: http, containerPort: 8080, protocol: TCP}
        - {containerPort: 53, protocol: UDP}
      resources:
        requests: {cpu: 250m, memory: 64Mi}
        limits: {cpu: "1", memory: 128Mi}
)";

TEST(PodFromApiTest, MetadataAndSpec) {
  auto p = Convert(kWeb);
  ASSERT_OK(p);
  EXPECT_EQ(p->name, "web");
  EXPECT_EQ(p->namespace_, "shop");
  EXPECT_EQ(p->uid, "6f1c-42");
  EXPECT_EQ(p->labels, (std::map<std::string, std::string>{{"app", "web"}, {"tier", "front"}}));
  EXPECT_EQ(p->annotations.at("note"), "hello");
  EXPECT_EQ(p->restart_policy, RestartPolicy::kOnFailure);
  EXPECT_EQ(p->termination_grace_period_seconds, 10);
  EXPECT_TRUE(p->share_process_namespace);
  EXPECT_TRUE(p->config_dir.empty());
  ASSERT_EQ(p->init_containers.size(), 1u);
  EXPECT_EQ(p->init_containers[0].name, "setup");
  EXPECT_EQ(p->init_containers[0].command,
            (std::vector<std::string>{"sh", "-c", "echo ready > /work/flag"}));
  ASSERT_EQ(p->containers.size(), 1u);
  const ContainerSpec& c = p->containers[0];
  EXPECT_EQ(c.name, "nginx");
  EXPECT_EQ(c.image, "docker.io/library/nginx:1.25");
  EXPECT_EQ(c.command, std::vector<std::string>{"nginx"});
  EXPECT_EQ(c.args, (std::vector<std::string>{"-g", "daemon off;"}));
  EXPECT_EQ(c.working_dir, "/srv");
}

TEST(PodFromApiTest, EnvAndEnvFrom) {
  auto p = Convert(kWeb);
  ASSERT_OK(p);
  const ContainerSpec& c = p->containers[0];
  ASSERT_EQ(c.env.size(), 4u);
  EXPECT_EQ(c.env[0].name, "MODE");
  EXPECT_EQ(c.env[0].value, "prod");
  EXPECT_FALSE(c.env[0].value_from.has_value());
  EXPECT_EQ(c.env[1].value, "");
  ASSERT_TRUE(c.env[2].value_from.has_value());
  EXPECT_EQ(c.env[2].value_from->source, ConfigSource::kConfigMap);
  EXPECT_EQ(c.env[2].value_from->name, "db");
  EXPECT_EQ(c.env[2].value_from->key, "host");
  EXPECT_FALSE(c.env[2].value_from->optional);
  ASSERT_TRUE(c.env[3].value_from.has_value());
  EXPECT_EQ(c.env[3].value_from->source, ConfigSource::kSecret);
  EXPECT_EQ(c.env[3].value_from->key, "password");
  EXPECT_TRUE(c.env[3].value_from->optional);
  ASSERT_EQ(c.env_from.size(), 2u);
  EXPECT_EQ(c.env_from[0].source, ConfigSource::kConfigMap);
  EXPECT_EQ(c.env_from[0].name, "common");
  EXPECT_EQ(c.env_from[0].prefix, "");
  EXPECT_FALSE(c.env_from[0].optional);
  EXPECT_EQ(c.env_from[1].source, ConfigSource::kSecret);
  EXPECT_EQ(c.env_from[1].name, "tokens");
  EXPECT_EQ(c.env_from[1].prefix, "S_");
  EXPECT_TRUE(c.env_from[1].optional);
}

TEST(PodFromApiTest, PortsAndResources) {
  auto p = Convert(kWeb);
  ASSERT_OK(p);
  const ContainerSpec& c = p->containers[0];
  ASSERT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.ports[0].name, "http");
  EXPECT_EQ(c.ports[0].container_port, 8080);
  EXPECT_EQ(c.ports[0].protocol, "TCP");
  EXPECT_EQ(c.ports[1].name, "");
  EXPECT_EQ(c.ports[1].container_port, 53);
  EXPECT_EQ(c.ports[1].protocol, "UDP");
  EXPECT_EQ(c.resources.cpu_request_milli, 250);
  EXPECT_EQ(c.resources.cpu_limit_milli, 1000);
  EXPECT_EQ(c.resources.memory_request_bytes, int64_t{64} << 20);
  EXPECT_EQ(c.resources.memory_limit_bytes, int64_t{128} << 20);
}

TEST(PodFromApiTest, DefaultsAsAManifestFileGets) {
  auto p = Convert(std::string(kHeader) +
                   "metadata: {name: a, uid: u-2}\n"
                   "spec:\n"
                   "  containers:\n"
                   "  - name: c\n"
                   "    image: busybox\n"
                   "    ports: [{containerPort: 80}]\n"
                   "    readinessProbe: {httpGet: {port: 80}}\n"
                   "    securityContext: {runAsUser: 1}\n"
                   "  volumes:\n"
                   "  - {name: conf, configMap: {name: c}}\n"
                   "  - {name: creds, secret: {secretName: s}}\n"
                   "  - {name: scratch, emptyDir: {}}\n");
  ASSERT_OK(p);
  EXPECT_EQ(p->namespace_, "default");
  EXPECT_TRUE(p->labels.empty());
  EXPECT_EQ(p->restart_policy, RestartPolicy::kAlways);
  EXPECT_EQ(p->termination_grace_period_seconds, 30);
  EXPECT_FALSE(p->share_process_namespace);
  EXPECT_TRUE(p->init_containers.empty());
  const ContainerSpec& c = p->containers[0];
  EXPECT_TRUE(c.command.empty());
  EXPECT_EQ(c.working_dir, "");
  EXPECT_EQ(c.ports[0].protocol, "TCP");
  EXPECT_FALSE(c.resources.cpu_request_milli.has_value());
  EXPECT_FALSE(c.resources.memory_limit_bytes.has_value());
  EXPECT_EQ(c.security.run_as_user, 1);
  EXPECT_FALSE(c.security.run_as_group.has_value());
  EXPECT_FALSE(c.security.privileged);
  EXPECT_FALSE(c.security.read_only_root_filesystem);
  EXPECT_FALSE(c.security.allow_privilege_escalation.has_value());
  EXPECT_EQ(c.security.seccomp_profile, "RuntimeDefault");
  ASSERT_TRUE(c.readiness.has_value());
  EXPECT_EQ(c.readiness->path, "/");
  EXPECT_EQ(c.readiness->initial_delay_seconds, 0);
  EXPECT_EQ(c.readiness->period_seconds, 10);
  EXPECT_EQ(c.readiness->timeout_seconds, 1);
  EXPECT_EQ(c.readiness->success_threshold, 1);
  EXPECT_EQ(c.readiness->failure_threshold, 3);
  EXPECT_FALSE(c.liveness.has_value());
  EXPECT_FALSE(c.startup.has_value());
  EXPECT_TRUE(c.pre_stop_exec.empty());
  ASSERT_EQ(p->volumes.size(), 3u);
  EXPECT_EQ(p->volumes[0].default_mode, 0644);
  EXPECT_EQ(p->volumes[1].default_mode, 0400);  // secrets, as manifest.cc
  EXPECT_EQ(p->volumes[2].kind, VolumeKind::kEmptyDir);
  EXPECT_FALSE(p->volumes[2].memory);
  EXPECT_FALSE(p->volumes[2].size_limit.has_value());
}

TEST(PodFromApiTest, AConvertedManifestMatchesTheParsedFile) {
  auto parsed = ParsePodManifest(kWeb, "web.yaml");
  auto converted = Convert(kWeb);
  ASSERT_OK(parsed);
  ASSERT_OK(converted);
  EXPECT_EQ(converted->name, parsed->name);
  EXPECT_EQ(converted->labels, parsed->labels);
  EXPECT_EQ(converted->termination_grace_period_seconds, parsed->termination_grace_period_seconds);
  ASSERT_EQ(converted->containers.size(), parsed->containers.size());
  const ContainerSpec& a = converted->containers[0];
  const ContainerSpec& b = parsed->containers[0];
  EXPECT_EQ(a.args, b.args);
  ASSERT_EQ(a.env.size(), b.env.size());
  for (size_t i = 0; i < a.env.size(); ++i) {
    EXPECT_EQ(a.env[i].name, b.env[i].name);
    EXPECT_EQ(a.env[i].value, b.env[i].value);
    EXPECT_EQ(a.env[i].value_from.has_value(), b.env[i].value_from.has_value());
  }
  EXPECT_EQ(a.resources.cpu_limit_milli, b.resources.cpu_limit_milli);
  EXPECT_EQ(a.resources.memory_request_bytes, b.resources.memory_request_bytes);
}

TEST(PodFromApiTest, DeletionGraceOverridesTheSpec) {
  const std::string spec =
      "  terminationGracePeriodSeconds: 60\n  containers: [{name: c, image: x}]\n";
  auto plain = ConvertSpec(spec);
  ASSERT_OK(plain);
  EXPECT_EQ(plain->termination_grace_period_seconds, 60);
  auto deleting =
      ConvertSpec(spec, "metadata: {name: web, uid: u-1, deletionGracePeriodSeconds: 5}\n");
  ASSERT_OK(deleting);
  EXPECT_EQ(deleting->termination_grace_period_seconds, 5);
  auto forced =
      ConvertSpec(spec, "metadata: {name: web, uid: u-1, deletionGracePeriodSeconds: 0}\n");
  ASSERT_OK(forced);
  EXPECT_EQ(forced->termination_grace_period_seconds, 0);
  // Without a spec value the deletion's grace still wins over the default.
  auto unset = ConvertSpec("  containers: [{name: c, image: x}]\n",
                           "metadata: {name: web, uid: u-1, deletionGracePeriodSeconds: 7}\n");
  ASSERT_OK(unset);
  EXPECT_EQ(unset->termination_grace_period_seconds, 7);
  auto zero_spec = ConvertSpec(
      "  terminationGracePeriodSeconds: 0\n"
      "  containers: [{name: c, image: x}]\n");
  ASSERT_OK(zero_spec);
  EXPECT_EQ(zero_spec->termination_grace_period_seconds, 0);
}

constexpr const char* kFull = R"(apiVersion: v1
kind: Pod
metadata: {name: full, uid: u-3}
spec:
  volumes:
    - {name: scratch, emptyDir: {medium: Memory, sizeLimit: 64Mi}}
    - {name: cache, emptyDir: {}}
    - {name: host, hostPath: {path: /var/log}}
    - {name: conf, configMap: {name: web-conf, defaultMode: 0o440}}
    - {name: creds, secret: {secretName: web-creds, defaultMode: 0o444}}
  containers:
    - name: app
      image: busybox
      ports: [{name: http, containerPort: 8080}, {name: admin, containerPort: 9090}]
      securityContext:
        runAsUser: 1000
        runAsGroup: 2000
        readOnlyRootFilesystem: true
        allowPrivilegeEscalation: false
        capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
        seccompProfile: {type: Unconfined}
      livenessProbe:
        httpGet: {path: /healthz, port: http}
        initialDelaySeconds: 3
        periodSeconds: 5
        timeoutSeconds: 2
        successThreshold: 1
        failureThreshold: 2
      readinessProbe: {tcpSocket: {port: admin}, successThreshold: 2}
      startupProbe: {exec: {command: [cat, /tmp/ready]}}
      lifecycle: {preStop: {exec: {command: [sh, -c, "sleep 1"]}}}
      volumeMounts:
        - {name: scratch, mountPath: /tmp}
        - {name: creds, mountPath: /etc/creds, readOnly: true}
    - name: side
      image: busybox
      securityContext: {privileged: true}
      livenessProbe: {httpGet: {port: "8081"}}
      readinessProbe: {tcpSocket: {port: 7000}}
      volumeMounts: [{name: host, mountPath: /logs}]
)";

TEST(PodFromApiTest, SecurityContext) {
  auto p = Convert(kFull);
  ASSERT_OK(p);
  const SecurityContext& s = p->containers[0].security;
  EXPECT_EQ(s.run_as_user, 1000);
  EXPECT_EQ(s.run_as_group, 2000);
  EXPECT_TRUE(s.read_only_root_filesystem);
  EXPECT_FALSE(s.privileged);
  EXPECT_EQ(s.allow_privilege_escalation, false);
  EXPECT_EQ(s.capabilities_add, std::vector<std::string>{"NET_BIND_SERVICE"});
  EXPECT_EQ(s.capabilities_drop, std::vector<std::string>{"ALL"});
  EXPECT_EQ(s.seccomp_profile, "Unconfined");
  EXPECT_TRUE(p->containers[1].security.privileged);
}

TEST(PodFromApiTest, ProbesResolveNamedPorts) {
  auto p = Convert(kFull);
  ASSERT_OK(p);
  const ContainerSpec& c = p->containers[0];
  ASSERT_TRUE(c.liveness.has_value());
  EXPECT_EQ(c.liveness->kind, ProbeKind::kHttpGet);
  EXPECT_EQ(c.liveness->path, "/healthz");
  EXPECT_EQ(c.liveness->port, 8080);  // "http"
  EXPECT_EQ(c.liveness->initial_delay_seconds, 3);
  EXPECT_EQ(c.liveness->period_seconds, 5);
  EXPECT_EQ(c.liveness->timeout_seconds, 2);
  EXPECT_EQ(c.liveness->success_threshold, 1);
  EXPECT_EQ(c.liveness->failure_threshold, 2);
  ASSERT_TRUE(c.readiness.has_value());
  EXPECT_EQ(c.readiness->kind, ProbeKind::kTcpSocket);
  EXPECT_EQ(c.readiness->port, 9090);  // "admin"
  EXPECT_EQ(c.readiness->success_threshold, 2);
  ASSERT_TRUE(c.startup.has_value());
  EXPECT_EQ(c.startup->kind, ProbeKind::kExec);
  EXPECT_EQ(c.startup->command, (std::vector<std::string>{"cat", "/tmp/ready"}));
  // A string of digits is a number, as in a manifest file.
  EXPECT_EQ(p->containers[1].liveness->port, 8081);
  EXPECT_EQ(p->containers[1].readiness->port, 7000);
}

TEST(PodFromApiTest, LifecycleMountsAndVolumes) {
  auto p = Convert(kFull);
  ASSERT_OK(p);
  const ContainerSpec& c = p->containers[0];
  EXPECT_EQ(c.pre_stop_exec, (std::vector<std::string>{"sh", "-c", "sleep 1"}));
  ASSERT_EQ(c.volume_mounts.size(), 2u);
  EXPECT_EQ(c.volume_mounts[0].name, "scratch");
  EXPECT_EQ(c.volume_mounts[0].mount_path, "/tmp");
  EXPECT_FALSE(c.volume_mounts[0].read_only);
  EXPECT_TRUE(c.volume_mounts[1].read_only);
  EXPECT_EQ(p->containers[1].volume_mounts[0].name, "host");
  ASSERT_EQ(p->volumes.size(), 5u);
  EXPECT_EQ(p->volumes[0].kind, VolumeKind::kEmptyDir);
  EXPECT_TRUE(p->volumes[0].memory);
  EXPECT_EQ(p->volumes[0].size_limit, int64_t{64} << 20);
  EXPECT_EQ(p->volumes[1].kind, VolumeKind::kEmptyDir);
  EXPECT_FALSE(p->volumes[1].memory);
  EXPECT_EQ(p->volumes[2].kind, VolumeKind::kHostPath);
  EXPECT_EQ(p->volumes[2].source, "/var/log");
  EXPECT_EQ(p->volumes[3].kind, VolumeKind::kConfigMap);
  EXPECT_EQ(p->volumes[3].source, "web-conf");
  EXPECT_EQ(p->volumes[3].default_mode, 0440);
  EXPECT_EQ(p->volumes[4].kind, VolumeKind::kSecret);
  EXPECT_EQ(p->volumes[4].source, "web-creds");
  EXPECT_EQ(p->volumes[4].default_mode, 0444);
}

TEST(PodFromApiTest, SchedulingOnlyFieldsAreIgnored) {
  auto p = Convert(R"(apiVersion: v1
kind: Pod
metadata:
  name: web
  uid: u-1
  generateName: web-
  resourceVersion: "42"
  generation: 3
  creationTimestamp: "2024-01-02T03:04:05Z"
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-1, uid: r-1}]
  finalizers: [berth.io/x]
spec:
  nodeName: n1
  nodeSelector: {disk: ssd}
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]
  tolerations: [{key: k, operator: Exists, effect: NoSchedule}]
  priority: 1000
  priorityClassName: high
  schedulerName: default-scheduler
  preemptionPolicy: Never
  hostname: other
  activeDeadlineSeconds: 60
  volumes: [{name: h, hostPath: {path: /data, type: DirectoryOrCreate}}]
  containers:
    - name: c
      image: x
      imagePullPolicy: IfNotPresent
      terminationMessagePath: /dev/termination-log
      ports: [{containerPort: 80, hostIP: 10.0.0.1}]
      securityContext: {runAsNonRoot: true, runAsUser: 1000}
      livenessProbe: {httpGet: {port: 80, scheme: HTTP}}
status:
  phase: Running
  podIP: 10.1.0.7
)");
  ASSERT_OK(p);
  EXPECT_EQ(p->name, "web");
  EXPECT_EQ(p->volumes[0].source, "/data");
  EXPECT_EQ(p->containers[0].ports[0].container_port, 80);
  EXPECT_EQ(p->containers[0].security.run_as_user, 1000);
  EXPECT_EQ(p->containers[0].liveness->port, 80);
}

TEST(PodFromApiTest, ABareProtoConverts) {
  v1::Pod pod;
  pod.mutable_metadata()->set_name("web");
  pod.mutable_metadata()->set_uid("u-1");
  v1::Container* c = pod.mutable_spec()->add_containers();
  c->set_name("c");
  c->set_image("x");
  c->add_ports()->set_container_port(80);
  c->mutable_liveness_probe()->mutable_tcp_socket()->mutable_port()->set_number_value(80);
  pod.mutable_spec()->add_volumes()->set_name("v");
  pod.mutable_spec()->mutable_volumes(0)->mutable_empty_dir();
  auto p = PodManifestFromApi(pod);
  ASSERT_OK(p);
  EXPECT_EQ(p->containers[0].ports[0].protocol, "TCP");
  EXPECT_EQ(p->containers[0].liveness->port, 80);
  EXPECT_EQ(p->containers[0].liveness->period_seconds, 10);
  EXPECT_EQ(p->volumes[0].kind, VolumeKind::kEmptyDir);

  // A probe port that is neither a number nor a name.
  c->mutable_liveness_probe()->mutable_tcp_socket()->mutable_port()->set_bool_value(true);
  auto bad = PodManifestFromApi(pod);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(),
            "spec.containers[0].livenessProbe.tcpSocket.port: expected a port number or name");
  c->mutable_liveness_probe()->mutable_tcp_socket()->clear_port();
  auto unset = PodManifestFromApi(pod);
  ASSERT_FALSE(unset.ok());
  EXPECT_EQ(unset.error().message(),
            "spec.containers[0].livenessProbe.tcpSocket.port: Required value");
}

struct BadCase {
  const char* spec;  // YAML under "spec:"
  const char* want;  // the start of the innermost message
};

void ExpectErrors(const std::vector<BadCase>& cases) {
  for (const BadCase& bad : cases) {
    SCOPED_TRACE(bad.spec);
    auto r = ConvertSpec(bad.spec);
    ASSERT_FALSE(r.ok()) << "converted, wanted " << bad.want;
    EXPECT_EQ(r.error().err(), EINVAL);
    const std::string want = bad.want;
    EXPECT_EQ(r.error().message().substr(0, want.size()), want);
    EXPECT_EQ(r.error().ToString().rfind("pod shop/web: " + want, 0), 0u) << r.error().ToString();
  }
}

TEST(PodFromApiTest, WhatTheAgentCannotHonourIsRejected) {
  ExpectErrors({
      {"  containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: 8080}]}]\n",
       "spec.containers[0].ports[0].hostPort: not supported by berth-agent"},
      {"  containers: [{name: c, image: x}, {name: d, image: x, ports: [{containerPort: 80}, "
       "{containerPort: 81, hostPort: 81}]}]\n",
       "spec.containers[1].ports[1].hostPort: not supported by berth-agent"},
      {"  containers: [{name: c, image: x, livenessProbe: {httpGet: {port: 80, scheme: "
       "HTTPS}}}]\n",
       "spec.containers[0].livenessProbe.httpGet.scheme: not supported by berth-agent"},
      {"  containers: [{name: c, image: x, readinessProbe: {httpGet: {port: 80, host: "
       "example.com}}}]\n",
       "spec.containers[0].readinessProbe.httpGet.host: not supported by berth-agent"},
      {"  containers: [{name: c, image: x, startupProbe: {tcpSocket: {port: 80, host: "
       "10.0.0.1}}}]\n",
       "spec.containers[0].startupProbe.tcpSocket.host: not supported by berth-agent"},
      {"  containers: [{name: c, image: x, resources: {limits: {ephemeral-storage: 1Gi}}}]\n",
       "spec.containers[0].resources.limits.ephemeral-storage: not supported by berth-agent"},
      {"  containers: [{name: c, image: x, resources: {requests: {ephemeral-storage: 1Gi}}}]\n",
       "spec.containers[0].resources.requests.ephemeral-storage: not supported by berth-agent"},
      {"  initContainers: [{name: i, image: x, resources: {limits: {nvidia.com/gpu: "
       "\"1\"}}}]\n  containers: [{name: c, image: x}]\n",
       "spec.initContainers[0].resources.limits.nvidia.com/gpu: not supported by berth-agent"},
      {"  containers: [{name: c, image: x}]\n  volumes: [{name: v, configMap: {name: c, "
       "optional: true}}]\n",
       "spec.volumes[0].configMap.optional: not supported by berth-agent"},
      {"  containers: [{name: c, image: x}]\n  volumes: [{name: v, secret: {secretName: s, "
       "optional: true}}]\n",
       "spec.volumes[0].secret.optional: not supported by berth-agent"},
  });
}

TEST(PodFromApiTest, ImpossibleContainersNameTheField) {
  ExpectErrors({
      {"  containers: []\n", "spec.containers: Required value"},
      {"  initContainers: [{name: i, image: x}]\n", "spec.containers: Required value"},
      {"  containers: [{image: x}]\n", "spec.containers[0].name: Required value"},
      {"  containers: [{name: C_1, image: x}]\n",
       "spec.containers[0].name: \"C_1\" must be a DNS-1123 label"},
      {"  containers: [{name: c}]\n", "spec.containers[0].image: Required value"},
      {"  containers: [{name: c, image: x}, {name: c, image: y}]\n",
       "spec.containers[1].name: Duplicate value: \"c\""},
      {"  initContainers: [{name: c, image: x}]\n  containers: [{name: c, image: y}]\n",
       "spec.initContainers[0].name: Duplicate value: \"c\""},
      {"  containers: [{name: c, image: x, ports: [{name: p}]}]\n",
       "spec.containers[0].ports[0].containerPort: Required value"},
      {"  containers: [{name: c, image: x, ports: [{containerPort: 70000}]}]\n",
       "spec.containers[0].ports[0].containerPort: must be between 1 and 65535, inclusive"},
      {"  containers: [{name: c, image: x, ports: [{containerPort: 80, protocol: ICMP}]}]\n",
       "spec.containers[0].ports[0].protocol: Unsupported value: \"ICMP\""},
      {"  containers: [{name: c, image: x, resources: {limits: {cpu: lots}}}]\n",
       "spec.containers[0].resources.limits.cpu: "},
      {"  containers: [{name: c, image: x, resources: {requests: {memory: 1Qi}}}]\n",
       "spec.containers[0].resources.requests.memory: "},
      {"  containers: [{name: c, image: x, resources: {requests: {cpu: \"2\"}, limits: {cpu: "
       "\"1\"}}}]\n",
       "spec.containers[0].resources.requests.cpu: must be less than or equal to cpu limit"},
      {"  containers: [{name: c, image: x, resources: {requests: {memory: 2Gi}, limits: "
       "{memory: 1Gi}}}]\n",
       "spec.containers[0].resources.requests.memory: must be less than or equal to memory "
       "limit"},
  });
}

TEST(PodFromApiTest, ImpossibleEnvNamesTheField) {
  ExpectErrors({
      {"  containers: [{name: c, image: x, env: [{value: v}]}]\n",
       "spec.containers[0].env[0].name: Required value"},
      {"  containers: [{name: c, image: x, env: [{name: \"A=B\", value: v}]}]\n",
       "spec.containers[0].env[0].name: \"A=B\" must be a non-empty name without '='"},
      {"  containers: [{name: c, image: x, env: [{name: A, value: v, valueFrom: "
       "{configMapKeyRef: {name: c, key: k}}}]}]\n",
       "spec.containers[0].env[0].valueFrom: may not be specified when `value` is not empty"},
      {"  containers: [{name: c, image: x, env: [{name: A, valueFrom: {}}]}]\n",
       "spec.containers[0].env[0].valueFrom: must specify exactly one of configMapKeyRef, "
       "secretKeyRef"},
      {"  containers: [{name: c, image: x, env: [{name: A, valueFrom: {configMapKeyRef: {name: "
       "c, key: k}, secretKeyRef: {name: s, key: k}}}]}]\n",
       "spec.containers[0].env[0].valueFrom: must specify exactly one"},
      {"  containers: [{name: c, image: x, env: [{name: A, valueFrom: {configMapKeyRef: {name: "
       "c}}}]}]\n",
       "spec.containers[0].env[0].valueFrom.configMapKeyRef.key: Required value"},
      {"  containers: [{name: c, image: x, env: [{name: A, valueFrom: {secretKeyRef: {key: "
       "k}}}]}]\n",
       "spec.containers[0].env[0].valueFrom.secretKeyRef.name: Required value"},
      {"  containers: [{name: c, image: x, envFrom: [{prefix: P_}]}]\n",
       "spec.containers[0].envFrom[0]: must specify exactly one of configMapRef, secretRef"},
      {"  containers: [{name: c, image: x, envFrom: [{configMapRef: {name: a}, secretRef: "
       "{name: b}}]}]\n",
       "spec.containers[0].envFrom[0]: must specify exactly one"},
      {"  containers: [{name: c, image: x, envFrom: [{secretRef: {optional: true}}]}]\n",
       "spec.containers[0].envFrom[0].secretRef.name: Required value"},
  });
}

TEST(PodFromApiTest, ImpossibleSecurityProbesAndLifecycleNameTheField) {
  ExpectErrors({
      {"  containers: [{name: c, image: x, securityContext: {runAsUser: -1}}]\n",
       "spec.containers[0].securityContext.runAsUser: must be >= 0"},
      {"  containers: [{name: c, image: x, securityContext: {runAsGroup: -1}}]\n",
       "spec.containers[0].securityContext.runAsGroup: must be >= 0"},
      {"  containers: [{name: c, image: x, securityContext: {runAsNonRoot: true, runAsUser: "
       "0}}]\n",
       "spec.containers[0].securityContext.runAsNonRoot: runAsUser 0 breaks the non-root policy"},
      {"  containers: [{name: c, image: x, securityContext: {privileged: true, "
       "allowPrivilegeEscalation: false}}]\n",
       "spec.containers[0].securityContext: cannot set `allowPrivilegeEscalation` to false and "
       "`privileged` to true"},
      {"  containers: [{name: c, image: x, securityContext: {seccompProfile: {type: "
       "Localhost}}}]\n",
       "spec.containers[0].securityContext.seccompProfile.type: Unsupported value: "
       "\"Localhost\""},
      {"  containers: [{name: c, image: x, securityContext: {seccompProfile: {}}}]\n",
       "spec.containers[0].securityContext.seccompProfile.type: Required value"},
      {"  containers: [{name: c, image: x, livenessProbe: {periodSeconds: 3}}]\n",
       "spec.containers[0].livenessProbe: must specify exactly one handler type"},
      {"  containers: [{name: c, image: x, livenessProbe: {exec: {command: [a]}, tcpSocket: "
       "{port: 1}}}]\n",
       "spec.containers[0].livenessProbe: must specify exactly one handler type"},
      {"  containers: [{name: c, image: x, startupProbe: {exec: {command: []}}}]\n",
       "spec.containers[0].startupProbe.exec.command: Required value"},
      {"  containers: [{name: c, image: x, readinessProbe: {httpGet: {port: web}}}]\n",
       "spec.containers[0].readinessProbe.httpGet.port: no container port named \"web\""},
      {"  containers: [{name: c, image: x, readinessProbe: {httpGet: {path: /}}}]\n",
       "spec.containers[0].readinessProbe.httpGet.port: Required value"},
      {"  containers: [{name: c, image: x, readinessProbe: {tcpSocket: {port: 70000}}}]\n",
       "spec.containers[0].readinessProbe.tcpSocket.port: must be between 1 and 65535, "
       "inclusive"},
      {"  containers: [{name: c, image: x, readinessProbe: {tcpSocket: {port: 80.5}}}]\n",
       "spec.containers[0].readinessProbe.tcpSocket.port: must be between 1 and 65535, "
       "inclusive"},
      {"  containers: [{name: c, image: x, readinessProbe: {tcpSocket: {port: \"99999\"}}}]\n",
       "spec.containers[0].readinessProbe.tcpSocket.port: must be between 1 and 65535, "
       "inclusive"},
      {"  containers: [{name: c, image: x, livenessProbe: {exec: {command: [a]}, "
       "periodSeconds: -1}}]\n",
       "spec.containers[0].livenessProbe.periodSeconds: must be >= 1"},
      {"  containers: [{name: c, image: x, livenessProbe: {exec: {command: [a]}, "
       "initialDelaySeconds: -1}}]\n",
       "spec.containers[0].livenessProbe.initialDelaySeconds: must be >= 0"},
      {"  containers: [{name: c, image: x, livenessProbe: {exec: {command: [a]}, "
       "failureThreshold: -2}}]\n",
       "spec.containers[0].livenessProbe.failureThreshold: must be >= 1"},
      {"  containers: [{name: c, image: x, lifecycle: {preStop: {}}}]\n",
       "spec.containers[0].lifecycle.preStop: must specify a handler type"},
      {"  containers: [{name: c, image: x, lifecycle: {preStop: {exec: {}}}}]\n",
       "spec.containers[0].lifecycle.preStop.exec.command: Required value"},
  });
}

TEST(PodFromApiTest, ImpossibleVolumesAndMountsNameTheField) {
  ExpectErrors({
      {"  containers: [{name: c, image: x, volumeMounts: [{name: v, mountPath: /v}]}]\n",
       "spec.containers[0].volumeMounts[0].name: Not found: \"v\""},
      {"  initContainers: [{name: i, image: x, volumeMounts: [{name: v, mountPath: /v}]}]\n"
       "  containers: [{name: c, image: x}]\n",
       "spec.initContainers[0].volumeMounts[0].name: Not found: \"v\""},
      {"  containers: [{name: c, image: x, volumeMounts: [{mountPath: /v}]}]\n",
       "spec.containers[0].volumeMounts[0].name: Required value"},
      {"  containers: [{name: c, image: x, volumeMounts: [{name: v, mountPath: rel}]}]\n"
       "  volumes: [{name: v, emptyDir: {}}]\n",
       "spec.containers[0].volumeMounts[0].mountPath: must be an absolute path"},
      {"  containers: [{name: c, image: x, volumeMounts: [{name: v, mountPath: /a}, {name: v, "
       "mountPath: /a}]}]\n  volumes: [{name: v, emptyDir: {}}]\n",
       "spec.containers[0].volumeMounts[1].mountPath: must be unique: \"/a\""},
      {"  containers: [{name: c, image: x}]\n  volumes: [{name: v}]\n",
       "spec.volumes[0]: must specify exactly one volume source"},
      {"  containers: [{name: c, image: x}]\n  volumes: [{name: v, emptyDir: {}, hostPath: "
       "{path: /}}]\n",
       "spec.volumes[0]: must specify exactly one volume source"},
      {"  containers: [{name: c, image: x}]\n  volumes: [{emptyDir: {}}]\n",
       "spec.volumes[0].name: Required value"},
      {"  containers: [{name: c, image: x}]\n  volumes: [{name: v, emptyDir: {}}, {name: v, "
       "emptyDir: {}}]\n",
       "spec.volumes[1].name: Duplicate value: \"v\""},
      {"  containers: [{name: c, image: x}]\n  volumes: [{name: v, emptyDir: {medium: Disk}}]\n",
       "spec.volumes[0].emptyDir.medium: Unsupported value: \"Disk\""},
      {"  containers: [{name: c, image: x}]\n  volumes: [{name: v, emptyDir: {sizeLimit: "
       "big}}]\n",
       "spec.volumes[0].emptyDir.sizeLimit: "},
      {"  containers: [{name: c, image: x}]\n  volumes: [{name: v, hostPath: {path: rel}}]\n",
       "spec.volumes[0].hostPath.path: must be an absolute path"},
      {"  containers: [{name: c, image: x}]\n  volumes: [{name: v, configMap: {}}]\n",
       "spec.volumes[0].configMap.name: Required value"},
      {"  containers: [{name: c, image: x}]\n  volumes: [{name: v, configMap: {name: c, "
       "defaultMode: 0o1000}}]\n",
       "spec.volumes[0].configMap.defaultMode: must be a number between 0 and 0777"},
      {"  containers: [{name: c, image: x}]\n  volumes: [{name: v, secret: {}}]\n",
       "spec.volumes[0].secret.secretName: Required value"},
      {"  containers: [{name: c, image: x}]\n  volumes: [{name: v, secret: {secretName: s, "
       "defaultMode: -1}}]\n",
       "spec.volumes[0].secret.defaultMode: must be a number between 0 and 0777"},
  });
}

TEST(PodFromApiTest, ImpossiblePodFieldsNameTheField) {
  ExpectErrors({
      {"  restartPolicy: Sometimes\n  containers: [{name: c, image: x}]\n",
       "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", "
       "\"OnFailure\", \"Never\""},
      {"  terminationGracePeriodSeconds: -1\n  containers: [{name: c, image: x}]\n",
       "spec.terminationGracePeriodSeconds: must be >= 0"},
  });
  const std::string spec = "  containers: [{name: c, image: x}]\n";
  struct MetaCase {
    const char* meta;
    const char* want;
  };
  for (const MetaCase& m : {
           MetaCase{"metadata: {uid: u-1}\n", "metadata.name: Required value"},
           MetaCase{"metadata: {name: Web_1, uid: u-1}\n",
                    "metadata.name: \"Web_1\" must be a DNS-1123 subdomain"},
           MetaCase{"metadata: {name: web}\n", "metadata.uid: Required value"},
           MetaCase{"metadata: {name: web, uid: ..}\n", "metadata.uid: \"..\" must not be a path"},
           MetaCase{"metadata: {name: web, uid: a/b}\n",
                    "metadata.uid: \"a/b\" must not be a path"},
           MetaCase{"metadata: {name: web, uid: u-1, deletionGracePeriodSeconds: -3}\n",
                    "metadata.deletionGracePeriodSeconds: must be >= 0"},
       }) {
    SCOPED_TRACE(m.meta);
    auto r = ConvertSpec(spec, m.meta);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().err(), EINVAL);
    EXPECT_EQ(r.error().message(), m.want);
  }
}

}  // namespace
}  // namespace berth::nodeagent
