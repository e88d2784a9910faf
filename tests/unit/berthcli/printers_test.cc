#include "printers.h"

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/api/codec.h"

namespace berth::cli {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

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

PrintOptions At() {
  PrintOptions o;
  o.now = kNow;
  return o;
}

constexpr std::string_view kPods = R"(
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: default
  labels: {tier: front, app: web}
  creationTimestamp: "2024-01-01T11:00:00Z"
spec:
  nodeName: node-1
  containers: [{name: web, image: "nginx:1.25"}]
status:
  phase: Running
  podIP: 10.244.0.5
  podIPs: [{ip: 10.244.0.5}]
  conditions: [{type: Ready, status: "True"}]
  containerStatuses:
  - {name: web, ready: true, restartCount: 0, state: {running: {startedAt: "2024-01-01T11:00:05Z"}}}
---
apiVersion: v1
kind: Pod
metadata: {name: crash, namespace: default, creationTimestamp: "2024-01-01T10:00:00Z"}
spec:
  containers: [{name: app, image: "app:1"}]
status:
  phase: Running
  containerStatuses:
  - name: app
    ready: false
    restartCount: 3
    state: {waiting: {reason: CrashLoopBackOff}}
    lastState:
      terminated: {exitCode: 1, reason: Error, finishedAt: "2024-01-01T11:58:00Z"}
---
apiVersion: v1
kind: Pod
metadata: {name: init, namespace: default, creationTimestamp: "2024-01-01T11:59:30Z"}
spec:
  initContainers: [{name: setup, image: "busybox:1.36"}]
  containers: [{name: app, image: "app:1"}]
status:
  phase: Pending
  conditions: [{type: Initialized, status: "False"}]
  initContainerStatuses: [{name: setup, state: {running: {}}}]
  containerStatuses: [{name: app, state: {waiting: {reason: PodInitializing}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: job-abc, namespace: default, creationTimestamp: "2024-01-01T09:00:00Z"}
spec:
  containers: [{name: job, image: "job:1"}]
status:
  phase: Succeeded
  containerStatuses:
  - {name: job, state: {terminated: {exitCode: 0, reason: Completed}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: old
  namespace: default
  creationTimestamp: "2023-12-30T12:00:00Z"
  deletionTimestamp: "2024-01-01T11:59:50Z"
spec:
  containers: [{name: web, image: "nginx:1.25"}]
status:
  phase: Running
  containerStatuses: [{name: web, ready: true, state: {running: {}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: pending, namespace: kube-system, creationTimestamp: "2024-01-01T11:59:55Z"}
spec:
  containers: [{name: app, image: "app:1"}]
status: {phase: Pending}
)";

TEST(PrintTable, Pods) {
  EXPECT_EQ(PrintTable(Objects(kPods), At()),
            "NAME      READY   STATUS             RESTARTS     AGE\n"
            "web-1     1/1     Running            0            60m\n"
            "crash     0/1     CrashLoopBackOff   3 (2m ago)   120m\n"
            "init      0/1     Init:0/1           0            30s\n"
            "job-abc   0/1     Completed          0            3h\n"
            "old       1/1     Terminating        0            2d\n"
            "pending   0/1     Pending            0            5s\n");
}

TEST(PrintTable, PodsWideAllNamespacesAndLabels) {
  const std::vector<v1::Object> all = Objects(kPods);
  const std::vector<v1::Object> two = {all[0], all[5]};
  PrintOptions o = At();
  o.wide = true;
  EXPECT_EQ(PrintTable(two, o),
            "NAME      READY   STATUS    RESTARTS   AGE   IP           NODE     NOMINATED NODE   "
            "READINESS GATES\n"
            "web-1     1/1     Running   0          60m   10.244.0.5   node-1   <none>           "
            "<none>\n"
            "pending   0/1     Pending   0          5s    <none>       <none>   <none>           "
            "<none>\n");
  o.wide = false;
  o.with_namespace = true;
  o.show_labels = true;
  EXPECT_EQ(PrintTable(two, o),
            "NAMESPACE     NAME      READY   STATUS    RESTARTS   AGE   LABELS\n"
            "default       web-1     1/1     Running   0          60m   app=web,tier=front\n"
            "kube-system   pending   0/1     Pending   0          5s    <none>\n");
  o.no_headers = true;
  o.show_labels = false;
  o.with_namespace = false;
  o.kind_prefix = true;
  EXPECT_EQ(PrintTable({all[0]}, o), "pod/web-1   1/1   Running   0     60m\n");
}

TEST(PodStatusText, FollowsPrintPod) {
  auto pod = [](std::string_view yaml) {
    auto objects = Objects(yaml);
    return objects.empty() ? v1::Pod() : objects[0].pod();
  };
  EXPECT_EQ(PodStatusText(pod(R"(
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers: [{name: a, image: x}, {name: b, image: x}]
  containers: [{name: c, image: x}]
status:
  phase: Pending
  initContainerStatuses:
  - {name: a, state: {terminated: {exitCode: 0, reason: Completed}}}
  - {name: b, restartCount: 4, state: {waiting: {reason: CrashLoopBackOff}}}
)")),
            "Init:CrashLoopBackOff");
  EXPECT_EQ(PodStatusText(pod(R"(
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers: [{name: a, image: x}, {name: b, image: x}]
  containers: [{name: c, image: x}]
status:
  phase: Pending
  initContainerStatuses:
  - {name: a, state: {terminated: {exitCode: 0}}}
  - {name: b, state: {waiting: {reason: PodInitializing}}}
)")),
            "Init:1/2");
  EXPECT_EQ(PodStatusText(pod(R"(
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers: [{name: a, image: x}]
  containers: [{name: c, image: x}]
status:
  phase: Failed
  initContainerStatuses: [{name: a, state: {terminated: {exitCode: 2}}}]
)")),
            "Init:ExitCode:2");
  EXPECT_EQ(PodStatusText(pod(R"(
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c, image: x}]}
status:
  phase: Failed
  containerStatuses: [{name: c, state: {terminated: {exitCode: 137, signal: 9}}}]
)")),
            "Signal:9");
  EXPECT_EQ(PodStatusText(pod(R"(
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c, image: x}]}
status:
  phase: Failed
  containerStatuses: [{name: c, state: {terminated: {exitCode: 137, reason: OOMKilled}}}]
)")),
            "OOMKilled");
  // One container done, another still running: Running when the pod is ready.
  EXPECT_EQ(PodStatusText(pod(R"(
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: a, image: x}, {name: b, image: x}]}
status:
  phase: Running
  conditions: [{type: Ready, status: "False"}]
  containerStatuses:
  - {name: a, state: {terminated: {exitCode: 0, reason: Completed}}}
  - {name: b, ready: true, state: {running: {}}}
)")),
            "NotReady");
  EXPECT_EQ(PodStatusText(pod(R"(
apiVersion: v1
kind: Pod
metadata: {name: p, deletionTimestamp: "2024-01-01T11:00:00Z"}
spec: {containers: [{name: c, image: x}]}
status: {phase: Running, reason: NodeLost}
)")),
            "Unknown");
  // A deleted pod that already finished keeps its final status.
  EXPECT_EQ(PodStatusText(pod(R"(
apiVersion: v1
kind: Pod
metadata: {name: p, deletionTimestamp: "2024-01-01T11:00:00Z"}
spec: {containers: [{name: c, image: x}]}
status:
  phase: Succeeded
  containerStatuses: [{name: c, state: {terminated: {exitCode: 0, reason: Completed}}}]
)")),
            "Completed");
  EXPECT_EQ(PodStatusText(pod(R"(
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c, image: x}]}
status:
  phase: Pending
  conditions: [{type: PodScheduled, status: "False", reason: SchedulingGated}]
)")),
            "SchedulingGated");
}

constexpr std::string_view kDeployments = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, creationTimestamp: "2023-12-25T12:00:00Z"}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25"}
      - {name: sidecar, image: "busybox:1.36"}
status: {replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: default, creationTimestamp: "2024-01-01T11:00:00Z"}
spec:
  replicas: 1
  selector:
    matchLabels: {app: api}
    matchExpressions: [{key: tier, operator: In, values: [b, a]}]
  template:
    metadata: {labels: {app: api, tier: a}}
    spec:
      containers: [{name: api, image: "api:2"}]
status: {replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1}
)";

TEST(PrintTable, Deployments) {
  PrintOptions o = At();
  EXPECT_EQ(PrintTable(Objects(kDeployments), o),
            "NAME   READY   UP-TO-DATE   AVAILABLE   AGE\n"
            "web    2/3     3            2           7d\n"
            "api    1/1     1            1           60m\n");
  o.wide = true;
  EXPECT_EQ(PrintTable(Objects(kDeployments), o),
            "NAME   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS    IMAGES                    "
            "SELECTOR\n"
            "web    2/3     3            2           7d    web,sidecar   nginx:1.25,busybox:1.36   "
            "app=web\n"
            "api    1/1     1            1           60m   api           api:2                     "
            "app=api,tier in (a,b)\n");
}

constexpr std::string_view kServices = R"(
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default, creationTimestamp: "2024-01-01T11:00:00Z"}
spec:
  type: ClusterIP
  selector: {app: web}
  clusterIP: 10.96.0.10
  clusterIPs: [10.96.0.10]
  ports: [{name: http, port: 80, protocol: TCP}, {name: https, port: 443, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: web-np, namespace: default, creationTimestamp: "2024-01-01T11:00:00Z"}
spec:
  type: NodePort
  selector: {app: web}
  clusterIP: 10.96.0.11
  clusterIPs: [10.96.0.11]
  ports: [{port: 80, nodePort: 30080, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: default, creationTimestamp: "2024-01-01T11:00:00Z"}
spec:
  type: ClusterIP
  selector: {app: db}
  clusterIP: None
  clusterIPs: [None]
  ports: [{port: 5432, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: default, creationTimestamp: "2024-01-01T11:00:00Z"}
spec:
  type: ExternalName
  externalName: db.example.com
)";

TEST(PrintTable, Services) {
  PrintOptions o = At();
  const std::vector<v1::Object> services = Objects(kServices);
  EXPECT_EQ(PrintTable(services, o),
            "NAME     TYPE           CLUSTER-IP   EXTERNAL-IP      PORT(S)          AGE\n"
            "web      ClusterIP      10.96.0.10   <none>           80/TCP,443/TCP   60m\n"
            "web-np   NodePort       10.96.0.11   <none>           80:30080/TCP     60m\n"
            "db       ClusterIP      None         <none>           5432/TCP         60m\n"
            "ext      ExternalName   <none>       db.example.com   <none>           60m\n");
  o.wide = true;
  EXPECT_EQ(PrintTable({services[0], services[3]}, o),
            "NAME   TYPE           CLUSTER-IP   EXTERNAL-IP      PORT(S)          AGE   SELECTOR\n"
            "web    ClusterIP      10.96.0.10   <none>           80/TCP,443/TCP   60m   app=web\n"
            "ext    ExternalName   <none>       db.example.com   <none>           60m   <none>\n");
}

constexpr std::string_view kNodes = R"(
apiVersion: v1
kind: Node
metadata:
  name: node-1
  creationTimestamp: "2023-12-02T12:00:00Z"
  labels: {node-role.kubernetes.io/control-plane: "", kubernetes.io/os: linux}
status:
  conditions: [{type: MemoryPressure, status: "False"}, {type: Ready, status: "True"}]
  addresses: [{type: InternalIP, address: 192.168.1.10}, {type: Hostname, address: node-1}]
---
apiVersion: v1
kind: Node
metadata: {name: node-2, creationTimestamp: "2024-01-01T07:00:00Z"}
status:
  conditions: [{type: Ready, status: Unknown, reason: NodeStatusUnknown}]
---
apiVersion: v1
kind: Node
metadata: {name: node-3, creationTimestamp: "2024-01-01T06:30:00Z"}
spec: {unschedulable: true}
status:
  conditions: [{type: Ready, status: "True"}]
)";

TEST(PrintTable, Nodes) {
  PrintOptions o = At();
  o.with_namespace = true;  // cluster-scoped: no NAMESPACE column, as kubectl
  const std::vector<v1::Object> nodes = Objects(kNodes);
  EXPECT_EQ(PrintTable(nodes, o),
            "NAME     STATUS                     ROLES           AGE     VERSION\n"
            "node-1   Ready                      control-plane   30d     berth-v0.1.0\n"
            "node-2   NotReady                   <none>          5h      berth-v0.1.0\n"
            "node-3   Ready,SchedulingDisabled   <none>          5h30m   berth-v0.1.0\n");
  o.wide = true;
  EXPECT_EQ(PrintTable({nodes[0]}, o),
            "NAME     STATUS   ROLES           AGE   VERSION        INTERNAL-IP    EXTERNAL-IP   "
            "OS-IMAGE    KERNEL-VERSION   CONTAINER-RUNTIME\n"
            "node-1   Ready    control-plane   30d   berth-v0.1.0   192.168.1.10   <none>        "
            "<unknown>   <unknown>        <unknown>\n");
}

constexpr std::string_view kEvents = R"(
apiVersion: v1
kind: Event
metadata: {name: web-1.17a1, namespace: default}
involvedObject: {kind: Pod, namespace: default, name: web-1}
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
metadata: {name: crash.17a2, namespace: default}
involvedObject: {kind: Pod, namespace: default, name: crash, fieldPath: "spec.containers{app}"}
type: Warning
reason: BackOff
message: "Back-off restarting failed container\n"
source: {component: kubelet, host: node-1}
firstTimestamp: "2024-01-01T11:30:00Z"
lastTimestamp: "2024-01-01T11:59:30Z"
count: 5
---
apiVersion: v1
kind: Event
metadata: {name: web.17a3, namespace: default}
involvedObject: {kind: Deployment, namespace: default, name: web}
type: Normal
reason: ScalingReplicaSet
message: Scaled up replica set web-7d4b9 to 3
source: {component: deployment-controller}
firstTimestamp: "2024-01-01T10:00:00Z"
lastTimestamp: "2024-01-01T10:00:00Z"
count: 1
)";

TEST(PrintTable, Events) {
  PrintOptions o = At();
  const std::vector<v1::Object> events = Objects(kEvents);
  EXPECT_EQ(PrintTable(events, o),
            "LAST SEEN   TYPE      REASON              OBJECT           MESSAGE\n"
            "2m          Normal    Scheduled           pod/web-1        Successfully assigned "
            "default/web-1 to node-1\n"
            "30s         Warning   BackOff             pod/crash        Back-off restarting failed "
            "container\n"
            "120m        Normal    ScalingReplicaSet   deployment/web   Scaled up replica set "
            "web-7d4b9 to 3\n");
  o.with_namespace = true;
  EXPECT_EQ(PrintTable({events[0]}, o),
            "NAMESPACE   LAST SEEN   TYPE     REASON      OBJECT      MESSAGE\n"
            "default     2m          Normal   Scheduled   pod/web-1   Successfully assigned "
            "default/web-1 to node-1\n");
  o.with_namespace = false;
  o.wide = true;
  EXPECT_EQ(PrintTable({events[1]}, o),
            "LAST SEEN   TYPE      REASON    OBJECT      SUBOBJECT              SOURCE            "
            "MESSAGE                                FIRST SEEN   COUNT   NAME\n"
            "30s         Warning   BackOff   pod/crash   spec.containers{app}   kubelet, node-1   "
            "Back-off restarting failed container   30m          5       crash.17a2\n");
}

TEST(PrintTable, OtherKinds) {
  const PrintOptions o = At();
  EXPECT_EQ(PrintTable(Objects(R"(
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: default, creationTimestamp: "2024-01-01T11:00:00Z"}
subsets:
- addresses: [{ip: 10.0.0.1}, {ip: 10.0.0.2}, {ip: 10.0.0.3}, {ip: 10.0.0.4}]
  ports: [{port: 80, protocol: TCP}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: db, namespace: default, creationTimestamp: "2024-01-01T11:00:00Z"}
)"),
                       o),
            "NAME   ENDPOINTS                                         AGE\n"
            "web    10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...   60m\n"
            "db     <none>                                            60m\n");
  EXPECT_EQ(PrintTable(Objects(R"(
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: default, creationTimestamp: "2024-01-01T11:00:00Z"}
spec: {completions: 1, parallelism: 1, template: {spec: {containers: [{name: m, image: x}]}}}
status:
  succeeded: 1
  startTime: "2024-01-01T11:00:00Z"
  completionTime: "2024-01-01T11:00:45Z"
---
apiVersion: batch/v1
kind: Job
metadata: {name: batch, namespace: default, creationTimestamp: "2024-01-01T11:55:00Z"}
spec: {parallelism: 2, template: {spec: {containers: [{name: w, image: x}]}}}
status: {active: 2, startTime: "2024-01-01T11:55:00Z"}
)"),
                       o),
            "NAME      COMPLETIONS   DURATION   AGE\n"
            "migrate   1/1           45s        60m\n"
            "batch     0/1 of 2      5m         5m\n");
  EXPECT_EQ(PrintTable(Objects(R"(
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system, creationTimestamp: "2024-01-01T11:00:00Z"}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {kubernetes.io/os: linux}
      containers: [{name: agent, image: "agent:1"}]
status:
  desiredNumberScheduled: 3
  currentNumberScheduled: 3
  numberReady: 2
  updatedNumberScheduled: 3
  numberAvailable: 2
)"),
                       o),
            "NAME    DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR            "
            "AGE\n"
            "agent   3         3         2       3            2           kubernetes.io/os=linux   "
            "60m\n");
  EXPECT_EQ(PrintTable(Objects(R"(
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-7d4b9, namespace: default, creationTimestamp: "2023-12-25T12:00:00Z"}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: x}]}}
status: {replicas: 3, readyReplicas: 2}
)"),
                       o),
            "NAME        DESIRED   CURRENT   READY   AGE\n"
            "web-7d4b9   3         3         2       7d\n");
  EXPECT_EQ(PrintTable(Objects(R"(
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default, creationTimestamp: "2024-01-01T11:00:00Z"}
data: {a: "1", b: "2"}
binaryData: {c: AAE=}
)"),
                       o),
            "NAME       DATA   AGE\n"
            "settings   3      60m\n");
  EXPECT_EQ(PrintTable(Objects(R"(
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: default, creationTimestamp: "2024-01-01T11:00:00Z"}
type: Opaque
data: {username: YWRtaW4=, password: czNjcmV0}
)"),
                       o),
            "NAME    TYPE     DATA   AGE\n"
            "creds   Opaque   2      60m\n");
  EXPECT_EQ(PrintTable(Objects(R"(
apiVersion: v1
kind: Namespace
metadata: {name: default, creationTimestamp: "2023-12-02T12:00:00Z"}
status: {phase: Active}
---
apiVersion: v1
kind: Namespace
metadata: {name: kube-system, creationTimestamp: "2023-12-02T12:00:00Z"}
status: {phase: Active}
)"),
                       o),
            "NAME          STATUS   AGE\n"
            "default       Active   30d\n"
            "kube-system   Active   30d\n");
  EXPECT_EQ(PrintTable(Objects(R"(
apiVersion: v1
kind: ResourceQuota
metadata: {name: compute, namespace: default, creationTimestamp: "2024-01-01T11:00:00Z"}
spec: {hard: {pods: "10", requests.cpu: "2", limits.memory: 4Gi}}
status:
  hard: {pods: "10", requests.cpu: "2", limits.memory: 4Gi}
  used: {pods: "3", requests.cpu: 500m, limits.memory: 1Gi}
)"),
                       o),
            "NAME      AGE   REQUEST                            LIMIT\n"
            "compute   60m   pods: 3/10, requests.cpu: 500m/2   limits.memory: 1Gi/4Gi\n");
  EXPECT_EQ(PrintTable(Objects(R"(
apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: default, creationTimestamp: "2024-01-01T11:00:00Z"}
spec: {limits: [{type: Container, max: {cpu: "1"}}]}
)"),
                       o),
            "NAME     CREATED AT\n"
            "limits   2024-01-01T11:00:00Z\n");
  EXPECT_EQ(PrintTable(Objects(R"(
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high, creationTimestamp: "2024-01-01T11:00:00Z"}
value: 1000000
)"),
                       o),
            "NAME   VALUE     GLOBAL-DEFAULT   AGE\n"
            "high   1000000   false            60m\n");
  EXPECT_EQ(PrintTable(Objects(R"(
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: node-1, namespace: kube-node-lease, creationTimestamp: "2024-01-01T11:00:00Z"}
spec: {holderIdentity: node-1, leaseDurationSeconds: 40}
)"),
                       o),
            "NAME     HOLDER   AGE\n"
            "node-1   node-1   60m\n");
}

TEST(PrintTable, EmptyAndMixedKinds) {
  EXPECT_EQ(PrintTable({}, At()), "");
  std::vector<v1::Object> mixed = Objects(kServices);
  mixed.resize(1);
  for (const auto& d : Objects(kDeployments)) mixed.push_back(d);
  PrintOptions o = At();
  o.kind_prefix = true;
  EXPECT_EQ(PrintTable(mixed, o),
            "NAME          TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)          AGE\n"
            "service/web   ClusterIP   10.96.0.10   <none>        80/TCP,443/TCP   60m\n"
            "\n"
            "NAME                  READY   UP-TO-DATE   AVAILABLE   AGE\n"
            "deployment.apps/web   2/3     3            2           7d\n"
            "deployment.apps/api   1/1     1            1           60m\n");
}

TEST(PrintNames, ResourceSlashName) {
  std::vector<v1::Object> objects = Objects(kDeployments);
  objects.resize(1);
  objects.push_back(Objects(kPods)[0]);
  objects.push_back(Objects(kServices)[0]);
  for (const auto& o : Objects(R"(
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 10
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: node-1, namespace: kube-node-lease}
)")) {
    objects.push_back(o);
  }
  EXPECT_EQ(PrintNames(objects),
            "deployment.apps/web\n"
            "pod/web-1\n"
            "service/web\n"
            "priorityclass.scheduling.k8s.io/high\n"
            "lease.coordination.k8s.io/node-1\n");
}

TEST(ParseDuration, GoSyntax) {
  using std::chrono::milliseconds;
  EXPECT_EQ(ParseDuration("30s").value(), milliseconds(30000));
  EXPECT_EQ(ParseDuration("1h30m").value(), milliseconds(5400000));
  EXPECT_EQ(ParseDuration("1.5h").value(), milliseconds(5400000));
  EXPECT_EQ(ParseDuration("250ms").value(), milliseconds(250));
  EXPECT_EQ(ParseDuration("0").value(), milliseconds(0));
  for (const char* bad : {"", "5", "5d", "m", "1h-", "1..2s"}) {
    auto r = ParseDuration(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message().find("invalid duration"), std::string::npos) << bad;
  }
}

TEST(HumanDuration, Boundaries) {
  EXPECT_EQ(HumanDuration(seconds(-2)), "<invalid>");
  EXPECT_EQ(HumanDuration(seconds(-1)), "0s");
  EXPECT_EQ(HumanDuration(seconds(0)), "0s");
  EXPECT_EQ(HumanDuration(seconds(119)), "119s");
  EXPECT_EQ(HumanDuration(minutes(2)), "2m");
  EXPECT_EQ(HumanDuration(seconds(150)), "2m30s");
  EXPECT_EQ(HumanDuration(seconds(599)), "9m59s");
  EXPECT_EQ(HumanDuration(minutes(10)), "10m");
  EXPECT_EQ(HumanDuration(seconds(10799)), "179m");
  EXPECT_EQ(HumanDuration(hours(3)), "3h");
  EXPECT_EQ(HumanDuration(hours(5) + minutes(30)), "5h30m");
  EXPECT_EQ(HumanDuration(hours(7) + minutes(59) + seconds(59)), "7h59m");
  EXPECT_EQ(HumanDuration(hours(8)), "8h");
  EXPECT_EQ(HumanDuration(hours(47) + minutes(59)), "47h");
  EXPECT_EQ(HumanDuration(hours(48)), "2d");
  EXPECT_EQ(HumanDuration(hours(76)), "3d4h");
  EXPECT_EQ(HumanDuration(hours(24 * 8 - 1)), "7d23h");
  EXPECT_EQ(HumanDuration(hours(24 * 8)), "8d");
  EXPECT_EQ(HumanDuration(hours(24 * 200)), "200d");
  EXPECT_EQ(HumanDuration(hours(24 * 729)), "729d");
  EXPECT_EQ(HumanDuration(hours(24 * 730)), "2y");
  EXPECT_EQ(HumanDuration(hours(24 * (3 * 365 + 100))), "3y100d");
  EXPECT_EQ(HumanDuration(hours(24 * 365 * 8)), "8y");
}

TEST(HumanAge, UnsetIsUnknown) {
  EXPECT_EQ(HumanAge(google::protobuf::Timestamp(), false, kNow), "<unknown>");
  google::protobuf::Timestamp t;
  t.set_seconds(1704110400 - 90);
  t.set_nanos(500000000);  // 89.5s ago: seconds truncate, as Go's int(d.Seconds())
  EXPECT_EQ(HumanAge(t, true, kNow), "89s");
}

TEST(Selectors, FormatLikeKubectl) {
  auto objects = Objects(R"(
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: r}
spec:
  selector:
    matchLabels: {tier: front, app: web}
    matchExpressions:
    - {key: env, operator: NotIn, values: [prod, dev]}
    - {key: canary, operator: DoesNotExist}
    - {key: zone, operator: Exists}
)");
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(SelectorString(objects[0].replica_set().spec().selector()),
            "app=web,!canary,env notin (dev,prod),tier=front,zone");
  EXPECT_EQ(FormatLabelSelector(v1::LabelSelector()), "<none>");
  EXPECT_EQ(FormatLabels({}), "<none>");
}

TEST(AlignColumns, GoTabwriterBlocks) {
  // A line without a tab ends the column block above it.
  EXPECT_EQ(AlignColumns("a:\tx\nlonger:\ty\nbreak\nb:\tz\n", 0, 2),
            "a:       x\nlonger:  y\nbreak\nb:  z\n");
  // Cells are padded to the widest in their block plus padding, at least
  // min_width; a line's last cell never is.
  EXPECT_EQ(AlignColumns("x\tyy\tz\nxxx\ty\n", 6, 3), "x     yy    z\nxxx   y\n");
  // Runes, not bytes.
  EXPECT_EQ(AlignColumns("é\t1\nab\t2", 0, 1), "é  1\nab 2");
}

}  // namespace
}  // namespace berth::cli
