// The collector on the real cgroup2 tree: a CPU-burning child in a cgroup the
// test makes drives container_cpu_usage_seconds_total up by the CPU time it
// used.
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <sys/resource.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "collector.h"
#include "test_support.h"

#include "berth/cgroups/cgroup.h"

namespace berth::metrics {
namespace {

namespace fs = std::filesystem;

double CpuSeconds(const std::string& text) {
  std::smatch m;
  static const std::regex re(R"(container_cpu_usage_seconds_total\{[^}]*\} ([0-9.e+]+))");
  if (!std::regex_search(text, m, re)) return -1;
  return std::stod(m[1]);
}

TEST(MetricsKernelTest, CpuBurnShowsInUsageSeconds) {
  REQUIRE_ROOT();
  REQUIRE_FEATURE(berth::testing::Feature::kCgroup2);
  auto h = cgroups::Discover();
  ASSERT_OK(h);
  const std::string path = "/berth-metrics-test-" + std::to_string(::getpid());
  const fs::path dir = h->mount / path.substr(1);
  ASSERT_TRUE(fs::create_directory(dir));
  Collector collector({h->mount, "/sys"});
  std::vector<Target> targets = {{path, {{"container", "burn"}}}};
  auto before = collector.Collect(targets);
  ASSERT_OK(before);
  EXPECT_EQ(CpuSeconds(*before), 0.0) << *before;

  pid_t pid = ::fork();
  if (pid == 0) {
    std::ofstream(dir / "cgroup.procs") << ::getpid();
    timespec ts{};
    do {
      ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    } while (ts.tv_sec * 1000 + ts.tv_nsec / 1000000 < 400);  // 0.4 s of CPU
    _exit(0);
  }
  int status = 0;
  rusage ru{};
  ASSERT_EQ(::wait4(pid, &status, 0, &ru), pid);
  const double used = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                      ru.ru_stime.tv_usec / 1e6;
  auto after = collector.Collect(targets);
  ASSERT_OK(after);
  const double seen = CpuSeconds(*after);
  EXPECT_NEAR(seen, used, 0.05 + used * 0.1) << *after;
  EXPECT_GE(seen, 0.35);
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace berth::metrics
