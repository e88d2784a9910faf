// Cgroup against a temp directory laid out like cgroupfs: controller
// enabling down the path (never at the root), Apply with and without the
// controllers, cgroup.events parsing, the "already satisfied" and timeout
// paths of the waits, kill (cgroup.kill and the walking fallback), remove.
// Blocking waits on real kernfs notifications are covered by the kernel tests.
#include <signal.h>
#include <unistd.h>

#include <sys/wait.h>

#include <chrono>

#include <gtest/gtest.h>

#include "temp_tree.h"
#include "test_support.h"

#include "berth/cgroups/cgroup.h"

namespace berth::cgroups {
namespace {

using std::chrono::milliseconds;

class FakeCgroupfs : public ::testing::Test {
 protected:
  void SetUp() override {
    // The hierarchy root: its files belong to the host and must not change.
    fs_.Write("cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
    fs_.Write("cgroup.subtree_control", "cpu memory\n");
  }

  // A non-root cgroup directory with the core files the kernel creates.
  void MakeCgroup(const std::string& rel, const std::string& controllers,
                  const std::string& subtree = "") {
    fs_.Write(rel + "/cgroup.controllers", controllers);
    fs_.Write(rel + "/cgroup.subtree_control", subtree);
    fs_.Write(rel + "/cgroup.procs", "");
    fs_.Write(rel + "/cgroup.events", "populated 0\nfrozen 0\n");
  }

  testing::TempTree fs_;
};

TEST_F(FakeCgroupfs, CreateEnablesControllersInAncestorsButNotRootOrLeaf) {
  MakeCgroup("berth", "cpu memory pids\n");
  MakeCgroup("berth/pods", "cpu memory pids\n", "cpu\n");
  auto cg = Cgroup::Create(fs_.root(), "/berth/pods/web");
  ASSERT_OK(cg);
  EXPECT_EQ(cg->path(), "/berth/pods/web");
  EXPECT_EQ(cg->dir(), fs_.root() / "berth/pods/web");
  EXPECT_TRUE(fs_.Exists("berth/pods/web"));
  EXPECT_EQ(fs_.Read("berth/cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_EQ(fs_.Read("berth/pods/cgroup.subtree_control"), "+memory +pids");
  EXPECT_EQ(fs_.Read("cgroup.subtree_control"), "cpu memory\n") << "the root was written";
  EXPECT_FALSE(fs_.Exists("berth/pods/web/cgroup.subtree_control"));
}

TEST_F(FakeCgroupfs, CreateWritesNothingWhenControllersAlreadyEnabled) {
  MakeCgroup("a", "cpu memory\n", "memory cpu\n");
  ASSERT_OK(Cgroup::Create(fs_.root(), "/a/b"));
  EXPECT_EQ(fs_.Read("a/cgroup.subtree_control"), "memory cpu\n");
  // Existing cgroups are fine: a second Create is a no-op.
  ASSERT_OK(Cgroup::Create(fs_.root(), "/a/b"));
}

TEST_F(FakeCgroupfs, CreateChildOfRootTouchesNoControlFile) {
  auto cg = Cgroup::Create(fs_.root(), "//berth-x/");
  ASSERT_OK(cg);
  EXPECT_EQ(cg->path(), "/berth-x");
  EXPECT_EQ(fs_.Read("cgroup.subtree_control"), "cpu memory\n");
}

TEST_F(FakeCgroupfs, CreateRejectsEscapingPaths) {
  EXPECT_ERRNO(Cgroup::Create(fs_.root(), "relative/x"), EINVAL);
  EXPECT_ERRNO(Cgroup::Create(fs_.root(), "/a/../../etc"), EINVAL);
  EXPECT_ERRNO(Cgroup::Create(fs_.root(), "/a/./b"), EINVAL);
  EXPECT_FALSE(fs_.Exists("a"));
}

TEST_F(FakeCgroupfs, CreateUnderMissingMountFails) {
  auto cg = Cgroup::Create(fs_.root() / "nope", "/x");
  ASSERT_FALSE(cg.ok());
  EXPECT_EQ(cg.error().err(), ENOENT);
  EXPECT_NE(cg.error().ToString().find("create cgroup /x"), std::string::npos);
}

class FakeApply : public FakeCgroupfs {
 protected:
  void SetUp() override {
    FakeCgroupfs::SetUp();
    MakeCgroup("g", "cpu memory pids\n");
    for (const char* f : {"cpu.weight", "cpu.max", "memory.max", "memory.swap.max", "memory.high",
                          "pids.max", "memory.current"}) {
      fs_.Write(std::string("g/") + f, "");
    }
    res_.cpu = CpuResources{};
    res_.cpu->shares = 2048;
    res_.cpu->quota = 50000;
    res_.memory = MemoryResources{};
    res_.memory->limit = 64 << 20;
    res_.memory->swap = 64 << 20;
    res_.pids = PidsResources{32};
    res_.hugepage_limits = {{"2MB", 0}};
    res_.unified = {{"memory.high", "50331648"}};
  }

  Resources res_;
};

TEST_F(FakeApply, WritesFilesAndWarnsForMissingController) {
  Cgroup cg(fs_.root(), "/g");
  auto warnings = cg.Apply(res_);
  ASSERT_OK(warnings);
  EXPECT_EQ(fs_.Read("g/cpu.weight"), "174");
  EXPECT_EQ(fs_.Read("g/cpu.max"), "50000 100000");
  EXPECT_EQ(fs_.Read("g/memory.max"), std::to_string(64 << 20));
  EXPECT_EQ(fs_.Read("g/memory.swap.max"), "0");
  EXPECT_EQ(fs_.Read("g/pids.max"), "32");
  EXPECT_EQ(fs_.Read("g/memory.high"), "50331648");
  ASSERT_EQ(warnings->size(), 1u);
  const std::string& w = (*warnings)[0];
  EXPECT_NE(w.find("controller hugetlb"), std::string::npos) << w;
  EXPECT_NE(w.find("hugetlb.2MB.max"), std::string::npos) << w;
  EXPECT_FALSE(fs_.Exists("g/hugetlb.2MB.max"));
}

TEST_F(FakeApply, StrictModeFailsWithEnotsupBeforeWriting) {
  Cgroup cg(fs_.root(), "/g");
  auto r = cg.Apply(res_, ApplyOptions{.strict = true});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), ENOTSUP);
  EXPECT_NE(r.error().ToString().find("controller hugetlb"), std::string::npos)
      << r.error().ToString();
  EXPECT_EQ(fs_.Read("g/cpu.max"), "") << "wrote before failing";
}

TEST_F(FakeApply, StrictModeSucceedsWhenAllControllersPresent) {
  res_.hugepage_limits.clear();
  auto r = Cgroup(fs_.root(), "/g").Apply(res_, ApplyOptions{.strict = true});
  ASSERT_OK(r);
  EXPECT_TRUE(r->empty());
}

TEST_F(FakeApply, BadValueIsEinvalNamingFieldAndWritesNothing) {
  res_.memory->swap = 32 << 20;  // memory+swap below the memory limit
  auto r = Cgroup(fs_.root(), "/g").Apply(res_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), EINVAL);
  EXPECT_NE(r.error().ToString().find("linux.resources.memory.swap"), std::string::npos)
      << r.error().ToString();
  EXPECT_EQ(fs_.Read("g/memory.max"), "");
}

TEST_F(FakeApply, CheckBeforeUpdateRefusesLimitBelowUsage) {
  fs_.Write("g/memory.current", "104857600\n");
  res_.memory->check_before_update = true;
  auto r = Cgroup(fs_.root(), "/g").Apply(res_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), EBUSY);
  EXPECT_NE(r.error().ToString().find("checkBeforeUpdate"), std::string::npos);
  EXPECT_EQ(fs_.Read("g/memory.max"), "");
}

TEST_F(FakeCgroupfs, CoreFileReadsAndWrites) {
  MakeCgroup("g", "");
  fs_.Write("g/cgroup.procs", "12\n345\n");
  fs_.Write("g/cgroup.events", "populated 1\nfrozen 1\n");
  Cgroup cg(fs_.root(), "/g");
  auto procs = cg.Processes();
  ASSERT_OK(procs);
  EXPECT_EQ(*procs, (std::vector<pid_t>{12, 345}));
  auto populated = cg.Populated();
  ASSERT_OK(populated);
  EXPECT_TRUE(*populated);
  auto frozen = cg.Frozen();
  ASSERT_OK(frozen);
  EXPECT_TRUE(*frozen);
  auto controllers = Cgroup(fs_.root(), "/").Controllers();
  ASSERT_OK(controllers);
  EXPECT_EQ(controllers->size(), 6u);

  ASSERT_OK(cg.AddProcess(4242));
  EXPECT_EQ(fs_.Read("g/cgroup.procs"), "4242");
  EXPECT_ERRNO(Cgroup(fs_.root(), "/missing").AddProcess(1), ENOENT);
}

TEST_F(FakeCgroupfs, WaitsReturnAtOnceWhenAlreadySatisfied) {
  MakeCgroup("g", "");
  fs_.Write("g/cgroup.freeze", "0");
  fs_.Write("g/cgroup.events", "populated 0\nfrozen 1\n");
  Cgroup cg(fs_.root(), "/g");
  auto start = std::chrono::steady_clock::now();
  ASSERT_OK(cg.WaitEmpty(std::chrono::seconds(5)));
  ASSERT_OK(cg.Freeze(std::chrono::seconds(5)));
  EXPECT_EQ(fs_.Read("g/cgroup.freeze"), "1");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST_F(FakeCgroupfs, WaitsTimeOutWithEtimedout) {
  MakeCgroup("g", "");
  fs_.Write("g/cgroup.freeze", "1");
  fs_.Write("g/cgroup.events", "populated 1\nfrozen 1\n");
  Cgroup cg(fs_.root(), "/g");
  auto start = std::chrono::steady_clock::now();
  auto r = cg.WaitEmpty(milliseconds(60));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(60));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), ETIMEDOUT);
  EXPECT_NE(r.error().ToString().find("populated 0"), std::string::npos) << r.error().ToString();
  EXPECT_ERRNO(cg.Thaw(milliseconds(20)), ETIMEDOUT);
  EXPECT_EQ(fs_.Read("g/cgroup.freeze"), "0");
}

TEST_F(FakeCgroupfs, KillWritesCgroupKill) {
  MakeCgroup("g", "");
  fs_.Write("g/cgroup.kill", "");
  ASSERT_OK(Cgroup(fs_.root(), "/g").Kill());
  EXPECT_EQ(fs_.Read("g/cgroup.kill"), "1");
}

pid_t ForkSleeper() {
  pid_t pid = ::fork();
  if (pid == 0) {
    for (;;) ::pause();
  }
  return pid;
}

TEST_F(FakeCgroupfs, KillWithoutCgroupKillSignalsEveryProcessInTheSubtree) {
  pid_t a = ForkSleeper();
  ASSERT_GT(a, 0);
  pid_t b = ForkSleeper();
  ASSERT_GT(b, 0);
  MakeCgroup("g", "");
  MakeCgroup("g/child", "");
  fs_.Write("g/cgroup.procs", std::to_string(a) + "\n");
  fs_.Write("g/child/cgroup.procs", std::to_string(b) + "\n");
  Status st = Cgroup(fs_.root(), "/g").Kill();
  if (!st.ok()) {
    ::kill(a, SIGKILL);
    ::kill(b, SIGKILL);
  }
  for (pid_t p : {a, b}) {
    int status = 0;
    ASSERT_EQ(::waitpid(p, &status, 0), p);
    EXPECT_TRUE(WIFSIGNALED(status));
    if (WIFSIGNALED(status)) EXPECT_EQ(WTERMSIG(status), SIGKILL);
  }
  ASSERT_OK(st);
}

TEST_F(FakeCgroupfs, KillOfMissingCgroupIsEnoent) {
  EXPECT_ERRNO(Cgroup(fs_.root(), "/gone").Kill(), ENOENT);
}

TEST(CgroupRemove, RemovesLeavesFirstAndToleratesEnoent) {
  testing::TempTree fs;
  std::filesystem::create_directories(fs.root() / "a/b/c");
  std::filesystem::create_directories(fs.root() / "a/d");
  ASSERT_OK(Cgroup(fs.root(), "/a").Remove());
  EXPECT_FALSE(fs.Exists("a"));
  ASSERT_OK(Cgroup(fs.root(), "/a").Remove());
}

}  // namespace
}  // namespace berth::cgroups
