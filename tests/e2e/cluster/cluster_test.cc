// Real agents in a real cluster on this machine: berth-control schedules a
// Deployment onto two berth-agent nodes (network namespaces), the agents
// run its pods from the demo httpd image and report them Ready, and the
// Service answers through the nodes' eBPF load balancers, every replica
// taking a share. A deleted pod is stopped by its agent, its deletion
// finished, and a replacement serves again.
#include <map>
#include <set>

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
}

}  // namespace
}  // namespace berth::e2e
