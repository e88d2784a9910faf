#include <gtest/gtest.h>

#include "scheduler_test_util.h"

#include "berth/control/scheduler/scheduler.h"

namespace berth::control::scheduler {
namespace {

using testing::kGi;
using testing::MakeNode;
using testing::MakePod;

TEST(FilterResources, FitsAndFailsWithKubernetesReasons) {
  NodeInfo node = MakeNode("n", 1000, 2 * kGi, 2);
  EXPECT_EQ(FilterResources(MakePod("p", 1000, 2 * kGi), node), std::nullopt);
  EXPECT_EQ(FilterResources(MakePod("p", 1001, kGi), node), "Insufficient cpu");
  EXPECT_EQ(FilterResources(MakePod("p", 100, 2 * kGi + 1), node), "Insufficient memory");
  AddPod(node, MakePod("a", 0, 0));
  AddPod(node, MakePod("b", 0, 0));
  EXPECT_EQ(FilterResources(MakePod("p", 0, 0), node), "Too many pods");
}

TEST(FilterResources, UsesPrecomputedRequestedAndRemovePodRestoresIt) {
  NodeInfo node = MakeNode("n", 1000, 2 * kGi);
  AddPod(node, MakePod("a", 600, kGi));
  EXPECT_EQ(node.requested, (Resources{600, kGi, 1}));
  EXPECT_EQ(FilterResources(MakePod("p", 500, 0), node), "Insufficient cpu");
  ASSERT_TRUE(RemovePod(node, "uid-a").ok());
  EXPECT_EQ(node.requested, Resources{});
  EXPECT_EQ(FilterResources(MakePod("p", 500, 0), node), std::nullopt);
  Status missing = RemovePod(node, "uid-a");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().err(), ENOENT);
}

TEST(FilterResources, ZeroRequestFitsOvercommittedNode) {
  NodeInfo node = MakeNode("n", 100, kGi);
  AddPod(node, MakePod("a", 200, 2 * kGi));
  EXPECT_EQ(FilterResources(MakePod("p", 0, 0), node), std::nullopt);
}

TEST(RecomputeDerived, MatchesIncrementalAccounting) {
  NodeInfo incremental = MakeNode("n");
  PodInfo a = MakePod("a", 100, kGi);
  a.owner_uid = "rs";
  a.host_ports = {{80, ""}};
  AddPod(incremental, a);
  NodeInfo rebuilt = MakeNode("n");
  rebuilt.placed = {a};
  RecomputeDerived(rebuilt);
  EXPECT_EQ(rebuilt.requested, incremental.requested);
  EXPECT_EQ(rebuilt.pods_per_owner, incremental.pods_per_owner);
  EXPECT_EQ(rebuilt.used_host_ports.size(), 1u);
}

TEST(FilterReady, NotReadyNode) {
  NodeInfo node = MakeNode("n");
  EXPECT_EQ(FilterReady(MakePod("p"), node), std::nullopt);
  node.ready = false;
  EXPECT_EQ(FilterReady(MakePod("p"), node), "node(s) were not ready");
}

TEST(FilterUnschedulable, CordonedUnlessTolerated) {
  NodeInfo node = MakeNode("n");
  PodInfo pod = MakePod("p");
  EXPECT_EQ(FilterUnschedulable(pod, node), std::nullopt);
  node.unschedulable = true;
  EXPECT_EQ(FilterUnschedulable(pod, node), "node(s) were unschedulable");
  pod.tolerations = {{"node.kubernetes.io/unschedulable", TolerationOperator::kExists, "",
                      TaintEffect::kNoSchedule}};
  EXPECT_EQ(FilterUnschedulable(pod, node), std::nullopt);
}

TEST(FilterNodeAffinity, NodeSelector) {
  NodeInfo node = MakeNode("n");
  node.labels = {{"disk", "ssd"}, {"zone", "a"}};
  PodInfo pod = MakePod("p");
  pod.node_selector = {{"disk", "ssd"}};
  EXPECT_EQ(FilterNodeAffinity(pod, node), std::nullopt);
  pod.node_selector = {{"disk", "hdd"}};
  EXPECT_EQ(FilterNodeAffinity(pod, node), "node(s) didn't match Pod's node affinity/selector");
}

TEST(FilterNodeAffinity, TermsAreOredRequirementsAnded) {
  NodeInfo node = MakeNode("n");
  node.labels = {{"zone", "a"}, {"gen", "5"}};
  PodInfo pod = MakePod("p");
  NodeSelectorRequirement zone_b{"zone", SelectorOperator::kIn, {"b"}};
  NodeSelectorRequirement zone_a{"zone", SelectorOperator::kIn, {"a"}};
  NodeSelectorRequirement gen_gt4{"gen", SelectorOperator::kGt, {"4"}};
  NodeSelectorRequirement gen_gt5{"gen", SelectorOperator::kGt, {"5"}};
  pod.required_node_affinity = {{zone_a, gen_gt5}};
  EXPECT_TRUE(FilterNodeAffinity(pod, node).has_value());
  pod.required_node_affinity = {{zone_a, gen_gt5}, {zone_b}};
  EXPECT_TRUE(FilterNodeAffinity(pod, node).has_value());
  pod.required_node_affinity = {{zone_b}, {zone_a, gen_gt4}};
  EXPECT_EQ(FilterNodeAffinity(pod, node), std::nullopt);
  pod.required_node_affinity = {{}};
  EXPECT_TRUE(FilterNodeAffinity(pod, node).has_value()) << "an empty term matches nothing";
}

TEST(MatchesRequirement, EveryOperator) {
  const Labels labels = {{"zone", "a"}, {"cores", "8"}, {"bad", "x8"}};
  auto m = [&](std::string key, SelectorOperator op, std::vector<std::string> values) {
    return MatchesRequirement({std::move(key), op, std::move(values)}, labels);
  };
  EXPECT_TRUE(m("zone", SelectorOperator::kIn, {"b", "a"}));
  EXPECT_FALSE(m("zone", SelectorOperator::kIn, {"b"}));
  EXPECT_FALSE(m("missing", SelectorOperator::kIn, {"a"}));
  EXPECT_TRUE(m("zone", SelectorOperator::kNotIn, {"b"}));
  EXPECT_FALSE(m("zone", SelectorOperator::kNotIn, {"a"}));
  EXPECT_TRUE(m("missing", SelectorOperator::kNotIn, {"a"}));
  EXPECT_TRUE(m("zone", SelectorOperator::kExists, {}));
  EXPECT_FALSE(m("missing", SelectorOperator::kExists, {}));
  EXPECT_TRUE(m("missing", SelectorOperator::kDoesNotExist, {}));
  EXPECT_FALSE(m("zone", SelectorOperator::kDoesNotExist, {}));
  EXPECT_TRUE(m("cores", SelectorOperator::kGt, {"4"}));
  EXPECT_FALSE(m("cores", SelectorOperator::kGt, {"8"}));
  EXPECT_TRUE(m("cores", SelectorOperator::kLt, {"16"}));
  EXPECT_FALSE(m("cores", SelectorOperator::kLt, {"8"}));
  EXPECT_FALSE(m("bad", SelectorOperator::kGt, {"1"})) << "non-integer label never matches";
  EXPECT_FALSE(m("cores", SelectorOperator::kGt, {"1", "2"})) << "Gt takes one value";
  EXPECT_FALSE(m("missing", SelectorOperator::kLt, {"100"}));
}

TEST(Tolerates, EqualExistsAndEffect) {
  const Taint gpu{"dedicated", "gpu", TaintEffect::kNoSchedule};
  EXPECT_TRUE(Tolerates({"dedicated", TolerationOperator::kEqual, "gpu", std::nullopt}, gpu));
  EXPECT_FALSE(Tolerates({"dedicated", TolerationOperator::kEqual, "tpu", std::nullopt}, gpu));
  EXPECT_FALSE(Tolerates({"other", TolerationOperator::kEqual, "gpu", std::nullopt}, gpu));
  EXPECT_TRUE(Tolerates({"dedicated", TolerationOperator::kExists, "", std::nullopt}, gpu));
  EXPECT_FALSE(Tolerates({"other", TolerationOperator::kExists, "", std::nullopt}, gpu));
  EXPECT_TRUE(Tolerates({"", TolerationOperator::kExists, "", std::nullopt}, gpu))
      << "empty key with Exists tolerates everything";
  EXPECT_TRUE(
      Tolerates({"dedicated", TolerationOperator::kEqual, "gpu", TaintEffect::kNoSchedule}, gpu));
  EXPECT_FALSE(
      Tolerates({"dedicated", TolerationOperator::kEqual, "gpu", TaintEffect::kNoExecute}, gpu));
}

TEST(FilterTaints, UntoleratedTaintReasonAndPreferNoScheduleIgnored) {
  NodeInfo node = MakeNode("n");
  node.taints = {{"soft", "x", TaintEffect::kPreferNoSchedule},
                 {"dedicated", "gpu", TaintEffect::kNoSchedule},
                 {"evict", "", TaintEffect::kNoExecute}};
  PodInfo pod = MakePod("p");
  EXPECT_EQ(FilterTaints(pod, node), "node(s) had untolerated taint {dedicated: gpu}");
  pod.tolerations = {{"dedicated", TolerationOperator::kEqual, "gpu", std::nullopt}};
  EXPECT_EQ(FilterTaints(pod, node), "node(s) had untolerated taint {evict: }");
  pod.tolerations.push_back({"evict", TolerationOperator::kExists, "", TaintEffect::kNoExecute});
  EXPECT_EQ(FilterTaints(pod, node), std::nullopt);
}

TEST(FilterHostPorts, ConflictOnSamePortAndProtocol) {
  NodeInfo node = MakeNode("n");
  PodInfo web = MakePod("web");
  web.host_ports = {{8080, "TCP"}};
  AddPod(node, web);
  PodInfo pod = MakePod("p");
  pod.host_ports = {{8080, ""}};
  EXPECT_EQ(FilterHostPorts(pod, node),
            "node(s) didn't have free ports for the requested pod ports");
  pod.host_ports = {{8080, "UDP"}, {9090, ""}};
  EXPECT_EQ(FilterHostPorts(pod, node), std::nullopt);
  PodInfo dns = MakePod("dns");
  dns.host_ports = {{53, ""}};
  AddPod(node, dns);
  pod.host_ports = {{53, "TCP"}};
  EXPECT_TRUE(FilterHostPorts(pod, node).has_value()) << "empty protocol means TCP";
  ASSERT_TRUE(RemovePod(node, "uid-web").ok());
  pod.host_ports = {{8080, ""}};
  EXPECT_EQ(FilterHostPorts(pod, node), std::nullopt);
}

TEST(FilterAntiAffinity, PodAvoidsMatchingPodsInItsNamespace) {
  NodeInfo node = MakeNode("n");
  PodInfo existing = MakePod("db-0");
  existing.labels = {{"app", "db"}, {"tier", "data"}};
  AddPod(node, existing);
  PodInfo pod = MakePod("db-1");
  pod.anti_affinity_hostname_labels = {{"app", "db"}};
  EXPECT_EQ(FilterAntiAffinity(pod, node), "node(s) didn't match pod anti-affinity rules");
  pod.namespace_ = "other";
  EXPECT_EQ(FilterAntiAffinity(pod, node), std::nullopt);
  pod.namespace_ = "default";
  pod.anti_affinity_hostname_labels = {{"app", "db"}, {"tier", "web"}};
  EXPECT_EQ(FilterAntiAffinity(pod, node), std::nullopt);
}

TEST(FilterAntiAffinity, ExistingPodsAntiAffinityIsSymmetric) {
  NodeInfo node = MakeNode("n");
  PodInfo existing = MakePod("lonely");
  existing.anti_affinity_hostname_labels = {{"app", "noisy"}};
  AddPod(node, existing);
  PodInfo pod = MakePod("p");
  pod.labels = {{"app", "noisy"}};
  EXPECT_EQ(FilterAntiAffinity(pod, node),
            "node(s) didn't satisfy existing pods anti-affinity rules");
  ASSERT_TRUE(RemovePod(node, "uid-lonely").ok());
  EXPECT_EQ(node.anti_affinity_pods, 0);
  EXPECT_EQ(FilterAntiAffinity(pod, node), std::nullopt);
}

TEST(RunFilters, FirstFailureWinsAndOnlyResourcesDetected) {
  NodeInfo node = MakeNode("n", 100, kGi);
  node.ready = false;
  EXPECT_EQ(RunFilters(MakePod("p", 200, 0), node), "node(s) were not ready");
  EXPECT_FALSE(FailsOnlyOnResources(MakePod("p", 200, 0), node));
  node.ready = true;
  EXPECT_EQ(RunFilters(MakePod("p", 200, 0), node), "Insufficient cpu");
  EXPECT_TRUE(FailsOnlyOnResources(MakePod("p", 200, 0), node));
  EXPECT_FALSE(FailsOnlyOnResources(MakePod("p", 50, 0), node)) << "fits: nothing to preempt";
}

}  // namespace
}  // namespace berth::control::scheduler
