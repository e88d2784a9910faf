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
