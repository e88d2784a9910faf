// The usage meter over fixture trees: /proc/stat and /proc/meminfo parsing,
// rates from two readings, the working set with and without the memory
// controller, and what a window leaves out.
#include "usage_meter.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "test_support.h"

namespace berth::metrics {
namespace {

namespace fs = std::filesystem;

class UsageMeterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "berth-usage-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    root_ = t;
    Write("proc/meminfo",
          "MemTotal:       16000000 kB\nMemFree:  1 kB\nMemAvailable:   12000000 kB\n");
    Stat(1000);
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const fs::path& rel, const std::string& data) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << data;
  }
  // /proc/stat with `busy` ticks of user time and much idle.
  void Stat(uint64_t busy) {
    Write("proc/stat",
          "cpu  " + std::to_string(busy) + " 0 0 900000 50 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n");
  }
  UsageMeter Meter() { return UsageMeter({.cgroup_mount = root_ / "cg", .proc = root_ / "proc"}); }

  fs::path root_;
};

TEST(UsageParsers, ProcStatAndMeminfo) {
  auto busy = ParseProcStatBusyTicks("cpu  10 2 30 1000 40 5 6 7 0 0\ncpu0 ...\n");
  ASSERT_OK(busy);
  EXPECT_EQ(*busy, 10u + 2 + 30 + 5 + 6 + 7);  // idle and iowait are not busy
  EXPECT_ERRNO(ParseProcStatBusyTicks("intr 1 2 3\n"), EINVAL);
  EXPECT_ERRNO(ParseProcStatBusyTicks("cpu 1 2 3\n"), EINVAL);
  auto used = ParseMeminfoUsed("MemTotal: 1000 kB\nMemAvailable: 250 kB\n");
  ASSERT_OK(used);
  EXPECT_EQ(*used, 750 * 1024);
  EXPECT_ERRNO(ParseMeminfoUsed("MemTotal: 1000 kB\n"), EINVAL);
}

TEST_F(UsageMeterTest, RatesFromTwoReadingsAndTheWorkingSet) {
  // With the memory controller: memory.current minus inactive files.
  Write("cg/pods/a/web/cpu.stat", "usage_usec 1000000\nuser_usec 1\nsystem_usec 1\n");
  Write("cg/pods/a/web/memory.current", "100000000\n");
  Write("cg/pods/a/web/memory.stat", "anon 1\ninactive_file 30000000\nactive_file 5\n");
  // Without it: the resident pages of the cgroup's processes, nested
  // cgroups included; a process that exited meanwhile is skipped.
  Write("cg/pods/b/side/cpu.stat", "usage_usec 50\n");
  Write("cg/pods/b/side/cgroup.procs", "4242\n999999\n");
  Write("cg/pods/b/side/inner/cgroup.procs", "4343\n");
  Write("proc/4242/statm", "5000 100 10 1 0 90 0\n");
  Write("proc/4343/statm", "5000 28 10 1 0 90 0\n");
  const std::vector<UsageTarget> targets = {{"u-a", "default", "a", "web", "/pods/a/web"},
                                            {"u-b", "default", "b", "side", "/pods/b/side"},
                                            {"u-c", "default", "c", "gone", "/pods/c/gone"}};
  UsageMeter meter = Meter();
  auto first = meter.Sample(targets);
  ASSERT_OK(first);
  EXPECT_FALSE(first->has_value());

  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Write("cg/pods/a/web/cpu.stat", "usage_usec 1100000\n");  // +0.1 s of CPU
  Write("cg/pods/b/side/cpu.stat", "usage_usec 10\n");      // went back: made anew
  const uint64_t hz = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  Stat(1000 + hz / 5);  // +0.2 s busy
  auto window = meter.Sample(targets);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_OK(window);
  ASSERT_TRUE(window->has_value());
  const UsageWindow& w = **window;
  EXPECT_GE(w.length.count(), 200);
  // 0.1 s over at least 0.2 s: at most half a core, and no less than the
  // elapsed time allows.
  ASSERT_EQ(w.containers.size(), 2u);
  EXPECT_EQ(w.containers[0].target.container, "web");
  EXPECT_LE(w.containers[0].usage.cpu_nanocores, 500'000'000);
  EXPECT_GE(w.containers[0].usage.cpu_nanocores, static_cast<int64_t>(0.1 / elapsed * 1e9) - 1);
  EXPECT_EQ(w.containers[0].usage.memory_bytes, 70'000'000);
  EXPECT_EQ(w.containers[1].usage.cpu_nanocores, 0);
  EXPECT_EQ(w.containers[1].usage.memory_bytes, 128 * ::sysconf(_SC_PAGESIZE));
  EXPECT_LE(w.node.cpu_nanocores, 1'000'000'000);
  EXPECT_GE(w.node.cpu_nanocores, static_cast<int64_t>(0.2 / elapsed * 1e9) - 1);
  EXPECT_EQ(w.node.memory_bytes, 4'000'000LL * 1024);
}

TEST_F(UsageMeterTest, AContainerSeenOnceHasNoWindowYet) {
  UsageMeter meter = Meter();
  ASSERT_OK(meter.Sample({}));
  Write("cg/new/cpu.stat", "usage_usec 5\n");
  auto window = meter.Sample({{"u", "default", "p", "new", "/new"}});
  ASSERT_OK(window);
  ASSERT_TRUE(window->has_value());
  EXPECT_TRUE((*window)->containers.empty());
}

TEST_F(UsageMeterTest, UnreadableProcStatIsAnErrorNamingIt) {
  fs::remove(root_ / "proc/stat");
  UsageMeter meter = Meter();
  auto r = meter.Sample({});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("stat"), std::string::npos) << r.error().ToString();
}

}  // namespace
}  // namespace berth::metrics
