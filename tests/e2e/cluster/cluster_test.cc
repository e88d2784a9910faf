// Real agents in a real cluster on this machine: berth-control schedules a
// Deployment onto two berth-agent nodes (network namespaces), the agents
// run its pods from the demo httpd image and report them Ready, and the
// Service answers through the nodes' eBPF load balancers, every replica
// taking a share. A deleted pod is stopped by its agent, its deletion
// finished, and a replacement serves again.
#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "cluster_fixture.h"
#include "test_support.h"

#include "berth/ebpf/service_lb.h"

namespace berth::e2e {
namespace {

using namespace std::chrono_literals;

constexpr const char* kWeb = R"(
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: httpd
        image: docker.io/berth/httpd:latest
        ports:
        - {name: http, containerPort: 8080}
        readinessProbe:
          httpGet: {path: /, port: http}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
)";

bool Ready(const v1::Pod& p) {
  if (p.status().phase() != "Running" || p.metadata().has_deletion_timestamp()) return false;
  for (const auto& c : p.status().conditions()) {
    if (c.type() == "Ready") return c.status() == "True";
  }
  return false;
}

int CountReady(const std::vector<v1::Pod>& pods) {
  int n = 0;
  for (const auto& p : pods) n += Ready(p) ? 1 : 0;
  return n;
}

std::pair<int, std::string> Shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

using ClusterAgentTest = ClusterTest;

TEST_F(ClusterAgentTest, DeploymentRunsOnAgentsAndItsServiceAnswersThroughTheEbpfBalancer) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(2));
  ASSERT_NO_FATAL_FAILURE(Apply(kWeb));

  ASSERT_TRUE(WaitFor([&] { return CountReady(Pods("app=web")) == 3; }, 90s))
      << "3 ready pods of web";
  std::set<std::string> nodes;
  std::set<std::string> pod_ips;
  for (const auto& p : Pods("app=web")) {
    nodes.insert(p.spec().node_name());
    pod_ips.insert(p.status().pod_ip());
    EXPECT_FALSE(p.status().host_ip().empty()) << p.metadata().name();
  }
  EXPECT_EQ(nodes.size(), 2u) << "replicas spread over both nodes";
  EXPECT_EQ(pod_ips.size(), 3u);

  auto svc = admin().Get("Service", "default", "web");
  ASSERT_OK(svc);
  const std::string cluster_ip = svc->service().spec().cluster_ip();
  ASSERT_FALSE(cluster_ip.empty());
  const std::string url = "http://" + cluster_ip + "/";
  ASSERT_TRUE(WaitFor(
      [&] { return HttpGetFromNode(0, url).find("Hello from Berth") != std::string::npos; }, 30s))
      << "the service answers from node 1";

  int ok = 0;
  for (int i = 0; i < 30; ++i) {
    if (HttpGetFromNode(i % 2, url).find("Hello from Berth") != std::string::npos) ++ok;
  }
  EXPECT_EQ(ok, 30);
  // Every replica served some: the balancer's per-backend counters on both nodes.
  std::map<std::string, uint64_t> served;
  for (const auto& n : nodes_) {
    auto services = ebpf::ReadPinnedServices(dir_ / "bpffs" / n.name / "services");
    ASSERT_OK(services);
    for (const auto& st : *services) {
      if (st.service.key.address.String() != cluster_ip) continue;
      ASSERT_EQ(st.service.backends.size(), 3u) << n.name;
      for (size_t b = 0; b < st.service.backends.size(); ++b) {
        served[st.service.backends[b].address.String()] += st.backend_connections[b];
      }
    }
  }
  ASSERT_EQ(served.size(), 3u);
  for (const auto& [ip, count] : served) {
    EXPECT_TRUE(pod_ips.count(ip)) << ip;
    EXPECT_GT(count, 0u) << "backend " << ip << " served nothing";
  }

  // Cluster DNS: every node answers for the service on its link-local
  // address, and a pod resolves the short name through its search path.
  for (const auto& n : nodes_) {
    auto [rc, out] = Shell("nsenter --net=" + n.netns.string() +
                           " drill @169.254.20.10 web.default.svc.cluster.local A");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find(cluster_ip), std::string::npos) << n.name << ": " << out;
  }
  ASSERT_NO_FATAL_FAILURE(Apply(R"(
apiVersion: v1
kind: Pod
metadata: {name: resolver}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: docker.io/library/busybox:latest
    command: [sh, -c, 'cat /etc/resolv.conf; nslookup -type=a web']
)"));
  std::optional<v1::Pod> resolver;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto o = admin().Get("Pod", "default", "resolver");
        if (!o.ok()) return false;
        resolver = o->pod();
        return resolver->status().phase() == "Succeeded" || resolver->status().phase() == "Failed";
      },
      60s));
  ASSERT_EQ(resolver->status().container_statuses_size(), 1);
  const std::string dns_log = LogText(resolver->status().container_statuses(0).log_path());
  EXPECT_NE(dns_log.find("search default.svc.cluster.local svc.cluster.local cluster.local"),
            std::string::npos)
      << dns_log;
  EXPECT_NE(dns_log.find("nameserver 169.254.20.10"), std::string::npos) << dns_log;
  EXPECT_NE(dns_log.find("options ndots:5"), std::string::npos) << dns_log;
  EXPECT_NE(dns_log.find(cluster_ip), std::string::npos) << "nslookup web: " << dns_log;
  // (busybox's nslookup then also tries the other search domains and exits
  // 1 for their NXDOMAIN, so the pod's phase says nothing here.)

  // NodePort from outside the nodes, on each node's address.
  const int node_port = svc->service().spec().ports(0).node_port();
  ASSERT_GT(node_port, 0);
  const auto client = ClientNamespace();
  for (const auto& n : nodes_) {
    const std::string nurl = "http://" + n.address + ":" + std::to_string(node_port) + "/";
    EXPECT_TRUE(WaitFor(
        [&] { return HttpGetFrom(client, nurl).find("Hello from Berth") != std::string::npos; },
        20s))
        << nurl;
  }

  // The agents recorded their pods' starts.
  v1::ListRequest events;
  events.set_kind("Event");
  events.set_namespace_("default");
  events.set_field_selector("");
  auto listed = admin().List(events);
  ASSERT_OK(listed);
  int started = 0;
  for (const auto& o : listed->items()) {
    if (o.event().reason() == "Started" && o.event().source().component() == "berth-agent")
      ++started;
  }
  EXPECT_GE(started, 3);

  // Self-healing through the agents: a deleted pod is stopped by its node,
  // which finishes the deletion; the ReplicaSet's replacement serves.
  const v1::Pod victim = Pods("app=web").front();
  v1::DeleteRequest del;
  del.mutable_key()->set_kind("Pod");
  del.mutable_key()->set_namespace_("default");
  del.mutable_key()->set_name(victim.metadata().name());
  ASSERT_OK(StatusOf(admin().Delete(del)));
  EXPECT_TRUE(WaitFor(
      [&] {
        auto pod = admin().Get("Pod", "default", victim.metadata().name());
        return !pod.ok() && pod.error().err() == ENOENT;
      },
      30s))
      << "the agent finished the deletion";
  EXPECT_TRUE(WaitFor(
      [&] {
        auto pods = Pods("app=web");
        return pods.size() == 3 && CountReady(pods) == 3;
      },
      60s))
      << "a replacement became ready";
  EXPECT_TRUE(WaitFor(
      [&] {
        auto ep = admin().Get("Endpoints", "default", "web");
        if (!ep.ok()) return false;
        for (const auto& s : ep->endpoints().subsets()) {
          for (const auto& a : s.addresses()) {
            if (a.ip() == victim.status().pod_ip()) return false;
          }
        }
        return true;
      },
      30s))
      << "the deleted pod left the endpoints";
  for (int i = 0; i < 10; ++i) {
    EXPECT_NE(HttpGetFromNode(1, url).find("Hello from Berth"), std::string::npos);
  }
  listed = admin().List(events);
  ASSERT_OK(listed);
  bool killing = false;
  for (const auto& o : listed->items()) {
    killing = killing || (o.event().reason() == "Killing" &&
                          o.event().involved_object().name() == victim.metadata().name());
  }
  EXPECT_TRUE(killing) << "a Killing event for " << victim.metadata().name();
}

constexpr const char* kConfig = R"(
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: docker.io/library/busybox:latest
    command: [sh, -c, 'echo "$GREETING $(cat /etc/creds/password) $LATER"']
    env:
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: settings, key: greeting}}
    - name: LATER
      valueFrom: {configMapKeyRef: {name: later, key: word}}
    volumeMounts:
    - {name: creds, mountPath: /etc/creds}
  volumes:
  - name: creds
    secret: {secretName: creds}
---
apiVersion: v1
kind: Pod
metadata: {name: hostport}
spec:
  containers:
  - name: main
    image: docker.io/library/busybox:latest
    ports:
    - {containerPort: 80, hostPort: 8080}
)";

std::optional<v1::Pod> GetPod(api::ControlClient& c, const std::string& name) {
  auto o = c.Get("Pod", "default", name);
  if (!o.ok()) return std::nullopt;
  return o->pod();
}

TEST_F(ClusterAgentTest, ConfigMapsAndSecretsReachContainersAndRefusedPodsSayWhy) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(1));
  ASSERT_NO_FATAL_FAILURE(Apply(kConfig));

  // The ConfigMap "later" does not exist yet: the pod waits, saying why.
  EXPECT_TRUE(WaitFor(
      [&] {
        auto p = GetPod(admin(), "reader");
        return p && p->status().reason() == "CreateContainerConfigError" &&
               p->status().message().find("configmap \"later\" not found") != std::string::npos;
      },
      30s));
  // A pod the agent cannot honour fails with the field that stops it.
  EXPECT_TRUE(WaitFor(
      [&] {
        auto p = GetPod(admin(), "hostport");
        return p && p->status().phase() == "Failed" &&
               p->status().reason() == "PodSpecUnsupported" &&
               p->status().message().find("hostPort: not supported by berth-agent") !=
                   std::string::npos;
      },
      30s));

  ASSERT_NO_FATAL_FAILURE(
      Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: later}\ndata: {word: world}\n"));
  std::optional<v1::Pod> done;
  ASSERT_TRUE(WaitFor(
      [&] {
        done = GetPod(admin(), "reader");
        return done && done->status().phase() == "Succeeded";
      },
      60s))
      << (done ? done->status().DebugString() : "no pod");
  ASSERT_EQ(done->status().container_statuses_size(), 1);
  EXPECT_EQ(LogText(done->status().container_statuses(0).log_path()), "hello s3cret world\n");
  // Secrets are copied to the node's /run (tmpfs in production), not its state dir.
  EXPECT_TRUE(std::filesystem::exists(nodes_[0].dir / "run" / "cluster-config" / "default" /
                                      "secrets" / "creds" / "password"));
}

TEST_F(ClusterAgentTest, AgentRestartKeepsItsPodsAndCatchesUpOnWhatChangedMeanwhile) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(1));
  ASSERT_NO_FATAL_FAILURE(Apply(kWeb));
  ASSERT_TRUE(WaitFor([&] { return CountReady(Pods("app=web")) == 3; }, 90s));
  std::map<std::string, int32_t> pids;  // pod name -> container pid
  for (const auto& p : Pods("app=web"))
    pids[p.metadata().name()] = p.status().container_statuses(0).pid();

  StopAgent(0);
  // While the agent is away: one pod is deleted (it stays Terminating:
  // only its node may finish that).
  const std::string victim = pids.begin()->first;
  v1::DeleteRequest del;
  del.mutable_key()->set_kind("Pod");
  del.mutable_key()->set_namespace_("default");
  del.mutable_key()->set_name(victim);
  ASSERT_OK(StatusOf(admin().Delete(del)));
  std::this_thread::sleep_for(1s);
  ASSERT_TRUE(GetPod(admin(), victim).has_value()) << "finished without its node";

  StartAgent(0);
  EXPECT_TRUE(WaitFor([&] { return !GetPod(admin(), victim).has_value(); }, 30s))
      << "the restarted agent stopped the deleted pod and finished its deletion";
  EXPECT_TRUE(WaitFor(
      [&] {
        auto pods = Pods("app=web");
        return pods.size() == 3 && CountReady(pods) == 3;
      },
      60s));
  for (const auto& p : Pods("app=web")) {
    auto it = pids.find(p.metadata().name());
    if (it == pids.end()) continue;  // the replacement
    EXPECT_EQ(p.status().container_statuses(0).pid(), it->second)
        << p.metadata().name() << " was adopted, not restarted";
    EXPECT_EQ(p.status().container_statuses(0).restart_count(), 0);
  }
}

}  // namespace
}  // namespace berth::e2e
