#include <map>

#include <gtest/gtest.h>

#include "scheduler_test_util.h"

#include "berth/control/scheduler/scheduler.h"

namespace berth::control::scheduler {
namespace {

using testing::kGi;
using testing::MakeNode;
using testing::MakePod;

// "a-full" runs half its cpu and memory, "b-empty" nothing.
std::vector<NodeInfo> FullAndEmpty() {
  std::vector<NodeInfo> nodes = {MakeNode("a-full"), MakeNode("b-empty")};
  AddPod(nodes[0], MakePod("x", 2000, 4 * kGi));
  return nodes;
}

TEST(ResourceScore, PoliciesAsIfPodPlaced) {
  NodeInfo node = MakeNode("n", 4000, 8 * kGi);
  AddPod(node, MakePod("x", 1000, 2 * kGi));
  PodInfo pod = MakePod("p", 1000, 4 * kGi);                      // after: cpu 0.5, memory 0.75
  EXPECT_EQ(ResourceScore(pod, node, ScorePolicy::kSpread), 38);  // (0.5 + 0.25) / 2
  EXPECT_EQ(ResourceScore(pod, node, ScorePolicy::kPack), 63);    // (0.5 + 0.75) / 2
  EXPECT_EQ(ResourceScore(pod, node, ScorePolicy::kBalanced), 75);
}

TEST(ResourceScore, ZeroAllocatableCountsAsFull) {
  NodeInfo node = MakeNode("n", 0, 0);
  EXPECT_EQ(ResourceScore(MakePod("p", 0, 0), node, ScorePolicy::kSpread), 0);
}

TEST(Schedule, SpreadPicksEmptierNode) {
  Decision d = Schedule(MakePod("p"), FullAndEmpty(), ScorePolicy::kSpread);
  EXPECT_EQ(d.node, "b-empty");
  EXPECT_TRUE(d.message.empty());
  EXPECT_TRUE(d.victims.empty());
}

TEST(Schedule, PackPicksFullerNode) {
  EXPECT_EQ(Schedule(MakePod("p"), FullAndEmpty(), ScorePolicy::kPack).node, "a-full");
}

TEST(Schedule, BalancedPicksMoreBalancedNode) {
  std::vector<NodeInfo> nodes = {MakeNode("a-cpu-heavy"), MakeNode("b-balanced")};
  AddPod(nodes[0], MakePod("x", 2000, 1 * kGi));
  AddPod(nodes[1], MakePod("y", 1000, 4 * kGi));
  PodInfo pod = MakePod("p", 1000, 2 * kGi);
  // After placement a: cpu 0.75 / mem 0.375, b: cpu 0.5 / mem 0.75.
  EXPECT_EQ(Schedule(pod, nodes, ScorePolicy::kBalanced).node, "b-balanced");
  EXPECT_EQ(Schedule(pod, nodes, ScorePolicy::kSpread).node, "a-cpu-heavy");
}

class OwnerSpreading : public ::testing::TestWithParam<ScorePolicy> {};

TEST_P(OwnerSpreading, SixReplicasLandTwoPerNode) {
  std::vector<NodeInfo> nodes = {MakeNode("a"), MakeNode("b"), MakeNode("c")};
  for (int i = 0; i < 6; ++i) {
    PodInfo pod = MakePod("web-" + std::to_string(i));
    pod.owner_uid = "rs-web";
    Decision d = Schedule(pod, nodes, GetParam());
    ASSERT_TRUE(d.node.has_value()) << d.message;
    for (NodeInfo& n : nodes) {
      if (n.name == *d.node) AddPod(n, pod);
    }
  }
  for (const NodeInfo& n : nodes) {
    EXPECT_EQ(n.placed.size(), 2u) << n.name;
    EXPECT_EQ(OwnerPodCount(MakePod("q"), n), 0) << "no owner, no count";
  }
}

INSTANTIATE_TEST_SUITE_P(AllPolicies, OwnerSpreading,
                         ::testing::Values(ScorePolicy::kSpread, ScorePolicy::kPack,
                                           ScorePolicy::kBalanced));

TEST(Schedule, PreferNoScheduleTaintLowersScoreUnlessTolerated) {
  std::vector<NodeInfo> nodes = {MakeNode("a"), MakeNode("b")};
  nodes[0].taints = {{"spot", "true", TaintEffect::kPreferNoSchedule}};
  PodInfo pod = MakePod("p");
  EXPECT_EQ(UntoleratedPreferNoSchedule(pod, nodes[0]), 1);
  EXPECT_EQ(Schedule(pod, nodes, ScorePolicy::kSpread).node, "b");
  pod.tolerations = {{"spot", TolerationOperator::kExists, "", std::nullopt}};
  EXPECT_EQ(UntoleratedPreferNoSchedule(pod, nodes[0]), 0);
  EXPECT_EQ(Schedule(pod, nodes, ScorePolicy::kSpread).node, "a");
}

TEST(Schedule, TiesBrokenByNameWhateverTheInputOrder) {
  std::vector<NodeInfo> nodes = {MakeNode("c"), MakeNode("a"), MakeNode("b")};
  for (ScorePolicy policy : {ScorePolicy::kSpread, ScorePolicy::kPack, ScorePolicy::kBalanced}) {
    EXPECT_EQ(Schedule(MakePod("p"), nodes, policy).node, "a");
    std::vector<NodeInfo> reversed(nodes.rbegin(), nodes.rend());
    EXPECT_EQ(Schedule(MakePod("p"), reversed, policy).node, "a");
  }
}

TEST(ScoreNodes, WeightedComponents) {
  std::vector<NodeInfo> nodes = {MakeNode("a"), MakeNode("b")};
  PodInfo owned = MakePod("r0");
  owned.owner_uid = "rs";
  AddPod(nodes[0], owned);
  PodInfo pod = MakePod("r1", 0, 0);
  pod.owner_uid = "rs";
  std::vector<int64_t> s = ScoreNodes(pod, {&nodes[0], &nodes[1]}, ScorePolicy::kBalanced);
  ASSERT_EQ(s.size(), 2u);
  // a: balanced ~99, owner spread 0, taints 100; b: 100, 100, 100.
  EXPECT_EQ(s[1], kResourceWeight * 100 + kOwnerSpreadWeight * 100 + kTaintPreferenceWeight * 100);
  EXPECT_LT(s[0], s[1] - kOwnerSpreadWeight * 99);
}

}  // namespace
}  // namespace berth::control::scheduler
