#include "describe.h"

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/api/codec.h"

namespace berth::cli {
namespace {

// 2024-01-01T12:00:00Z: every fixture's times are relative to it.
const Clock::time_point kNow = Clock::from_time_t(1704110400);

std::vector<v1::Object> Objects(std::string_view yaml) {
  auto manifests = api::DecodeManifests(yaml, "fixture.yaml");
  EXPECT_TRUE(manifests.ok()) << manifests.error().ToString();
  std::vector<v1::Object> out;
  if (!manifests.ok()) return out;
  for (auto& m : *manifests) out.push_back(std::move(m.object));
  return out;
}

v1::Object One(std::string_view yaml) {
  std::vector<v1::Object> objects = Objects(yaml);
  return objects.empty() ? v1::Object() : objects.front();
}

std::vector<v1::Event> Events(std::string_view yaml) {
  std::vector<v1::Event> out;
  for (const v1::Object& o : Objects(yaml)) out.push_back(o.event());
  return out;
}

constexpr std::string_view kPod = R"(
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: default
  uid: p-1
  labels: {app: web, pod-template-hash: 7d4b9}
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}"}
  creationTimestamp: "2024-01-01T11:00:00Z"
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9, uid: rs-1, controller: true}
spec:
  nodeName: node-1
  containers:
  - name: web
    image: "nginx:1.25"
    ports: [{containerPort: 80, protocol: TCP}]
    resources:
      limits: {memory: 128Mi, cpu: 500m}
      requests: {cpu: 250m, memory: 64Mi}
    env: [{name: MODE, value: production}]
    volumeMounts: [{name: data, mountPath: /data}]
    readinessProbe:
      httpGet: {path: /, port: 80, scheme: HTTP}
      timeoutSeconds: 1
      periodSeconds: 10
      successThreshold: 1
      failureThreshold: 3
  volumes: [{name: data, emptyDir: {}}]
  tolerations:
  - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 300}
status:
  phase: Running
  hostIP: 192.168.1.10
  podIP: 10.244.0.5
  podIPs: [{ip: 10.244.0.5}]
  qosClass: Burstable
  startTime: "2024-01-01T11:00:00Z"
  conditions: [{type: Initialized, status: "True"}, {type: Ready, status: "True"}]
  containerStatuses:
  - name: web
    image: "nginx:1.25"
    ready: true
    restartCount: 0
    state: {running: {startedAt: "2024-01-01T11:00:05Z"}}
)";

// Everything `kubectl describe pod` prints before the events.
constexpr std::string_view kPodBody =
    "Name:         web-1\n"
    "Namespace:    default\n"
    "Node:         node-1/192.168.1.10\n"
    "Start Time:   Mon, 01 Jan 2024 11:00:00 +0000\n"
    "Labels:       app=web\n"
    "              pod-template-hash=7d4b9\n"
    "Annotations:  <none>\n"
    "Status:       Running\n"
    "IP:           10.244.0.5\n"
    "IPs:\n"
    "  IP:           10.244.0.5\n"
    "Controlled By:  ReplicaSet/web-7d4b9\n"
    "Containers:\n"
    "  web:\n"
    "    Container ID:   \n"
    "    Image:          nginx:1.25\n"
    "    Image ID:       \n"
    "    Port:           80/TCP\n"
    "    Host Port:      0/TCP\n"
    "    State:          Running\n"
    "      Started:      Mon, 01 Jan 2024 11:00:05 +0000\n"
    "    Ready:          True\n"
    "    Restart Count:  0\n"
    "    Limits:\n"
    "      cpu:     500m\n"
    "      memory:  128Mi\n"
    "    Requests:\n"
    "      cpu:      250m\n"
    "      memory:   64Mi\n"
    "    Readiness:  http-get http://:80/ delay=0s timeout=1s period=10s #success=1 #failure=3\n"
    "    Environment:\n"
    "      MODE:  production\n"
    "    Mounts:\n"
    "      /data from data (rw)\n"
    "Conditions:\n"
    "  Type          Status\n"
    "  Initialized   True \n"
    "  Ready         True \n"
    "Volumes:\n"
    "  data:\n"
    "    Type:        EmptyDir (a temporary directory that shares a pod's lifetime)\n"
    "    Medium:      \n"
    "    SizeLimit:   <unset>\n"
    "QoS Class:       Burstable\n"
    "Node-Selectors:  <none>\n"
    "Tolerations:     node.kubernetes.io/not-ready:NoExecute op=Exists for 300s\n";

constexpr std::string_view kPodEvents = R"(
apiVersion: v1
kind: Event
metadata: {name: web-1.3, namespace: default}
involvedObject: {kind: Pod, namespace: default, name: web-1, uid: p-1}
type: Warning
reason: Unhealthy
message: "Readiness probe failed: HTTP probe failed with statuscode: 503"
source: {component: kubelet, host: node-1}
firstTimestamp: "2024-01-01T11:58:30Z"
lastTimestamp: "2024-01-01T11:59:30Z"
count: 3
---
apiVersion: v1
kind: Event
metadata: {name: web-1.1, namespace: default}
involvedObject: {kind: Pod, namespace: default, name: web-1, uid: p-1}
type: Normal
reason: Scheduled
message: Successfully assigned default/web-1 to node-1
source: {component: default-scheduler}
firstTimestamp: "2024-01-01T11:58:00Z"
lastTimestamp: "2024-01-01T11:58:00Z"
count: 1
---
apiVersion: v1
kind: Event
metadata: {name: web-1.2, namespace: default}
involvedObject: {kind: Pod, namespace: default, name: web-1}
type: Normal
reason: Pulled
message: Container image "nginx:1.25" already present on machine
reportingComponent: kubelet
firstTimestamp: "2024-01-01T11:58:10Z"
lastTimestamp: "2024-01-01T11:58:10Z"
count: 1
---
apiVersion: v1
kind: Event
metadata: {name: crash.1, namespace: default}
involvedObject: {kind: Pod, namespace: default, name: crash}
type: Warning
reason: BackOff
message: Back-off restarting failed container
source: {component: kubelet}
firstTimestamp: "2024-01-01T11:59:00Z"
lastTimestamp: "2024-01-01T11:59:00Z"
count: 1
)";

TEST(Describe, PodWithoutEvents) {
  EXPECT_EQ(Describe(One(kPod), std::vector<v1::Event>{}, kNow),
            std::string(kPodBody) + "Events:          <none>\n");
}

TEST(Describe, PodWithEvents) {
  EXPECT_EQ(Describe(One(kPod), Events(kPodEvents), kNow),
            std::string(kPodBody) +
                "Events:\n"
                "  Type     Reason     Age                From               Message\n"
                "  ----     ------     ----               ----               -------\n"
                "  Normal   Scheduled  2m                 default-scheduler  Successfully assigned "
                "default/web-1 to node-1\n"
                "  Normal   Pulled     110s               kubelet            Container image "
                "\"nginx:1.25\" already present on machine\n"
                "  Warning  Unhealthy  30s (x3 over 90s)  kubelet            Readiness probe "
                "failed: HTTP probe failed with statuscode: 503\n");
}

TEST(Describe, PodWithoutEventsSection) {
  DescribeContext ctx;
  ctx.events = Events(kPodEvents);
  ctx.show_events = false;
  EXPECT_EQ(Describe(One(kPod), ctx, kNow), std::string(kPodBody));
}

constexpr std::string_view kDeployment = R"(
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  uid: d-1
  labels: {app: web}
  annotations: {deployment.kubernetes.io/revision: "2"}
  creationTimestamp: "2023-12-25T12:00:00Z"
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 25%, maxSurge: 25%}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.25", ports: [{containerPort: 80, protocol: TCP}]}]
status:
  replicas: 3
  updatedReplicas: 3
  readyReplicas: 3
  availableReplicas: 3
  conditions:
  - {type: Available, status: "True", reason: MinimumReplicasAvailable}
  - {type: Progressing, status: "True", reason: NewReplicaSetAvailable}
)";

TEST(Describe, DeploymentWithoutEvents) {
  EXPECT_EQ(
      Describe(One(kDeployment), std::vector<v1::Event>{}, kNow),
      "Name:                   web\n"
      "Namespace:              default\n"
      "CreationTimestamp:      Mon, 25 Dec 2023 12:00:00 +0000\n"
      "Labels:                 app=web\n"
      "Annotations:            deployment.kubernetes.io/revision: 2\n"
      "Selector:               app=web\n"
      "Replicas:               3 desired | 3 updated | 3 total | 3 available | 0 unavailable\n"
      "StrategyType:           RollingUpdate\n"
      "MinReadySeconds:        0\n"
      "RollingUpdateStrategy:  25% max unavailable, 25% max surge\n"
      "Pod Template:\n"
      "  Labels:  app=web\n"
      "  Containers:\n"
      "   web:\n"
      "    Image:        nginx:1.25\n"
      "    Port:         80/TCP\n"
      "    Host Port:    0/TCP\n"
      "    Environment:  <none>\n"
      "    Mounts:       <none>\n"
      "  Volumes:        <none>\n"
      "Conditions:\n"
      "  Type          Status  Reason\n"
      "  ----          ------  ------\n"
      "  Available     True    MinimumReplicasAvailable\n"
      "  Progressing   True    NewReplicaSetAvailable\n"
      "Events:         <none>\n");
}

TEST(Describe, DeploymentWithReplicaSetsAndEvents) {
  DescribeContext ctx;
  ctx.events = Events(R"(
apiVersion: v1
kind: Event
metadata: {name: web.1, namespace: default}
involvedObject: {kind: Deployment, namespace: default, name: web, uid: d-1}
type: Normal
reason: ScalingReplicaSet
message: Scaled up replica set web-7d4b9 to 3
source: {component: deployment-controller}
firstTimestamp: "2024-01-01T10:00:00Z"
lastTimestamp: "2024-01-01T10:00:00Z"
count: 1
)");
  for (const v1::Object& o : Objects(R"(
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5f6c8
  namespace: default
  creationTimestamp: "2023-12-25T12:00:00Z"
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: d-1, controller: true}]
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, pod-template-hash: 5f6c8}}
    spec:
      containers: [{name: web, image: "nginx:1.24", ports: [{containerPort: 80, protocol: TCP}]}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-7d4b9
  namespace: default
  creationTimestamp: "2023-12-26T12:00:00Z"
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: d-1, controller: true}]
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, pod-template-hash: 7d4b9}}
    spec:
      containers: [{name: web, image: "nginx:1.25", ports: [{containerPort: 80, protocol: TCP}]}]
status: {replicas: 3}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: other-1
  namespace: default
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: other, uid: d-2, controller: true}]
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.25", ports: [{containerPort: 80, protocol: TCP}]}]
)")) {
    ctx.replica_sets.push_back(o.replica_set());
  }
  EXPECT_EQ(
      Describe(One(kDeployment), ctx, kNow),
      "Name:                   web\n"
      "Namespace:              default\n"
      "CreationTimestamp:      Mon, 25 Dec 2023 12:00:00 +0000\n"
      "Labels:                 app=web\n"
      "Annotations:            deployment.kubernetes.io/revision: 2\n"
      "Selector:               app=web\n"
      "Replicas:               3 desired | 3 updated | 3 total | 3 available | 0 unavailable\n"
      "StrategyType:           RollingUpdate\n"
      "MinReadySeconds:        0\n"
      "RollingUpdateStrategy:  25% max unavailable, 25% max surge\n"
      "Pod Template:\n"
      "  Labels:  app=web\n"
      "  Containers:\n"
      "   web:\n"
      "    Image:        nginx:1.25\n"
      "    Port:         80/TCP\n"
      "    Host Port:    0/TCP\n"
      "    Environment:  <none>\n"
      "    Mounts:       <none>\n"
      "  Volumes:        <none>\n"
      "Conditions:\n"
      "  Type           Status  Reason\n"
      "  ----           ------  ------\n"
      "  Available      True    MinimumReplicasAvailable\n"
      "  Progressing    True    NewReplicaSetAvailable\n"
      "OldReplicaSets:  web-5f6c8 (0/0 replicas created)\n"
      "NewReplicaSet:   web-7d4b9 (3/3 replicas created)\n"
      "Events:\n"
      "  Type    Reason             Age   From                   Message\n"
      "  ----    ------             ----  ----                   -------\n"
      "  Normal  ScalingReplicaSet  120m  deployment-controller  Scaled up replica set web-7d4b9 "
      "to 3\n");
}

TEST(Describe, ServiceWithEndpoints) {
  DescribeContext ctx;
  ctx.endpoints = One(R"(
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: default}
subsets:
- addresses: [{ip: 10.244.0.5}, {ip: 10.244.0.6}]
  ports: [{name: http, port: 8080, protocol: TCP}, {name: metrics, port: 9090, protocol: TCP}]
)")
                      .endpoints();
  EXPECT_EQ(Describe(One(R"(
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  type: NodePort
  selector: {app: web}
  clusterIP: 10.96.0.11
  clusterIPs: [10.96.0.11]
  sessionAffinity: None
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080, protocol: TCP}]
)"),
                     ctx, kNow),
            "Name:              web\n"
            "Namespace:         default\n"
            "Labels:            app=web\n"
            "Annotations:       <none>\n"
            "Selector:          app=web\n"
            "Type:              NodePort\n"
            "IP Families:       <none>\n"
            "IP:                10.96.0.11\n"
            "IPs:               10.96.0.11\n"
            "Port:              http  80/TCP\n"
            "TargetPort:        8080/TCP\n"
            "NodePort:          http  30080/TCP\n"
            "Endpoints:         10.244.0.5:8080,10.244.0.6:8080\n"
            "Session Affinity:  None\n"
            "Events:            <none>\n");
}

TEST(Describe, SecretShowsSizesNotValues) {
  const std::string out = Describe(One(R"(
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: default}
type: Opaque
data: {username: YWRtaW4=, password: czNjcmV0}
)"),
                                   std::vector<v1::Event>{}, kNow);
  EXPECT_EQ(out,
            "Name:         creds\n"
            "Namespace:    default\n"
            "Labels:       <none>\n"
            "Annotations:  <none>\n"
            "\n"
            "Type:  Opaque\n"
            "\n"
            "Data\n"
            "====\n"
            "password:  6 bytes\n"
            "username:  5 bytes\n");
  EXPECT_EQ(out.find("s3cret"), std::string::npos);
  EXPECT_EQ(out.find("admin"), std::string::npos);
}

TEST(Describe, GenericForLease) {
  EXPECT_EQ(Describe(One(R"(
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: node-1
  namespace: kube-node-lease
  uid: l-1
  creationTimestamp: "2024-01-01T11:00:00Z"
spec: {holderIdentity: node-1, leaseDurationSeconds: 40, renewTime: "2024-01-01T11:59:50Z"}
)"),
                     std::vector<v1::Event>{}, kNow),
            "Name:         node-1\n"
            "Namespace:    kube-node-lease\n"
            "Labels:       <none>\n"
            "Annotations:  <none>\n"
            "API Version:  coordination.k8s.io/v1\n"
            "Kind:         Lease\n"
            "Metadata:\n"
            "  Creation Timestamp:  2024-01-01T11:00:00Z\n"
            "  UID:                 l-1\n"
            "Spec:\n"
            "  Holder Identity:         node-1\n"
            "  Lease Duration Seconds:  40\n"
            "  Renew Time:              2024-01-01T11:59:50Z\n"
            "Events:                    <none>\n");
}

}  // namespace
}  // namespace berth::cli
