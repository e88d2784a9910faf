#include <map>
#include <set>

#include "hollow_cluster.h"

namespace berth::control {
namespace {

constexpr std::string_view kReplicaSet = R"(
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 10
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: httpd
        image: berth/httpd:1
        resources: {requests: {cpu: 100m, memory: 64Mi}}
)";

TEST_F(HollowCluster, NodesJoinOverMtlsAndRegister) {
  StartCluster(3);
  v1::ListRequest req;
  req.set_kind("Node");
  auto nodes = admin_->List(req);
  ASSERT_OK(nodes);
  ASSERT_EQ(nodes->items_size(), 3);
  std::set<std::string> cidrs;
  for (const auto& n : nodes->items()) {
    // The control plane assigned each a pod CIDR of its own.
    EXPECT_EQ(n.node().spec().pod_cidr().rfind("10.244.", 0), 0u) << n.node().spec().pod_cidr();
    cidrs.insert(n.node().spec().pod_cidr());
    bool ready = false;
    for (const auto& c : n.node().status().conditions())
      ready = ready || (c.type() == "Ready" && c.status() == "True");
    EXPECT_TRUE(ready) << n.node().metadata().name();
    ASSERT_OK(admin_->Get("Lease", "berth-node-lease", n.node().metadata().name()));
  }
  EXPECT_EQ(cidrs.size(), 3u);
  // A node's certificate says who it is: it may not write another Node.
  auto other = admin_->Get("Node", "", "hollow-1");
  ASSERT_OK(other);
  EXPECT_ERRNO(node_clients_[0]->Update(*other, /*status=*/true), EACCES);
}

TEST_F(HollowCluster, ReplicasAreScheduledAndRunAcrossNodes) {
  StartCluster(3);
  ASSERT_OK(admin_->Create(Parse(kReplicaSet)));
  ASSERT_TRUE(WaitFor([&] {
    auto pods = Pods("app=web");
    if (pods.size() != 10) return false;
    for (const auto& p : pods) {
      if (!Ready(p)) return false;
    }
    return true;
  })) << Pods("app=web").size();
  std::map<std::string, int> per_node;
  for (const auto& p : Pods("app=web")) per_node[p.spec().node_name()]++;
  EXPECT_EQ(per_node.size(), 3u);
  for (const auto& [node, n] : per_node) EXPECT_GE(n, 3) << node;
  EXPECT_EQ(fleet_->RunningPods(), 10u);
  ASSERT_TRUE(WaitFor([&] {
    auto rs = admin_->Get("ReplicaSet", "default", "web");
    return rs.ok() && rs->replica_set().status().available_replicas() == 10;
  }));
}

TEST_F(HollowCluster, PodsOfASilentNodeAreReplacedElsewhere) {
  StartCluster(3, {.lease_period = std::chrono::milliseconds(300)}, std::chrono::seconds(2),
               std::chrono::seconds(2));
  ASSERT_OK(admin_->Create(Parse(kReplicaSet)));
  ASSERT_TRUE(WaitFor([&] {
    auto pods = Pods("app=web");
    return pods.size() == 10 && std::all_of(pods.begin(), pods.end(), Ready);
  }));
  fleet_->Freeze("hollow-0");
  // NotReady after the grace period, then its pods are evicted and the
  // ReplicaSet puts them on the two live nodes.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto pods = Pods("app=web");
        if (pods.size() != 10) return false;
        for (const auto& p : pods) {
          if (p.spec().node_name() == "hollow-0" || !Ready(p)) return false;
        }
        return true;
      },
      std::chrono::seconds(30)));
  auto node = admin_->Get("Node", "", "hollow-0");
  ASSERT_OK(node);
  bool tainted = false;
  for (const auto& t : node->node().spec().taints())
    tainted = tainted || t.key() == "node.kubernetes.io/unreachable";
  EXPECT_TRUE(tainted);
}

TEST_F(HollowCluster, NodesReadOnlyTheirOwnPodsAndSecrets) {
  StartCluster(2);
  ASSERT_OK(admin_->Create(
      Parse("apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: x}\n")));
  ASSERT_OK(admin_->Create(Parse(R"(
apiVersion: v1
kind: Pod
metadata: {name: uses-db}
spec:
  nodeName: hollow-1
  volumes: [{name: s, secret: {secretName: db}}]
  containers: [{name: c, image: busybox}]
)")));
  v1::ListRequest mine;
  mine.set_kind("Pod");
  mine.set_all_namespaces(true);
  mine.set_field_selector("spec.nodeName=hollow-0");
  ASSERT_OK(node_clients_[0]->List(mine));
  mine.set_field_selector("spec.nodeName=hollow-1");
  EXPECT_ERRNO(node_clients_[0]->List(mine), EACCES);
  EXPECT_ERRNO(node_clients_[0]->Get("Pod", "default", "uses-db"), EACCES);
  EXPECT_ERRNO(node_clients_[0]->Get("Secret", "default", "db"), EACCES);
  ASSERT_OK(node_clients_[1]->Get("Secret", "default", "db"));
}

// Two 1-CPU nodes, each running a low-priority pod of 800m; then a
// high-priority pod of 800m that fits only where one of them was.
class HollowPreemption : public HollowCluster {
 protected:
  void FillBothNodesAndAddAHighPriorityPod(hollow::HollowOptions options) {
    options.cpu_milli = 1000;
    options.memory_bytes = 4LL << 30;
    StartCluster(2, options);
    for (int i = 0; i < 2; ++i)
      ASSERT_OK(admin_->Create(Parse(PodYaml("low" + std::to_string(i), 0))));
    ASSERT_TRUE(WaitFor([&] {
      int running = 0;
      for (const auto& p : Pods("")) running += Ready(p) ? 1 : 0;
      return running == 2;
    }));
    ASSERT_OK(admin_->Create(Parse(PodYaml("high", 1000))));
  }
  bool HighIsReady() {
    auto high = admin_->Get("Pod", "default", "high");
    return high.ok() && Ready(high->pod());
  }
  int LowLeft() {
    int left = 0;
    for (const auto& p : Pods("")) left += p.metadata().name().rfind("low", 0) == 0 ? 1 : 0;
    return left;
  }

 private:
  static std::string PodYaml(const std::string& name, int priority) {
    return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name +
           "}\nspec:\n  priority: " + std::to_string(priority) +
           "\n  containers: [{name: c, image: busybox, resources: {requests: {cpu: 800m}}}]\n";
  }
};

TEST_F(HollowPreemption, HigherPriorityPodsPreemptLowerOnes) {
  FillBothNodesAndAddAHighPriorityPod({});
  ASSERT_TRUE(WaitFor([&] { return HighIsReady(); }));
  EXPECT_EQ(LowLeft(), 1);  // exactly one low-priority pod made room
}

// berth-control restarts while a preemption's victim terminates: the
// nomination is stored in the pending pod's status, so the new scheduler
// waits for that victim and evicts nobody else.
TEST_F(HollowPreemption, PreemptionFinishesAcrossAControlPlaneRestart) {
  // Containers take 2 s to stop: the restart comes while the victim
  // terminates.
  FillBothNodesAndAddAHighPriorityPod({.stop_delay = std::chrono::seconds(2)});
  ASSERT_TRUE(WaitFor([&] {
    auto high = admin_->Get("Pod", "default", "high");
    int terminating = 0;
    for (const auto& p : Pods("")) terminating += p.metadata().has_deletion_timestamp() ? 1 : 0;
    return high.ok() && !high->pod().status().nominated_node_name().empty() && terminating == 1;
  }));
  RestartControlPlane();
  ASSERT_TRUE(WaitFor([&] { return HighIsReady(); }, std::chrono::seconds(60)));
  EXPECT_EQ(LowLeft(), 1);
}

}  // namespace
}  // namespace berth::control
