#include "berth/control/rollout.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace berth::control {
namespace {

RollingLimits Limits(const char* surge, const char* unavailable, int64_t replicas) {
  auto s = IntOrPercent::Parse(surge, "maxSurge");
  auto u = IntOrPercent::Parse(unavailable, "maxUnavailable");
  EXPECT_TRUE(s.ok() && u.ok());
  return *ResolveLimits(*s, *u, replicas);
}

TEST(RolloutTest, LimitsRoundLikeKubernetes) {
  RollingLimits l = Limits("25%", "25%", 10);
  EXPECT_EQ(l.max_surge, 3);        // 2.5 rounded up
  EXPECT_EQ(l.max_unavailable, 2);  // 2.5 rounded down
  l = Limits("0", "0", 10);
  EXPECT_EQ(l.max_unavailable, 1);
  l = Limits("1", "0", 3);
  EXPECT_EQ(l.max_surge, 1);
  EXPECT_EQ(l.max_unavailable, 0);
  EXPECT_ERRNO(IntOrPercent::Parse("150%", "spec.strategy.rollingUpdate.maxSurge"), EINVAL);
  auto bad = IntOrPercent::Parse("-1", "spec.strategy.rollingUpdate.maxSurge");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("spec.strategy.rollingUpdate.maxSurge"), std::string::npos);
}

// Drives a rollout to the end, making pods available after one step, and
// checks Kubernetes' guarantees at every step.
void Simulate(int64_t replicas, const RollingLimits& limits, int64_t old_replicas) {
  ReplicaSetState next{"new", 0, 0};
  std::vector<ReplicaSetState> old = {{"old", old_replicas, old_replicas}};
  int64_t was_available = old_replicas;
  for (int i = 0; i < 100; ++i) {
    RolloutStep s = RollingUpdateStep(replicas, limits, next, old);
    if (s.done) return;
    // Pods created now become available on the next step; pods removed
    // are gone at once (the worst case for availability).
    const int64_t old_now = s.old_replicas["old"];
    const int64_t total = s.new_replicas + old_now;
    EXPECT_LE(total, replicas + limits.max_surge) << "step " << i;
    const int64_t available =
        std::min(next.available, s.new_replicas) + std::min(old[0].available, old_now);
    // Never below replicas - maxUnavailable (or below where it started, when
    // the deployment is also being scaled up).
    EXPECT_GE(available, std::min(replicas - limits.max_unavailable, was_available))
        << "step " << i;
    was_available = available;
    next.available = std::min(next.replicas, s.new_replicas);
    next.replicas = s.new_replicas;
    old[0].replicas = old_now;
    old[0].available = std::min(old[0].available, old_now);
    if (old[0].replicas == 0) old.clear();
    if (old.empty()) old.push_back({"old", 0, 0});
  }
  ADD_FAILURE() << "rollout did not finish in 100 steps";
}

TEST(RolloutTest, RollingUpdateKeepsAvailabilityAndConverges) {
  Simulate(10, Limits("25%", "25%", 10), 10);
  Simulate(10, Limits("1", "0", 10), 10);   // surge only: never below 10 available
  Simulate(10, Limits("0", "1", 10), 10);   // one at a time, no surge
  Simulate(3, Limits("100%", "0", 3), 3);   // blue/green-ish
  Simulate(5, Limits("25%", "25%", 5), 2);  // scaling up while rolling
}

TEST(RolloutTest, FirstStepOfADefaultRollout) {
  RolloutStep s = RollingUpdateStep(10, Limits("25%", "25%", 10), {"new", 0, 0}, {{"old", 10, 10}});
  EXPECT_EQ(s.new_replicas, 3);            // up to 13 pods in total
  EXPECT_EQ(s.old_replicas.at("old"), 8);  // 8 stay available
  EXPECT_FALSE(s.done);
}

TEST(RolloutTest, UnavailableOldPodsGoFirst) {
  // 4 old pods are crash-looping and only 6 are available, below the 8 that
  // must stay: the scale-down budget (2) goes to unhealthy pods only.
  RolloutStep s = RollingUpdateStep(10, Limits("25%", "25%", 10), {"new", 0, 0}, {{"old", 10, 6}});
  EXPECT_EQ(s.old_replicas.at("old"), 8);
  EXPECT_EQ(s.new_replicas, 3);
}

TEST(RolloutTest, Recreate) {
  RolloutStep s = RecreateStep(4, {"new", 0, 0}, {{"old", 4, 4}});
  EXPECT_EQ(s.old_replicas.at("old"), 0);
  EXPECT_EQ(s.new_replicas, 0);  // not before the old pods are gone
  s = RecreateStep(4, {"new", 0, 0}, {{"old", 0, 0}});
  EXPECT_EQ(s.new_replicas, 4);
  s = RecreateStep(4, {"new", 4, 4}, {});
  EXPECT_TRUE(s.done);
}

TEST(RolloutTest, PodTemplateHashIsStableAndSafe) {
  const std::string a = PodTemplateHash("{containers:[{image:nginx:1.25}]}");
  EXPECT_EQ(a, PodTemplateHash("{containers:[{image:nginx:1.25}]}"));
  EXPECT_NE(a, PodTemplateHash("{containers:[{image:nginx:1.26}]}"));
  EXPECT_NE(a, PodTemplateHash("{containers:[{image:nginx:1.25}]}", 1));
  EXPECT_EQ(a.find_first_of("aeiou013"), std::string::npos) << a;
  EXPECT_LE(a.size(), 10u);
}

}  // namespace
}  // namespace berth::control
