// berth_container_runqueue_latency_seconds from the scheduler tracepoints:
// three CPU burners in one test cgroup on this two-core machine must wait
// for each other, and the histogram shows it.
#include <signal.h>
#include <unistd.h>

#include <sys/mount.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "collector.h"
#include "ebpf_sources.h"
#include "test_support.h"

#include "berth/cgroups/cgroup.h"
#include "berth/ebpf/runqlat.h"

namespace berth::metrics {
namespace {

namespace fs = std::filesystem;

TEST(MetricsRunqueueTest, BurnersThatShareCoresShowRunqueueLatency) {
  REQUIRE_ROOT();
  REQUIRE_FEATURE(berth::testing::Feature::kCgroup2);
  std::string tmpl = (fs::temp_directory_path() / "berth-runq-test-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path root = tmpl;
  const fs::path bpffs = root / "bpffs";
  fs::create_directories(bpffs);
  if (::mount("bpf", bpffs.c_str(), "bpf", 0, nullptr) < 0) {
    fs::remove_all(root);
    GTEST_SKIP() << "no bpffs: " << std::strerror(errno);
  }
  auto h = cgroups::Discover();
  ASSERT_OK(h);
  const std::string path = "/berth-runq-test-" + std::to_string(::getpid());
  const fs::path dir = h->mount / path.substr(1);
  ASSERT_TRUE(fs::create_directory(dir));
  {
    auto runq = ebpf::Runqlat::Open({bpffs / "runqlat"});
    ASSERT_OK(runq);
    const int burners = static_cast<int>(std::thread::hardware_concurrency()) + 1;
    std::vector<pid_t> pids;
    for (int i = 0; i < burners; ++i) {
      pid_t pid = ::fork();
      if (pid == 0) {
        std::ofstream(dir / "cgroup.procs") << ::getpid();
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(400);
        while (std::chrono::steady_clock::now() < end) {
        }
        _exit(0);
      }
      pids.push_back(pid);
    }
    for (pid_t p : pids) ::waitpid(p, nullptr, 0);
    EbpfRunqueueSource source(**runq);
    Collector collector({h->mount, "/sys", nullptr, &source});
    auto text = collector.Collect({{path, {{"container", "burn"}}}});
    ASSERT_OK(text);
    std::smatch m;
    const std::regex count_re(R"(berth_container_runqueue_latency_seconds_count\{[^}]*\} (\d+))");
    const std::regex sum_re(
        R"(berth_container_runqueue_latency_seconds_sum\{[^}]*\} ([0-9.e+-]+))");
    ASSERT_TRUE(std::regex_search(*text, m, count_re)) << *text;
    EXPECT_GT(std::stoull(m[1]), 0u);
    ASSERT_TRUE(std::regex_search(*text, m, sum_re));
    EXPECT_GT(std::stod(m[1]), 0.001) << "three burners on two cores must wait";
    EXPECT_NE(text->find("le=\"+Inf\""), std::string::npos);
    EXPECT_OK((*runq)->Uninstall());
  }
  ::rmdir(dir.c_str());
  ::umount2(bpffs.c_str(), MNT_DETACH);
  fs::remove_all(root);
}

}  // namespace
}  // namespace berth::metrics
