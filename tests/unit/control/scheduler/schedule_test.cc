#include <gtest/gtest.h>

#include "scheduler_test_util.h"

#include "berth/control/scheduler/scheduler.h"

namespace berth::control::scheduler {
namespace {

using testing::kGi;
using testing::MakeNode;
using testing::MakePod;

TEST(Schedule, FailedSchedulingMessageAggregatesReasons) {
  std::vector<NodeInfo> nodes = {MakeNode("a", 4000, kGi), MakeNode("b", 4000, kGi),
                                 MakeNode("gpu")};
  nodes[2].taints = {{"dedicated", "gpu", TaintEffect::kNoSchedule}};
  Decision d = Schedule(MakePod("p", 100, 2 * kGi), nodes, ScorePolicy::kSpread);
  EXPECT_EQ(d.node, std::nullopt);
  EXPECT_TRUE(d.victims.empty());
  EXPECT_EQ(d.message,
            "0/3 nodes are available: 2 Insufficient memory, "
            "1 node(s) had untolerated taint {dedicated: gpu}.");
}

TEST(Schedule, NodeCountsOnceUnderFirstFailingReason) {
  std::vector<NodeInfo> nodes = {MakeNode("a", 10, 10), MakeNode("b", 10, 10)};
  nodes[0].ready = false;  // also short of cpu and memory, counted as not ready only
  Decision d = Schedule(MakePod("p"), nodes, ScorePolicy::kPack);
  EXPECT_EQ(d.message, "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were not ready.");
}

TEST(Schedule, SkipsInfeasibleNodes) {
  std::vector<NodeInfo> nodes = {MakeNode("a"), MakeNode("b"), MakeNode("c")};
  nodes[0].unschedulable = true;
  nodes[2].labels = {{"disk", "ssd"}};
  PodInfo pod = MakePod("p");
  pod.node_selector = {{"disk", "ssd"}};
  EXPECT_EQ(Schedule(pod, nodes, ScorePolicy::kSpread).node, "c");
}

TEST(Schedule, NoNodes) {
  Decision d = Schedule(MakePod("p"), {}, ScorePolicy::kSpread);
  EXPECT_EQ(d.node, std::nullopt);
  EXPECT_EQ(d.message, "0/0 nodes are available.");
}

TEST(FailureMessage, SortsByCountThenText) {
  EXPECT_EQ(FailureMessage(6, {"b", "a", "c", "c", "b", "c"}),
            "0/6 nodes are available: 3 c, 2 b, 1 a.");
}

}  // namespace
}  // namespace berth::control::scheduler

namespace berth::control::scheduler {
namespace {

TEST(ScheduleSamplingTest, FeasibleNodesToFindFollowsKubeScheduler) {
  EXPECT_EQ(FeasibleNodesToFind(50), 50u);
  EXPECT_EQ(FeasibleNodesToFind(100), 100u);
  EXPECT_EQ(FeasibleNodesToFind(1000), 420u);   // 42%
  EXPECT_EQ(FeasibleNodesToFind(5000), 500u);   // 10%
  EXPECT_EQ(FeasibleNodesToFind(10000), 500u);  // floor of 5%
  EXPECT_EQ(FeasibleNodesToFind(150), 100u);    // at least 100
}

TEST(ScheduleSamplingTest, StopsEarlyAndRotates) {
  std::vector<NodeInfo> nodes(300);
  for (size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].name = "n" + std::to_string(1000 + i);
    nodes[i].allocatable = {4000, int64_t{8} << 30, 110};
  }
  // The first 10 nodes are cordoned: the sample goes past them.
  for (size_t i = 0; i < 10; ++i) nodes[i].unschedulable = true;
  PodInfo pod;
  pod.name = pod.uid = "p";
  pod.requests = {100, 1 << 20, 0};
  size_t next = 0;
  Decision d = Schedule(pod, nodes, ScorePolicy::kSpread, {0, 100}, &next);
  ASSERT_TRUE(d.node.has_value());
  EXPECT_EQ(next, 110u);  // 10 rejected + 100 feasible processed
  const int chosen = std::stoi(d.node->substr(1)) - 1000;
  EXPECT_GE(chosen, 10);
  EXPECT_LT(chosen, 110);
  Decision d2 = Schedule(pod, nodes, ScorePolicy::kSpread, {next, 100}, &next);
  ASSERT_TRUE(d2.node.has_value());
  const int chosen2 = std::stoi(d2.node->substr(1)) - 1000;
  EXPECT_GE(chosen2, 110);
  EXPECT_LT(chosen2, 210);
  // Nothing fits: every node is tried and the message counts all of them.
  pod.requests.cpu_milli = 1000000;
  Decision none = Schedule(pod, nodes, ScorePolicy::kSpread, {next, 100}, &next);
  EXPECT_FALSE(none.node.has_value());
  EXPECT_EQ(none.message,
            "0/300 nodes are available: 290 Insufficient cpu, 10 node(s) were unschedulable.");
}

}  // namespace
}  // namespace berth::control::scheduler
