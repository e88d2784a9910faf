#include <gtest/gtest.h>

#include "scheduler_test_util.h"

#include "berth/control/scheduler/scheduler.h"

namespace berth::control::scheduler {
namespace {

using testing::kGi;
using testing::MakeNode;
using testing::MakePod;

std::vector<std::string> Names(const std::vector<PodInfo>& pods) {
  std::vector<std::string> out;
  out.reserve(pods.size());
  for (const PodInfo& p : pods) out.push_back(p.name);
  return out;
}

TEST(Preemption, ChoosesNodeWithFewestVictims) {
  std::vector<NodeInfo> nodes = {MakeNode("a", 4000, 8 * kGi), MakeNode("b", 4000, 8 * kGi)};
  for (int i = 0; i < 4; ++i) AddPod(nodes[0], MakePod("a" + std::to_string(i), 1000, kGi, 0));
  AddPod(nodes[1], MakePod("big", 2000, kGi, 1));
  AddPod(nodes[1], MakePod("small1", 1000, kGi, 1));
  AddPod(nodes[1], MakePod("small2", 1000, kGi, 1));
  PodInfo pod = MakePod("urgent", 2000, kGi, 10);
  Decision d = Schedule(pod, nodes, ScorePolicy::kSpread);
  EXPECT_EQ(d.node, "b");
  EXPECT_EQ(Names(d.victims), std::vector<std::string>{"big"});
  EXPECT_EQ(d.message, "0/2 nodes are available: 2 Insufficient cpu.");
}

TEST(Preemption, WaitsForVictimsTerminatingOnTheNominatedNode) {
  std::vector<NodeInfo> nodes = {MakeNode("a", 1000, kGi), MakeNode("b", 1000, kGi)};
  PodInfo victim = MakePod("low-a", 800, 0, 0);
  victim.terminating = true;
  AddPod(nodes[0], victim);
  AddPod(nodes[1], MakePod("low-b", 800, 0, 0));
  PodInfo pod = MakePod("high", 800, 0, 1000);
  pod.nominated_node = "a";
  // The room on "a" is coming: no second victim on "b".
  Decision d = Schedule(pod, nodes, ScorePolicy::kSpread);
  EXPECT_FALSE(d.node.has_value());
  EXPECT_TRUE(d.victims.empty());
  // Nominated elsewhere, or the terminating pod outranks it: preempt as usual.
  pod.nominated_node = "b";
  EXPECT_EQ(Schedule(pod, nodes, ScorePolicy::kSpread).node, "a");
  pod.nominated_node = "a";
  nodes[0].placed.front().priority = 2000;
  EXPECT_EQ(Schedule(pod, nodes, ScorePolicy::kSpread).node, "b");
}

TEST(Preemption, PrefersLowestPriorityVictimsOnEqualCount) {
  std::vector<NodeInfo> nodes = {MakeNode("a", 1000, kGi), MakeNode("b", 1000, kGi)};
  AddPod(nodes[0], MakePod("mid", 1000, 0, 5));
  AddPod(nodes[1], MakePod("low", 1000, 0, 3));
  Decision d = Schedule(MakePod("p", 1000, 0, 10), nodes, ScorePolicy::kPack);
  EXPECT_EQ(d.node, "b");
  EXPECT_EQ(Names(d.victims), std::vector<std::string>{"low"});
}

TEST(Preemption, EvictsLowestPriorityFirstOnOneNode) {
  std::vector<NodeInfo> nodes = {MakeNode("a", 3000, kGi)};
  AddPod(nodes[0], MakePod("p5", 1000, 0, 5));
  AddPod(nodes[0], MakePod("p1", 1000, 0, 1));
  AddPod(nodes[0], MakePod("p3", 1000, 0, 3));
  Decision d = Schedule(MakePod("p", 2000, 0, 10), nodes, ScorePolicy::kSpread);
  EXPECT_EQ(d.node, "a");
  EXPECT_EQ(Names(d.victims), (std::vector<std::string>{"p1", "p3"}));
}

TEST(Preemption, ReprievesVictimsThatNeedNotGo) {
  std::vector<NodeInfo> nodes = {MakeNode("a", 4000, kGi)};
  AddPod(nodes[0], MakePod("low-small", 1000, 0, 1));
  AddPod(nodes[0], MakePod("higher-big", 3000, 0, 2));
  // Greedy evicts low-small then higher-big; the reprieve keeps low-small.
  Decision d = Schedule(MakePod("p", 3000, 0, 10), nodes, ScorePolicy::kSpread);
  EXPECT_EQ(d.node, "a");
  EXPECT_EQ(Names(d.victims), std::vector<std::string>{"higher-big"});
}

TEST(Preemption, NeverEvictsEqualOrHigherPriority) {
  std::vector<NodeInfo> nodes = {MakeNode("a", 2000, kGi)};
  AddPod(nodes[0], MakePod("equal", 1000, 0, 10));
  AddPod(nodes[0], MakePod("higher", 1000, 0, 20));
  Decision d = Schedule(MakePod("p", 1000, 0, 10), nodes, ScorePolicy::kSpread);
  EXPECT_EQ(d.node, std::nullopt);
  EXPECT_TRUE(d.victims.empty());
  EXPECT_EQ(d.message, "0/1 nodes are available: 1 Insufficient cpu.");

  AddPod(nodes[0], MakePod("lower", 0, 0, 1));
  // Evicting "lower" frees no cpu, so there is still no way in.
  EXPECT_EQ(FindPreemption(MakePod("p", 1000, 0, 10), nodes), std::nullopt);
}

TEST(Preemption, OnlyNodesFailingOnResourcesAreCandidates) {
  std::vector<NodeInfo> nodes = {MakeNode("a", 1000, kGi)};
  AddPod(nodes[0], MakePod("low", 1000, 0, 0));
  nodes[0].taints = {{"dedicated", "gpu", TaintEffect::kNoSchedule}};
  Decision d = Schedule(MakePod("p", 1000, 0, 10), nodes, ScorePolicy::kSpread);
  EXPECT_EQ(d.node, std::nullopt);
  EXPECT_TRUE(d.victims.empty());
}

TEST(Preemption, FreesPodSlots) {
  std::vector<NodeInfo> nodes = {MakeNode("a", 4000, kGi, 1)};
  AddPod(nodes[0], MakePod("low", 0, 0, 0));
  Decision d = Schedule(MakePod("p", 0, 0, 1), nodes, ScorePolicy::kSpread);
  EXPECT_EQ(d.message, "0/1 nodes are available: 1 Too many pods.");
  EXPECT_EQ(d.node, "a");
  EXPECT_EQ(Names(d.victims), std::vector<std::string>{"low"});
}

TEST(Preemption, TiesBrokenByName) {
  std::vector<NodeInfo> nodes = {MakeNode("b", 1000, kGi), MakeNode("a", 1000, kGi)};
  AddPod(nodes[0], MakePod("lb", 1000, 0, 0));
  AddPod(nodes[1], MakePod("la", 1000, 0, 0));
  std::optional<Preemption> p = FindPreemption(MakePod("p", 1000, 0, 10), nodes);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->node->name, "a");
}

}  // namespace
}  // namespace berth::control::scheduler
