// Stat file parsers on fixture text shaped like the kernel's output (6.x).
#include "berth/cgroups/stats.h"

#include <gtest/gtest.h>

#include "temp_tree.h"
#include "test_support.h"

namespace berth::cgroups {
namespace {

constexpr const char kCpuStat[] =
    "usage_usec 1234567\n"
    "user_usec 1000000\n"
    "system_usec 234567\n"
    "core_sched.force_idle_usec 0\n"
    "nr_periods 50\n"
    "nr_throttled 7\n"
    "throttled_usec 89000\n"
    "nr_bursts 0\n"
    "burst_usec 0\n";

constexpr const char kMemoryStat[] =
    "anon 1052672\n"
    "file 4096\n"
    "kernel 212992\n"
    "pgfault 1289\n";

constexpr const char kMemoryEvents[] =
    "low 0\n"
    "high 0\n"
    "max 12\n"
    "oom 1\n"
    "oom_kill 1\n"
    "oom_group_kill 0\n";

constexpr const char kIoStat[] =
    "8:0 rbytes=90112 wbytes=4096 rios=22 wios=1 dbytes=0 dios=0\n"
    "253:1 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6 cost.vrate=100.00 cost.usage=9\n";

constexpr const char kPressure[] =
    "some avg10=1.50 avg60=0.25 avg300=0.00 total=123456\n"
    "full avg10=0.00 avg60=0.00 avg300=0.00 total=789\n";

TEST(ParseCpuStat, AllFields) {
  auto s = ParseCpuStat(kCpuStat);
  ASSERT_OK(s);
  EXPECT_EQ(s->usage_usec, 1234567u);
  EXPECT_EQ(s->user_usec, 1000000u);
  EXPECT_EQ(s->system_usec, 234567u);
  EXPECT_EQ(s->nr_periods, 50u);
  EXPECT_EQ(s->nr_throttled, 7u);
  EXPECT_EQ(s->throttled_usec, 89000u);
}

TEST(ParseCpuStat, WithoutCpuControllerOnlyUsage) {
  auto s = ParseCpuStat("usage_usec 10\nuser_usec 6\nsystem_usec 4\n");
  ASSERT_OK(s);
  EXPECT_EQ(s->usage_usec, 10u);
  EXPECT_EQ(s->nr_throttled, 0u);
}

TEST(ParseCpuStat, RejectsGarbage) {
  EXPECT_ERRNO(ParseCpuStat("usage_usec ten\n"), EINVAL);
  EXPECT_ERRNO(ParseCpuStat("usage_usec 1 2\n"), EINVAL);
  EXPECT_ERRNO(ParseCpuStat("usage_usec -1\n"), EINVAL);
}

TEST(ParseFlatKeyed, MemoryStatAndEvents) {
  auto stat = ParseFlatKeyed(kMemoryStat);
  ASSERT_OK(stat);
  EXPECT_EQ(stat->at("anon"), 1052672u);
  EXPECT_EQ(stat->at("pgfault"), 1289u);
  auto events = ParseFlatKeyed(kMemoryEvents);
  ASSERT_OK(events);
  EXPECT_EQ(events->at("oom_kill"), 1u);
  EXPECT_EQ(events->at("max"), 12u);
  EXPECT_EQ(events->size(), 6u);
}

TEST(ParseIoStat, Devices) {
  auto io = ParseIoStat(kIoStat);
  ASSERT_OK(io);
  ASSERT_EQ(io->size(), 2u);
  EXPECT_EQ((*io)[0].major, 8u);
  EXPECT_EQ((*io)[0].minor, 0u);
  EXPECT_EQ((*io)[0].rbytes, 90112u);
  EXPECT_EQ((*io)[0].wbytes, 4096u);
  EXPECT_EQ((*io)[0].rios, 22u);
  EXPECT_EQ((*io)[0].wios, 1u);
  EXPECT_EQ((*io)[1].major, 253u);
  EXPECT_EQ((*io)[1].minor, 1u);
  EXPECT_EQ((*io)[1].dbytes, 5u);
  EXPECT_EQ((*io)[1].dios, 6u);
  EXPECT_TRUE(ParseIoStat("")->empty());
  EXPECT_ERRNO(ParseIoStat("sda rbytes=1\n"), EINVAL);
  EXPECT_ERRNO(ParseIoStat("8:0 rbytes\n"), EINVAL);
}

TEST(ParsePressure, SomeAndFull) {
  auto p = ParsePressure(kPressure);
  ASSERT_OK(p);
  ASSERT_TRUE(p->some.has_value());
  ASSERT_TRUE(p->full.has_value());
  EXPECT_DOUBLE_EQ(p->some->avg10, 1.5);
  EXPECT_DOUBLE_EQ(p->some->avg60, 0.25);
  EXPECT_EQ(p->some->total_usec, 123456u);
  EXPECT_EQ(p->full->total_usec, 789u);
}

TEST(ParsePressure, SomeOnly) {
  // cpu.pressure at the root has only "some" on older kernels.
  auto p = ParsePressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n");
  ASSERT_OK(p);
  EXPECT_TRUE(p->some.has_value());
  EXPECT_FALSE(p->full.has_value());
}

TEST(ParsePressure, RejectsGarbage) {
  EXPECT_ERRNO(ParsePressure("most avg10=0.00 total=1\n"), EINVAL);
  EXPECT_ERRNO(ParsePressure("some avg10=x total=1\n"), EINVAL);
  EXPECT_ERRNO(ParsePressure("some avg10=0.00\n"), EINVAL);  // no total
}

TEST(ParseMaxOrNumber, MaxAndNumbers) {
  auto m = ParseMaxOrNumber("max\n");
  ASSERT_OK(m);
  EXPECT_FALSE(m->has_value());
  auto n = ParseMaxOrNumber("42\n");
  ASSERT_OK(n);
  EXPECT_EQ(n->value(), 42u);
  EXPECT_ERRNO(ParseMaxOrNumber("lots\n"), EINVAL);
  EXPECT_ERRNO(ParseNumber(""), EINVAL);
}

TEST(ReadStats, FullFakeCgroup) {
  testing::TempTree t;
  t.Write("g/cpu.stat", kCpuStat);
  t.Write("g/memory.current", "1069056\n");
  t.Write("g/memory.swap.current", "0\n");
  t.Write("g/memory.stat", kMemoryStat);
  t.Write("g/memory.events", kMemoryEvents);
  t.Write("g/pids.current", "3\n");
  t.Write("g/pids.max", "max\n");
  t.Write("g/io.stat", kIoStat);
  t.Write("g/cpu.pressure", kPressure);
  t.Write("g/memory.pressure", kPressure);
  t.Write("g/io.pressure", kPressure);
  auto s = Cgroup(t.root(), "/g").ReadStats();
  ASSERT_OK(s);
  ASSERT_TRUE(s->cpu.has_value());
  EXPECT_EQ(s->cpu->nr_throttled, 7u);
  ASSERT_TRUE(s->memory.has_value());
  EXPECT_EQ(s->memory->current, 1069056u);
  EXPECT_EQ(s->memory->swap_current, std::optional<uint64_t>(0));
  EXPECT_EQ(s->memory->events.at("oom_kill"), 1u);
  EXPECT_EQ(s->memory->stat.at("anon"), 1052672u);
  EXPECT_EQ(s->pids_current, std::optional<uint64_t>(3));
  EXPECT_FALSE(s->pids_max.has_value());
  EXPECT_EQ(s->io.size(), 2u);
  ASSERT_TRUE(s->cpu_pressure.has_value());
  EXPECT_EQ(s->cpu_pressure->some->total_usec, 123456u);
  EXPECT_TRUE(s->memory_pressure.has_value());
  EXPECT_TRUE(s->io_pressure.has_value());
}

TEST(ReadStats, MissingFilesAreAbsentNotErrors) {
  // Like this host's unified tree: cpu.stat and PSI, no memory/pids/io.
  testing::TempTree t;
  t.Write("g/cpu.stat", "usage_usec 5\nuser_usec 3\nsystem_usec 2\n");
  t.Write("g/cpu.pressure", kPressure);
  auto s = Cgroup(t.root(), "/g").ReadStats();
  ASSERT_OK(s);
  ASSERT_TRUE(s->cpu.has_value());
  EXPECT_EQ(s->cpu->usage_usec, 5u);
  EXPECT_FALSE(s->memory.has_value());
  EXPECT_FALSE(s->pids_current.has_value());
  EXPECT_FALSE(s->pids_max.has_value());
  EXPECT_TRUE(s->io.empty());
  EXPECT_TRUE(s->cpu_pressure.has_value());
  EXPECT_FALSE(s->memory_pressure.has_value());
  EXPECT_FALSE(s->io_pressure.has_value());
}

TEST(ReadStats, CorruptFileIsAnErrorNamingIt) {
  testing::TempTree t;
  t.Write("g/pids.current", "many\n");
  auto s = Cgroup(t.root(), "/g").ReadStats();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().err(), EINVAL);
  EXPECT_NE(s.error().ToString().find("pids.current"), std::string::npos) << s.error().ToString();
}

}  // namespace
}  // namespace berth::cgroups
