// Cgroup on the real cgroup2 tree, inside a per-run child of the caller's
// cgroup (never writing control files of the hierarchy root): nesting,
// processes, freeze/thaw, kill, waits woken by the kernel's cgroup.events
// notifications, stats and removal. Works without any controller enabled
// (as on hosts whose cpu/memory/pids are bound to cgroup v1).
#include <signal.h>
#include <unistd.h>

#include <sys/wait.h>

#include <chrono>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "cgroup_test_util.h"
#include "test_support.h"

#include "berth/cgroups/cgroup.h"
#include "berth/common/file.h"

namespace berth::cgroups {
namespace {

using berth::testing::Feature;
using std::chrono::milliseconds;
using testing::Child;
using testing::SharedCounter;

class KernelCgroup : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    REQUIRE_FEATURE(Feature::kCgroup2);
    auto h = Discover();
    ASSERT_OK(h);
    hierarchy_ = *h;
    std::string parent = hierarchy_.self == "/" ? "" : hierarchy_.self;
    auto base = Cgroup::Create(hierarchy_.mount, parent + "/" + testing::PerRunName("berth-test"));
    ASSERT_OK(base);
    base_ = std::make_unique<ScopedCgroup>(*base);
  }

  void TearDown() override {
    if (!base_) return;
    std::filesystem::path dir = base_->get().dir();
    base_.reset();  // kill, wait, remove: also when the test failed
    EXPECT_FALSE(std::filesystem::exists(dir)) << dir << " left behind";
  }

  // A child cgroup of the per-run base.
  Cgroup Sub(const std::string& rel) {
    auto cg = Cgroup::Create(hierarchy_.mount, base_->get().path() + "/" + rel);
    EXPECT_TRUE(cg.ok()) << cg.error().ToString();
    return cg.ok() ? *cg : Cgroup(hierarchy_.mount, base_->get().path() + "/" + rel);
  }

  Hierarchy hierarchy_;
  std::unique_ptr<ScopedCgroup> base_;
};

TEST_F(KernelCgroup, DiscoverFindsTheRealHierarchy) {
  EXPECT_TRUE(std::filesystem::exists(hierarchy_.mount / "cgroup.controllers")) << hierarchy_.mount;
  Cgroup self(hierarchy_.mount, hierarchy_.self);
  auto procs = self.Processes();
  ASSERT_OK(procs);
  EXPECT_NE(std::find(procs->begin(), procs->end(), ::getpid()), procs->end())
      << "our pid is not in " << hierarchy_.self;
}

TEST_F(KernelCgroup, CreateNestedThenRemoveLeavesFirst) {
  Cgroup leaf = Sub("a/b/c");
  EXPECT_TRUE(std::filesystem::is_directory(leaf.dir()));
  EXPECT_TRUE(std::filesystem::exists(leaf.dir() / "cgroup.procs"));
  auto populated = leaf.Populated();
  ASSERT_OK(populated);
  EXPECT_FALSE(*populated);
  auto procs = leaf.Processes();
  ASSERT_OK(procs);
  EXPECT_TRUE(procs->empty());

  Cgroup a(hierarchy_.mount, base_->get().path() + "/a");
  ASSERT_OK(a.Remove());
  EXPECT_FALSE(std::filesystem::exists(a.dir()));
  ASSERT_OK(a.Remove());  // ENOENT: fine
}

TEST_F(KernelCgroup, AddProcessShowsInProcessesAndPopulated) {
  Cgroup leaf = Sub("leaf");
  Child child(testing::SleepForever);
  ASSERT_TRUE(child.started());
  ASSERT_OK(leaf.AddProcess(child.pid()));

  auto procs = leaf.Processes();
  ASSERT_OK(procs);
  EXPECT_EQ(*procs, std::vector<pid_t>{child.pid()});
  auto populated = leaf.Populated();
  ASSERT_OK(populated);
  EXPECT_TRUE(*populated);
  // The parent is populated through its child cgroup.
  auto base_populated = base_->get().Populated();
  ASSERT_OK(base_populated);
  EXPECT_TRUE(*base_populated);

  auto cgroup_file = ReadFile("/proc/" + std::to_string(child.pid()) + "/cgroup");
  ASSERT_OK(cgroup_file);
  EXPECT_NE(cgroup_file->find("0::" + leaf.path() + "\n"), std::string::npos) << *cgroup_file;
}

TEST_F(KernelCgroup, FreezeStopsProgressAndThawResumesIt) {
  Cgroup leaf = Sub("busy");
  SharedCounter counter;
  ASSERT_TRUE(counter.ok());
  Child child([&counter] { counter.SpinForever(); });
  ASSERT_TRUE(child.started());
  ASSERT_OK(leaf.AddProcess(child.pid()));
  ASSERT_TRUE(counter.Advances(milliseconds(2000))) << "busy child never ran";

  ASSERT_OK(leaf.Freeze(std::chrono::seconds(5)));
  auto frozen = leaf.Frozen();
  ASSERT_OK(frozen);
  EXPECT_TRUE(*frozen);
  uint64_t at_freeze = counter.value();
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(counter.value(), at_freeze) << "a frozen child made progress";

  ASSERT_OK(leaf.Thaw(std::chrono::seconds(5)));
  frozen = leaf.Frozen();
  ASSERT_OK(frozen);
  EXPECT_FALSE(*frozen);
  EXPECT_TRUE(counter.Advances(milliseconds(2000))) << "thawed child made no progress";
}

TEST_F(KernelCgroup, FreezingAParentFreezesItsChildren) {
  Cgroup parent = Sub("p");
  Cgroup child_cg = Sub("p/c");
  SharedCounter counter;
  ASSERT_TRUE(counter.ok());
  Child child([&counter] { counter.SpinForever(); });
  ASSERT_TRUE(child.started());
  ASSERT_OK(child_cg.AddProcess(child.pid()));
  ASSERT_OK(parent.Freeze(std::chrono::seconds(5)));
  auto frozen = child_cg.Frozen();
  ASSERT_OK(frozen);
  EXPECT_TRUE(*frozen);
  EXPECT_FALSE(counter.Advances(milliseconds(300)));
  ASSERT_OK(parent.Thaw(std::chrono::seconds(5)));
  EXPECT_TRUE(counter.Advances(milliseconds(2000)));
}

TEST_F(KernelCgroup, KillEmptiesNestedCgroupsAndWaitEmptyReturns) {
  Cgroup a = Sub("k/a");
  Cgroup b = Sub("k/b");
  Child one(testing::SleepForever);
  Child two(testing::SleepForever);
  ASSERT_TRUE(one.started() && two.started());
  ASSERT_OK(a.AddProcess(one.pid()));
  ASSERT_OK(b.AddProcess(two.pid()));

  Cgroup k(hierarchy_.mount, base_->get().path() + "/k");
  ASSERT_OK(k.Kill());
  ASSERT_OK(k.WaitEmpty(std::chrono::seconds(5)));
  auto populated = k.Populated();
  ASSERT_OK(populated);
  EXPECT_FALSE(*populated);
  for (Child* c : {&one, &two}) {
    int status = c->Wait();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  }
  ASSERT_OK(k.Remove());
}

TEST_F(KernelCgroup, WaitEmptyIsWokenByTheKernelNotByTheTimeout) {
  Cgroup leaf = Sub("exiting");
  Child child([] {
    // Give the parent time to move us in and start waiting.
    std::this_thread::sleep_for(milliseconds(300));
  });
  ASSERT_TRUE(child.started());
  ASSERT_OK(leaf.AddProcess(child.pid()));
  auto start = std::chrono::steady_clock::now();
  ASSERT_OK(leaf.WaitEmpty(std::chrono::seconds(10)));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_LT(waited, std::chrono::seconds(5));
  child.Wait();
}

TEST_F(KernelCgroup, WaitEmptyTimesOut) {
  Cgroup leaf = Sub("stays");
  Child child(testing::SleepForever);
  ASSERT_TRUE(child.started());
  ASSERT_OK(leaf.AddProcess(child.pid()));
  auto start = std::chrono::steady_clock::now();
  EXPECT_ERRNO(leaf.WaitEmpty(milliseconds(150)), ETIMEDOUT);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(150));
}

TEST_F(KernelCgroup, RemoveWithProcessesIsEbusy) {
  Cgroup leaf = Sub("busy-rm");
  Child child(testing::SleepForever);
  ASSERT_TRUE(child.started());
  ASSERT_OK(leaf.AddProcess(child.pid()));
  auto r = leaf.Remove();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), EBUSY);
  EXPECT_NE(r.error().ToString().find("still has processes"), std::string::npos)
      << r.error().ToString();
}

TEST_F(KernelCgroup, ReadStatsGivesCpuUsageAndPressure) {
  Cgroup leaf = Sub("stats");
  SharedCounter counter;
  ASSERT_TRUE(counter.ok());
  Child child([&counter] { counter.SpinForever(); });
  ASSERT_TRUE(child.started());
  ASSERT_OK(leaf.AddProcess(child.pid()));
  std::this_thread::sleep_for(milliseconds(300));

  auto stats = leaf.ReadStats();
  ASSERT_OK(stats);
  ASSERT_TRUE(stats->cpu.has_value()) << "cpu.stat is there even without the cpu controller";
  EXPECT_GT(stats->cpu->usage_usec, 0u);
  EXPECT_GE(stats->cpu->usage_usec, stats->cpu->user_usec);
  if (std::filesystem::exists(leaf.dir() / "cpu.pressure")) {
    ASSERT_TRUE(stats->cpu_pressure.has_value());
    EXPECT_TRUE(stats->cpu_pressure->some.has_value());
  } else {
    EXPECT_FALSE(stats->cpu_pressure.has_value());
  }
}

TEST_F(KernelCgroup, ApplyWritesCoreFilesAndWarnsForMissingControllers) {
  Cgroup leaf = Sub("limits");
  auto controllers = leaf.Controllers();
  ASSERT_OK(controllers);
  bool has_pids = std::find(controllers->begin(), controllers->end(), "pids") != controllers->end();

  Resources r;
  r.pids = PidsResources{16};
  r.unified = {{"cgroup.max.depth", "2"}};
  auto warnings = leaf.Apply(r);
  ASSERT_OK(warnings);
  auto depth = ReadFile(leaf.dir() / "cgroup.max.depth");
  ASSERT_OK(depth);
  EXPECT_EQ(std::string(Trim(*depth)), "2");
  if (has_pids) {
    EXPECT_TRUE(warnings->empty());
  } else {
    ASSERT_EQ(warnings->size(), 1u);
    EXPECT_NE((*warnings)[0].find("controller pids"), std::string::npos) << (*warnings)[0];
    EXPECT_ERRNO(leaf.Apply(r, ApplyOptions{.strict = true}), ENOTSUP);
  }
}

TEST_F(KernelCgroup, ScopedCgroupKillsAndRemovesOnDestruction) {
  std::filesystem::path dir;
  Child child(testing::SleepForever);
  ASSERT_TRUE(child.started());
  {
    ScopedCgroup scoped(Sub("scoped/inner"));
    dir = scoped->dir();
    ASSERT_OK(scoped->AddProcess(child.pid()));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
  int status = child.Wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
}

}  // namespace
}  // namespace berth::cgroups
