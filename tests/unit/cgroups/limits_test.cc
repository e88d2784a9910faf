// OCI linux.resources -> cgroup v2 file mapping and the v1->v2 conversions.
#include "berth/cgroups/limits.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace berth::cgroups {
namespace {

std::vector<CgroupWrite> MustMap(const Resources& r) {
  auto w = MapResources(r);
  EXPECT_TRUE(w.ok()) << w.error().ToString();
  return w.ok() ? *w : std::vector<CgroupWrite>{};
}

// The error must be EINVAL and name the OCI field.
void ExpectFieldError(const Resources& r, const std::string& field) {
  auto w = MapResources(r);
  ASSERT_FALSE(w.ok()) << "mapping succeeded, wanted an error for " << field;
  EXPECT_EQ(w.error().err(), EINVAL) << w.error().ToString();
  EXPECT_NE(w.error().ToString().find("linux.resources." + field), std::string::npos)
      << w.error().ToString();
}

TEST(CpuSharesToWeight, KnownPointsOfCrunsFormula) {
  EXPECT_EQ(CpuSharesToWeight(0), 0u);  // unset
  EXPECT_EQ(CpuSharesToWeight(1), 1u);
  EXPECT_EQ(CpuSharesToWeight(2), 1u);
  EXPECT_EQ(CpuSharesToWeight(3), 2u);
  EXPECT_EQ(CpuSharesToWeight(100), 17u);
  EXPECT_EQ(CpuSharesToWeight(512), 59u);
  EXPECT_EQ(CpuSharesToWeight(1024), 100u);  // v1 default -> v2 default
  EXPECT_EQ(CpuSharesToWeight(2048), 174u);
  EXPECT_EQ(CpuSharesToWeight(10000), 627u);
  EXPECT_EQ(CpuSharesToWeight(262143), 10000u);
  EXPECT_EQ(CpuSharesToWeight(262144), 10000u);
  EXPECT_EQ(CpuSharesToWeight(1000000), 10000u);
}

TEST(CpuSharesToWeight, MonotonicAndInRange) {
  uint64_t prev = 0;
  for (uint64_t s = 2; s <= 262144; s += 97) {
    uint64_t w = CpuSharesToWeight(s);
    EXPECT_GE(w, prev) << "shares " << s;
    EXPECT_GE(w, 1u);
    EXPECT_LE(w, 10000u);
    prev = w;
  }
}

TEST(BlkioWeightToIoWeight, LinearLikeCrun) {
  EXPECT_EQ(BlkioWeightToIoWeight(10), 1u);
  EXPECT_EQ(BlkioWeightToIoWeight(100), 910u);
  EXPECT_EQ(BlkioWeightToIoWeight(500), 4950u);
  EXPECT_EQ(BlkioWeightToIoWeight(1000), 10000u);
  EXPECT_EQ(BlkioWeightToIoWeight(5), 1u);         // clamped
  EXPECT_EQ(BlkioWeightToIoWeight(5000), 10000u);  // clamped
}

TEST(MapResources, EmptyResourcesWriteNothing) { EXPECT_TRUE(MustMap(Resources{}).empty()); }

TEST(MapResources, CpuFull) {
  Resources r;
  r.cpu = CpuResources{};
  r.cpu->shares = 1024;
  r.cpu->quota = 50000;
  r.cpu->period = 200000;
  r.cpu->idle = 1;
  r.cpu->cpus = "0-1";
  r.cpu->mems = "0";
  std::vector<CgroupWrite> want = {
      {"cpu", "cpu.weight", "100"},   {"cpu", "cpu.max", "50000 200000"},
      {"cpu", "cpu.idle", "1"},       {"cpuset", "cpuset.cpus", "0-1"},
      {"cpuset", "cpuset.mems", "0"},
  };
  EXPECT_EQ(MustMap(r), want);
}

TEST(MapResources, CpuQuotaWithoutPeriodUsesDefaultPeriod) {
  Resources r;
  r.cpu = CpuResources{};
  r.cpu->quota = 20000;
  EXPECT_EQ(MustMap(r), (std::vector<CgroupWrite>{{"cpu", "cpu.max", "20000 100000"}}));
}

TEST(MapResources, CpuNegativeOrUnsetQuotaIsMax) {
  Resources r;
  r.cpu = CpuResources{};
  r.cpu->quota = -1;
  EXPECT_EQ(MustMap(r), (std::vector<CgroupWrite>{{"cpu", "cpu.max", "max 100000"}}));
  r.cpu->quota.reset();
  r.cpu->period = 50000;
  EXPECT_EQ(MustMap(r), (std::vector<CgroupWrite>{{"cpu", "cpu.max", "max 50000"}}));
}

TEST(MapResources, CpuZeroSharesAndQuotaAreUnset) {
  Resources r;
  r.cpu = CpuResources{};
  r.cpu->shares = 0;
  r.cpu->quota = 0;
  EXPECT_TRUE(MustMap(r).empty());
}

TEST(MapResources, CpuBadValues) {
  Resources r;
  r.cpu = CpuResources{};
  r.cpu->quota = 50000;
  r.cpu->period = 0;
  ExpectFieldError(r, "cpu.period");

  r.cpu->period = 500;  // below the kernel's 1ms
  ExpectFieldError(r, "cpu.period");
  r.cpu->period = 2000000;  // above 1s
  ExpectFieldError(r, "cpu.period");

  r.cpu->period = 100000;
  r.cpu->quota = 999;
  ExpectFieldError(r, "cpu.quota");

  r.cpu->quota.reset();
  r.cpu->idle = 2;
  ExpectFieldError(r, "cpu.idle");

  r.cpu->idle.reset();
  r.cpu->realtime_runtime = 950000;
  ExpectFieldError(r, "cpu.realtimeRuntime");
  r.cpu->realtime_runtime.reset();
  r.cpu->realtime_period = 1000000;
  ExpectFieldError(r, "cpu.realtimePeriod");
}

TEST(MapResources, MemoryLimitSwapReservation) {
  Resources r;
  r.memory = MemoryResources{};
  r.memory->limit = 256 << 20;
  r.memory->swap = 384 << 20;  // memory+swap
  r.memory->reservation = 128 << 20;
  std::vector<CgroupWrite> want = {
      {"memory", "memory.max", std::to_string(256 << 20)},
      {"memory", "memory.swap.max", std::to_string(128 << 20)},
      {"memory", "memory.low", std::to_string(128 << 20)},
  };
  EXPECT_EQ(MustMap(r), want);
}

TEST(MapResources, MemoryUnlimited) {
  Resources r;
  r.memory = MemoryResources{};
  r.memory->limit = -1;
  r.memory->swap = -1;
  std::vector<CgroupWrite> want = {
      {"memory", "memory.max", "max"},
      {"memory", "memory.swap.max", "max"},
  };
  EXPECT_EQ(MustMap(r), want);
}

TEST(MapResources, MemorySwapEqualToLimitMeansNoSwap) {
  Resources r;
  r.memory = MemoryResources{};
  r.memory->limit = 1 << 30;
  r.memory->swap = 1 << 30;
  EXPECT_EQ(MustMap(r)[1], (CgroupWrite{"memory", "memory.swap.max", "0"}));
}

TEST(MapResources, MemoryBadValues) {
  Resources r;
  r.memory = MemoryResources{};
  r.memory->limit = 512 << 20;
  r.memory->swap = 256 << 20;  // less than the limit
  ExpectFieldError(r, "memory.swap");

  r.memory->limit.reset();  // swap without a limit
  ExpectFieldError(r, "memory.swap");

  r.memory->limit = -1;  // swap with an unlimited memory limit
  ExpectFieldError(r, "memory.swap");

  r.memory->swap.reset();
  r.memory->limit = -5;
  ExpectFieldError(r, "memory.limit");

  r.memory->limit.reset();
  r.memory->reservation = -1;
  ExpectFieldError(r, "memory.reservation");

  Resources v1only;
  v1only.memory = MemoryResources{};
  v1only.memory->kernel = 1 << 20;
  ExpectFieldError(v1only, "memory.kernel");
  v1only.memory->kernel.reset();
  v1only.memory->swappiness = 60;
  ExpectFieldError(v1only, "memory.swappiness");
  v1only.memory->swappiness.reset();
  v1only.memory->disable_oom_killer = true;
  ExpectFieldError(v1only, "memory.disableOOMKiller");
  v1only.memory->disable_oom_killer = false;
  v1only.memory->use_hierarchy = true;  // what v2 always does: accepted
  EXPECT_TRUE(MustMap(v1only).empty());
  v1only.memory->use_hierarchy = false;
  ExpectFieldError(v1only, "memory.useHierarchy");
}

TEST(MapResources, PidsZeroOrNegativeIsMax) {
  Resources r;
  r.pids = PidsResources{100};
  EXPECT_EQ(MustMap(r), (std::vector<CgroupWrite>{{"pids", "pids.max", "100"}}));
  r.pids->limit = 0;
  EXPECT_EQ(MustMap(r), (std::vector<CgroupWrite>{{"pids", "pids.max", "max"}}));
  r.pids->limit = -1;
  EXPECT_EQ(MustMap(r), (std::vector<CgroupWrite>{{"pids", "pids.max", "max"}}));
}

TEST(MapResources, BlockIo) {
  Resources r;
  r.block_io = BlockIoResources{};
  r.block_io->weight = 500;
  BlockIoDevice wd;
  wd.major = 8;
  wd.minor = 0;
  wd.weight = 100;
  r.block_io->weight_device.push_back(wd);
  BlockIoDevice t;
  t.major = 8;
  t.minor = 16;
  t.rate = 1048576;
  r.block_io->throttle_read_bps_device.push_back(t);
  t.rate = 2097152;
  r.block_io->throttle_write_bps_device.push_back(t);
  t.rate = 100;
  r.block_io->throttle_read_iops_device.push_back(t);
  t.rate = 0;  // v1's "remove the limit"
  r.block_io->throttle_write_iops_device.push_back(t);
  std::vector<CgroupWrite> want = {
      {"io", "io.weight", "default 4950"},   {"io", "io.weight", "8:0 910"},
      {"io", "io.max", "8:16 rbps=1048576"}, {"io", "io.max", "8:16 wbps=2097152"},
      {"io", "io.max", "8:16 riops=100"},    {"io", "io.max", "8:16 wiops=max"},
  };
  EXPECT_EQ(MustMap(r), want);
}

TEST(MapResources, BlockIoBadValues) {
  Resources r;
  r.block_io = BlockIoResources{};
  r.block_io->weight = 5;
  ExpectFieldError(r, "blockIO.weight");
  r.block_io->weight = 1001;
  ExpectFieldError(r, "blockIO.weight");
  r.block_io->weight.reset();
  r.block_io->leaf_weight = 100;
  ExpectFieldError(r, "blockIO.leafWeight");
  r.block_io->leaf_weight.reset();
  BlockIoDevice d;
  d.major = -1;
  d.minor = 0;
  d.rate = 10;
  r.block_io->throttle_read_bps_device.push_back(d);
  ExpectFieldError(r, "blockIO.throttleReadBpsDevice[0]");
}

TEST(MapResources, Hugetlb) {
  Resources r;
  r.hugepage_limits = {{"2MB", 4194304}, {"1GB", 0}};
  std::vector<CgroupWrite> want = {
      {"hugetlb", "hugetlb.2MB.max", "4194304"},
      {"hugetlb", "hugetlb.1GB.max", "0"},
  };
  EXPECT_EQ(MustMap(r), want);

  for (const char* bad : {"", "2M", "MB", "2mb", "../x", "2MB.max"}) {
    Resources b;
    b.hugepage_limits = {{bad, 1}};
    ExpectFieldError(b, "hugepageLimits[0].pageSize");
  }
}

TEST(MapResources, UnifiedVerbatimAndLast) {
  Resources r;
  r.pids = PidsResources{10};
  r.unified = {{"memory.high", "1073741824"},
               {"pids.max", "20"},
               {"io.max", "8:0 rbps=1\n8:16 wbps=2\n"},
               {"cgroup.max.depth", "3"},
               {"memory.oom.group", ""}};  // empty: skipped, as crun does
  std::vector<CgroupWrite> want = {
      {"pids", "pids.max", "10"},
      // std::map order of the unified keys:
      {"cgroup", "cgroup.max.depth", "3"},
      {"io", "io.max", "8:0 rbps=1"},
      {"io", "io.max", "8:16 wbps=2"},
      {"memory", "memory.high", "1073741824"},
      {"pids", "pids.max", "20"},  // overrides the mapped value
  };
  EXPECT_EQ(MustMap(r), want);
}

TEST(MapResources, UnifiedRejectsEscapingKeys) {
  for (const char* bad :
       {"../cgroup.procs", "a/memory.max", "memory..max", "..", "nodot", ".max", "memory."}) {
    Resources r;
    r.unified = {{bad, "1"}};
    auto w = MapResources(r);
    ASSERT_FALSE(w.ok()) << bad;
    EXPECT_EQ(w.error().err(), EINVAL);
    EXPECT_NE(w.error().ToString().find("linux.resources.unified"), std::string::npos)
        << w.error().ToString();
  }
}

}  // namespace
}  // namespace berth::cgroups
