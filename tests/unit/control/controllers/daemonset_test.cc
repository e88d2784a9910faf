#include "berth/control/controllers/daemonset.h"

#include <atomic>

#include "lifecycle_fixture.h"

#include "berth/control/controllers/daemon_placement.h"
#include "berth/control/controllers/pods.h"

namespace berth::control {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kDaemonSet = R"(
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {role: worker}
      containers: [{name: c, image: "berth/agent:1"}]
)";

class DaemonSetTest : public LifecycleTest {
 protected:
  void SetUp() override {
    LifecycleTest::SetUp();
    daemonsets_ = std::make_unique<Informer>(*registry_, "DaemonSet");
    pods_ = std::make_unique<Informer>(*registry_, "Pod");
    nodes_ = std::make_unique<Informer>(*registry_, "Node");
    AddPodIndexes(*pods_);
    events_ = std::make_unique<EventRecorder>(*registry_, "daemonset-controller");
    controller_ =
        std::make_unique<DaemonSetController>(*registry_, *daemonsets_, *pods_, *nodes_, *events_);
    ASSERT_OK(pods_->Start());
    ASSERT_OK(nodes_->Start());
    ASSERT_OK(daemonsets_->Start());
    ASSERT_OK(controller_->Start());
  }
  void TearDown() override {
    StopAgent();
    controller_.reset();
    events_.reset();
    daemonsets_.reset();
    nodes_.reset();
    pods_.reset();
    LifecycleTest::TearDown();
  }

  // Node name -> the daemon pods on it that are not being deleted.
  std::map<std::string, std::vector<v1::Pod>> PodsByNode() {
    std::map<std::string, std::vector<v1::Pod>> out;
    for (auto& pod : Pods("default", "app=agent")) {
      if (!pod.metadata().has_deletion_timestamp()) out[pod.spec().node_name()].push_back(pod);
    }
    return out;
  }

  std::set<std::string> NodesWithPods() {
    std::set<std::string> out;
    for (const auto& [node, pods] : PodsByNode()) out.insert(node);
    return out;
  }

  v1::DaemonSetStatus Status() {
    auto ds = registry_->Get({"DaemonSet", "default", "agent"});
    EXPECT_TRUE(ds.ok());
    return ds.ok() ? ds->daemon_set().status() : v1::DaemonSetStatus{};
  }

  // Plays every node's agent: pods start Running and Ready, deletions are
  // finished. Also records the most nodes seen without an available
  // daemon at once (once `watching_`).
  void StartAgent(const std::set<std::string>& nodes) {
    agent_ = std::thread([this, nodes] {
      while (!agent_stop_) {
        std::map<std::string, bool> available;
        for (const auto& pod : Pods("default", "app=agent")) {
          if (pod.metadata().has_deletion_timestamp()) continue;
          if (IsReady(pod)) available[pod.spec().node_name()] = true;
        }
        if (watching_) {
          int unavailable = 0;
          for (const auto& node : nodes) unavailable += available[node] ? 0 : 1;
          max_unavailable_ = std::max(max_unavailable_.load(), unavailable);
        }
        for (const auto& pod : Pods("default", "app=agent")) {
          if (!pod.metadata().has_deletion_timestamp() && !IsReady(pod)) MarkReady(pod);
        }
        FinishDeletions();
        std::this_thread::sleep_for(milliseconds(20));
      }
    });
  }
  void StopAgent() {
    agent_stop_ = true;
    if (agent_.joinable()) agent_.join();
  }

  std::unique_ptr<Informer> daemonsets_, pods_, nodes_;
  std::unique_ptr<EventRecorder> events_;
  std::unique_ptr<DaemonSetController> controller_;
  std::thread agent_;
  std::atomic<bool> agent_stop_{false};
  std::atomic<bool> watching_{false};
  std::atomic<int> max_unavailable_{0};
};

TEST_F(DaemonSetTest, OnePodPerMatchingNode) {
  // No node is Ready (no agent reports): daemons run there anyway.
  ASSERT_OK(registry_->Create(Node("n1", {{"role", "worker"}})));
  ASSERT_OK(registry_->Create(Node("n2", {{"role", "worker"}})));
  ASSERT_OK(registry_->Create(Node("n3", {{"role", "infra"}})));
  ASSERT_OK(registry_->Create(Node("gpu", {{"role", "worker"}}, "dedicated=gpu:NoSchedule")));
  ASSERT_OK(registry_->Create(Parse(kDaemonSet)));
  const std::set<std::string> want{"n1", "n2"};
  ASSERT_TRUE(WaitFor([&] { return NodesWithPods() == want; }));
  std::this_thread::sleep_for(milliseconds(200));
  auto by_node = PodsByNode();
  ASSERT_EQ(by_node.size(), 2u);
  for (const auto& [node, pods] : by_node) {
    ASSERT_EQ(pods.size(), 1u) << node;
    const v1::Pod& pod = pods[0];
    EXPECT_EQ(pod.metadata().labels().count(std::string(kControllerRevisionHash)), 1u);
    ASSERT_NE(ControllerOf(pod.metadata()), nullptr);
    EXPECT_EQ(ControllerOf(pod.metadata())->kind(), "DaemonSet");
    bool tolerates_not_ready = false;
    for (const auto& t : pod.spec().tolerations()) {
      tolerates_not_ready |= t.key() == "node.kubernetes.io/not-ready" && t.effect() == "NoExecute";
    }
    EXPECT_TRUE(tolerates_not_ready);
  }
  ASSERT_TRUE(WaitFor([&] {
    const auto s = Status();
    return s.desired_number_scheduled() == 2 && s.current_number_scheduled() == 2 &&
           s.updated_number_scheduled() == 2 && s.number_ready() == 0 &&
           s.number_misscheduled() == 0 && s.observed_generation() == 1;
  })) << Status().ShortDebugString();

  // A new matching node gets a pod.
  ASSERT_OK(registry_->Create(Node("n4", {{"role", "worker"}})));
  ASSERT_TRUE(WaitFor([&] { return NodesWithPods() == std::set<std::string>{"n1", "n2", "n4"}; }));

  // A node that goes away takes its pod with it (grace 0: no agent left).
  ASSERT_OK(registry_->Delete({"Node", "", "n2"}));
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& pod : Pods("default", "app=agent")) {
      if (pod.spec().node_name() == "n2") return false;
    }
    return true;
  }));

  // A node that stops matching: its pod is deleted (gracefully).
  ASSERT_OK(registry_->Modify({"Node", "", "n1"}, [](v1::Object& o) {
    (*o.mutable_node()->mutable_metadata()->mutable_labels())["role"] = "infra";
    return true;
  }));
  ASSERT_TRUE(WaitFor([&] { return NodesWithPods() == std::set<std::string>{"n4"}; }));
  FinishDeletions();
  ASSERT_TRUE(WaitFor([&] {
    const auto s = Status();
    return s.desired_number_scheduled() == 1 && s.current_number_scheduled() == 1;
  })) << Status().ShortDebugString();
  EXPECT_TRUE(PodsByNode().count("gpu") == 0);
}

TEST_F(DaemonSetTest, TolerationLetsPodsOntoTaintedNodes) {
  ASSERT_OK(registry_->Create(Node("gpu", {{"role", "worker"}}, "dedicated=gpu:NoSchedule")));
  v1::Object ds = Parse(kDaemonSet);
  auto* t = ds.mutable_daemon_set()
                ->mutable_spec()
                ->mutable_template_()
                ->mutable_spec()
                ->add_tolerations();
  t->set_key("dedicated");
  t->set_operator_("Equal");
  t->set_value("gpu");
  t->set_effect("NoSchedule");
  ASSERT_OK(registry_->Create(ds));
  ASSERT_TRUE(WaitFor([&] { return NodesWithPods() == std::set<std::string>{"gpu"}; }));
}

TEST_F(DaemonSetTest, TemplateChangeRollsNodeByNode) {
  const std::set<std::string> nodes{"n1", "n2", "n3"};
  for (const auto& n : nodes) ASSERT_OK(registry_->Create(Node(n, {{"role", "worker"}})));
  ASSERT_OK(registry_->Create(Parse(kDaemonSet)));
  StartAgent(nodes);
  ASSERT_TRUE(WaitFor([&] { return Status().number_available() == 3; }))
      << Status().ShortDebugString();
  std::map<std::string, std::string> old_pods;
  for (const auto& [node, pods] : PodsByNode()) old_pods[node] = pods[0].metadata().name();

  watching_ = true;
  ASSERT_OK(registry_->Modify({"DaemonSet", "default", "agent"}, [](v1::Object& o) {
    o.mutable_daemon_set()
        ->mutable_spec()
        ->mutable_template_()
        ->mutable_spec()
        ->mutable_containers(0)
        ->set_image("berth/agent:2");
    return true;
  }));
  ASSERT_TRUE(WaitFor(
      [&] {
        const auto s = Status();
        return s.observed_generation() == 2 && s.updated_number_scheduled() == 3 &&
               s.number_available() == 3;
      },
      std::chrono::seconds(20)))
      << Status().ShortDebugString();
  StopAgent();
  EXPECT_LE(max_unavailable_.load(), 1) << "maxUnavailable 1: one node at a time";
  EXPECT_EQ(max_unavailable_.load(), 1) << "the rollout was observed";
  auto by_node = PodsByNode();
  ASSERT_EQ(by_node.size(), 3u);
  for (const auto& [node, pods] : by_node) {
    ASSERT_EQ(pods.size(), 1u) << node;
    EXPECT_EQ(pods[0].spec().containers(0).image(), "berth/agent:2");
    EXPECT_NE(pods[0].metadata().name(), old_pods[node]);
  }
}

TEST(DaemonPlacementTest, NoScheduleKeepsRunningPodsNoExecuteEvictsThem) {
  v1::PodSpec spec;
  AddDaemonTolerations(spec);
  v1::Node node;
  node.mutable_metadata()->set_name("n1");
  EXPECT_TRUE(NodeShouldRunDaemonPod(node, spec).should_run);

  auto* taint = node.mutable_spec()->add_taints();
  taint->set_key("dedicated");
  taint->set_effect("NoSchedule");
  auto fit = NodeShouldRunDaemonPod(node, spec);
  EXPECT_FALSE(fit.should_run);
  EXPECT_TRUE(fit.should_continue_running);

  taint->set_effect("NoExecute");
  fit = NodeShouldRunDaemonPod(node, spec);
  EXPECT_FALSE(fit.should_run);
  EXPECT_FALSE(fit.should_continue_running);

  // The taints of a NotReady or unreachable node are tolerated.
  taint->set_key("node.kubernetes.io/not-ready");
  EXPECT_TRUE(NodeShouldRunDaemonPod(node, spec).should_run);
  taint->set_key("node.kubernetes.io/unreachable");
  EXPECT_TRUE(NodeShouldRunDaemonPod(node, spec).should_run);
  taint->set_effect("PreferNoSchedule");
  taint->set_key("anything");
  EXPECT_TRUE(NodeShouldRunDaemonPod(node, spec).should_run);
}

TEST(DaemonPlacementTest, RequiredNodeAffinity) {
  v1::PodSpec spec;
  auto* req = spec.mutable_affinity()
                  ->mutable_node_affinity()
                  ->mutable_required_during_scheduling_ignored_during_execution()
                  ->add_node_selector_terms()
                  ->add_match_expressions();
  req->set_key("zone");
  req->set_operator_("In");
  req->add_values("a");
  v1::Node node;
  node.mutable_metadata()->set_name("n1");
  EXPECT_FALSE(NodeShouldRunDaemonPod(node, spec).should_run);
  (*node.mutable_metadata()->mutable_labels())["zone"] = "a";
  EXPECT_TRUE(NodeShouldRunDaemonPod(node, spec).should_run);
  spec.set_node_name("n2");
  EXPECT_FALSE(NodeShouldRunDaemonPod(node, spec).should_run);
}

TEST(DaemonPlacementTest, TemplateHashFollowsTheTemplate) {
  v1::PodTemplateSpec a;
  (*a.mutable_metadata()->mutable_labels())["app"] = "agent";
  (*a.mutable_metadata()->mutable_labels())["tier"] = "node";
  a.mutable_spec()->add_containers()->set_image("berth/agent:1");
  v1::PodTemplateSpec b = a;
  EXPECT_EQ(DaemonSetTemplateHash(a), DaemonSetTemplateHash(b));
  b.mutable_spec()->mutable_containers(0)->set_image("berth/agent:2");
  EXPECT_NE(DaemonSetTemplateHash(a), DaemonSetTemplateHash(b));
}

TEST(DaemonPlacementTest, DaemonTolerationsReplaceTimedOnes) {
  v1::PodSpec spec;
  auto* t = spec.add_tolerations();
  t->set_key("node.kubernetes.io/not-ready");
  t->set_operator_("Exists");
  t->set_effect("NoExecute");
  t->set_toleration_seconds(300);
  AddDaemonTolerations(spec);
  int not_ready = 0;
  for (const auto& tol : spec.tolerations()) {
    if (tol.key() != "node.kubernetes.io/not-ready") continue;
    ++not_ready;
    EXPECT_FALSE(tol.has_toleration_seconds());
  }
  EXPECT_EQ(not_ready, 1);
  EXPECT_EQ(spec.tolerations_size(), 6);
}

}  // namespace
}  // namespace berth::control
