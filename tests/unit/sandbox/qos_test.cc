#include "qos.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace berth::nodeagent {
namespace {

constexpr int64_t kMi = 1 << 20;

PodManifest PodWith(std::vector<Resources> rs) {
  PodManifest p;
  p.name = "p";
  for (size_t i = 0; i < rs.size(); ++i) {
    ContainerSpec c;
    c.name = "c" + std::to_string(i);
    c.image = "busybox";
    c.resources = rs[i];
    p.containers.push_back(c);
  }
  return p;
}

TEST(QosTest, ClassesAsKubernetesDefinesThem) {
  EXPECT_EQ(PodQosClass(PodWith({{}, {}})), QosClass::kBestEffort);
  Resources exact;
  exact.cpu_limit_milli = 500;
  exact.memory_limit_bytes = 64 * kMi;  // requests default to limits
  EXPECT_EQ(PodQosClass(PodWith({exact})), QosClass::kGuaranteed);
  Resources lower = exact;
  lower.memory_request_bytes = 32 * kMi;
  EXPECT_EQ(PodQosClass(PodWith({exact, lower})), QosClass::kBurstable);
  Resources cpu_only;
  cpu_only.cpu_request_milli = 100;
  EXPECT_EQ(PodQosClass(PodWith({exact, {}})), QosClass::kBurstable);
  EXPECT_EQ(PodQosClass(PodWith({cpu_only})), QosClass::kBurstable);
}

TEST(QosTest, ContainerCgroupValues) {
  Resources r;
  r.cpu_request_milli = 250;
  r.cpu_limit_milli = 1500;
  r.memory_limit_bytes = 128 * kMi;
  auto c = ContainerResources(r);
  ASSERT_TRUE(c.cpu.has_value());
  EXPECT_EQ(*c.cpu->shares, 256u);
  EXPECT_EQ(*c.cpu->quota, 150000);
  EXPECT_EQ(*c.cpu->period, 100000u);
  EXPECT_EQ(*c.memory->limit, 128 * kMi);
  auto none = ContainerResources({});
  EXPECT_EQ(*none.cpu->shares, 2u);
  EXPECT_FALSE(none.cpu->quota.has_value());
  EXPECT_FALSE(none.memory.has_value());
}

TEST(QosTest, PodCgroupSumsLimitsOnlyWhenAllHaveThem) {
  Resources a, b;
  a.cpu_limit_milli = 500;
  a.memory_limit_bytes = 64 * kMi;
  b.cpu_limit_milli = 250;
  b.memory_limit_bytes = 32 * kMi;
  auto both = PodResources(PodWith({a, b}));
  EXPECT_EQ(*both.cpu->quota, 75000);
  EXPECT_EQ(*both.memory->limit, 96 * kMi);
  EXPECT_EQ(*both.cpu->shares, 768u);  // requests default to limits
  auto partial = PodResources(PodWith({a, {}}));
  EXPECT_FALSE(partial.cpu->quota.has_value());
  EXPECT_FALSE(partial.memory.has_value());
}

TEST(QosTest, OomScoreAdj) {
  Resources r;
  r.memory_request_bytes = 1024 * kMi;
  EXPECT_EQ(OomScoreAdj(QosClass::kGuaranteed, r, 4096 * kMi), -997);
  EXPECT_EQ(OomScoreAdj(QosClass::kBestEffort, {}, 4096 * kMi), 1000);
  EXPECT_EQ(OomScoreAdj(QosClass::kBurstable, r, 4096 * kMi), 750);
  EXPECT_EQ(OomScoreAdj(QosClass::kBurstable, {}, 4096 * kMi), 999);
  Resources huge;
  huge.memory_request_bytes = 8192 * kMi;
  EXPECT_EQ(OomScoreAdj(QosClass::kBurstable, huge, 4096 * kMi), 2);
}

}  // namespace
}  // namespace berth::nodeagent
