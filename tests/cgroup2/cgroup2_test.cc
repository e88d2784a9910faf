// Controller enforcement on a real cgroup v2 hierarchy with cpu, memory and
// pids: memory.max OOM-kills, pids.max refuses fork, cpu.max throttles, the
// freezer stops progress, cgroup.kill empties, "no internal processes".
//
// Runs inside tools/vmtest (a throwaway VM, cgroup2 at /sys/fs/cgroup, this
// test in the root cgroup, BERTH_VMTEST=1). There, and only there, the
// fixture enables cpu, memory and pids in the ROOT's cgroup.subtree_control;
// every cgroup a test makes lives under /berth-c2-<pid>-<random> and is
// removed afterwards. Elsewhere every test is skipped with the reason.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "cgroup_test_util.h"
#include "test_support.h"

#include "berth/cgroups/cgroup.h"
#include "berth/cgroups/limits.h"
#include "berth/common/file.h"

namespace berth::cgroups {
namespace {

using berth::testing::Feature;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Child;
using testing::SharedCounter;

// TCG-emulated VMs run ~25x slower than the host: generous deadlines.
constexpr seconds kWait(60);

// A one-shot "go" signal from the test to a child, so the child starts its
// work only after it has been moved into its cgroup.
class Gate {
 public:
  Gate() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) {
      read_.reset(fds[0]);
      write_.reset(fds[1]);
    }
  }
  bool ok() const { return read_.valid(); }
  void Wait() const {
    char c;
    while (::read(read_.get(), &c, 1) < 0 && errno == EINTR) {
    }
  }
  void Open() const {
    char c = 1;
    while (::write(write_.get(), &c, 1) < 0 && errno == EINTR) {
    }
  }

 private:
  UniqueFd read_, write_;
};

class Cgroup2 : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    REQUIRE_FEATURE(Feature::kCgroup2Controllers);
    const char* vm = std::getenv("BERTH_VMTEST");
    if (vm == nullptr || std::string(vm) != "1") {
      GTEST_SKIP() << "run inside tools/vmtest: these tests enable controllers at the root of "
                      "the cgroup2 tree (BERTH_VMTEST=1 not set)";
    }
    auto h = Discover();
    ASSERT_OK(h);
    // Only the VM's own throwaway hierarchy may have its root written.
    ASSERT_EQ(h->mount, "/sys/fs/cgroup") << "unexpected cgroup2 mount inside the VM";
    ASSERT_EQ(h->self, "/") << "vmtest runs tests in the root cgroup";
    mount_ = h->mount;
    EnableRootControllers();

    auto base = Cgroup::Create(mount_, "/" + testing::PerRunName("berth-c2"));
    ASSERT_OK(base);
    base_ = std::make_unique<ScopedCgroup>(*base);
  }

  void TearDown() override {
    if (!base_) return;
    std::filesystem::path dir = base_->get().dir();
    base_.reset();
    EXPECT_FALSE(std::filesystem::exists(dir)) << dir << " left behind";
  }

  void EnableRootControllers() {
    auto enabled = ReadFile(mount_ / "cgroup.subtree_control");
    ASSERT_OK(enabled);
    std::string add;
    for (const char* c : {"cpu", "memory", "pids"}) {
      if ((" " + std::string(Trim(*enabled)) + " ").find(std::string(" ") + c + " ") ==
          std::string::npos) {
        add += std::string(add.empty() ? "" : " ") + "+" + c;
      }
    }
    if (!add.empty()) ASSERT_OK(WriteFile(mount_ / "cgroup.subtree_control", add));
  }

  Cgroup Leaf(const std::string& rel, const Resources& resources = {}) {
    auto cg = Cgroup::Create(mount_, base_->get().path() + "/" + rel);
    EXPECT_TRUE(cg.ok()) << cg.error().ToString();
    Cgroup leaf = cg.ok() ? *cg : Cgroup(mount_, base_->get().path() + "/" + rel);
    auto warnings = leaf.Apply(resources, ApplyOptions{.strict = true});
    EXPECT_TRUE(warnings.ok()) << warnings.error().ToString();
    return leaf;
  }

  std::filesystem::path mount_;
  std::unique_ptr<ScopedCgroup> base_;
};

TEST_F(Cgroup2, KernelAcceptsEveryMappedValue) {
  Resources r;
  r.cpu = CpuResources{};
  r.cpu->shares = 512;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.cpu->idle = 0;
  r.memory = MemoryResources{};
  r.memory->limit = 128 << 20;
  r.memory->swap = 192 << 20;
  r.memory->reservation = 16 << 20;
  r.pids = PidsResources{64};
  r.unified = {{"memory.high", "100663296"}};
  Cgroup leaf = Leaf("values", r);

  auto file = [&leaf](const char* name) {
    auto v = ReadFile(leaf.dir() / name);
    return v.ok() ? std::string(Trim(*v)) : "<" + v.error().ToString() + ">";
  };
  EXPECT_EQ(file("cpu.weight"), std::to_string(CpuSharesToWeight(512)));
  EXPECT_EQ(file("cpu.max"), "50000 100000");
  EXPECT_EQ(file("cpu.idle"), "0");
  EXPECT_EQ(file("memory.max"), std::to_string(128 << 20));
  EXPECT_EQ(file("memory.low"), std::to_string(16 << 20));
  EXPECT_EQ(file("memory.high"), "100663296");
  EXPECT_EQ(file("pids.max"), "64");
  if (std::filesystem::exists(leaf.dir() / "memory.swap.max")) {
    EXPECT_EQ(file("memory.swap.max"), std::to_string(64 << 20));
  }
}

TEST_F(Cgroup2, MemoryMaxOomKillsAnAllocatingChild) {
  Resources r;
  r.memory = MemoryResources{};
  r.memory->limit = 32 << 20;
  r.memory->swap = 32 << 20;  // memory+swap == memory: no swap
  Cgroup leaf = Leaf("oom", r);
  Gate gate;
  ASSERT_TRUE(gate.ok());
  Child child([&gate] {
    gate.Wait();
    // 256 MiB, touched page by page, far above memory.max.
    for (int i = 0; i < 256; ++i) {
      void* p =
          ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) ::_exit(3);
      std::memset(p, 0x5a, 1 << 20);
    }
    ::_exit(2);  // not killed: the limit did not hold
  });
  ASSERT_TRUE(child.started());
  ASSERT_OK(leaf.AddProcess(child.pid()));
  gate.Open();
  int status = child.Wait();
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  auto stats = leaf.ReadStats();
  ASSERT_OK(stats);
  ASSERT_TRUE(stats->memory.has_value());
  EXPECT_GE(stats->memory->events["oom_kill"], 1u);
}

TEST_F(Cgroup2, PidsMaxMakesForkFailWithEagain) {
  Resources r;
  r.pids = PidsResources{4};
  Cgroup leaf = Leaf("pids", r);

  struct Outcome {
    int forked;
    int fork_errno;
  };
  void* shm =
      ::mmap(nullptr, sizeof(Outcome), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(shm, MAP_FAILED);
  auto* out = new (shm) Outcome{0, 0};
  Gate gate;
  ASSERT_TRUE(gate.ok());
  Child child([&gate, out] {
    gate.Wait();
    for (int i = 0; i < 32; ++i) {
      pid_t p = ::fork();
      if (p == 0) testing::SleepForever();
      if (p < 0) {
        out->fork_errno = errno;
        break;
      }
      ++out->forked;
    }
    ::_exit(0);
  });
  ASSERT_TRUE(child.started());
  ASSERT_OK(leaf.AddProcess(child.pid()));
  gate.Open();
  child.Wait();
  EXPECT_EQ(out->fork_errno, EAGAIN) << std::strerror(out->fork_errno);
  EXPECT_EQ(out->forked, 3) << "pids.max 4 = the child and 3 grandchildren";
  auto stats = leaf.ReadStats();
  ASSERT_OK(stats);
  EXPECT_EQ(stats->pids_max, std::optional<uint64_t>(4));
  EXPECT_EQ(stats->pids_current, std::optional<uint64_t>(3));  // the orphans
  ASSERT_OK(leaf.Kill());
  ASSERT_OK(leaf.WaitEmpty(kWait));
  ::munmap(shm, sizeof(Outcome));
}

TEST_F(Cgroup2, CpuMaxThrottlesABusyChild) {
  Resources r;
  r.cpu = CpuResources{};
  r.cpu->quota = 5000;  // 5% of one CPU
  r.cpu->period = 50000;
  Cgroup leaf = Leaf("cpu", r);
  SharedCounter counter;
  ASSERT_TRUE(counter.ok());
  Child child([&counter] { counter.SpinForever(); });
  ASSERT_TRUE(child.started());
  ASSERT_OK(leaf.AddProcess(child.pid()));

  CpuStats cpu;
  auto deadline = std::chrono::steady_clock::now() + kWait;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(200));
    auto stats = leaf.ReadStats();
    ASSERT_OK(stats);
    ASSERT_TRUE(stats->cpu.has_value());
    cpu = *stats->cpu;
    if (cpu.nr_throttled > 0) break;
  }
  EXPECT_GT(cpu.nr_periods, 0u);
  EXPECT_GT(cpu.nr_throttled, 0u);
  EXPECT_GT(cpu.throttled_usec, 0u);
}

TEST_F(Cgroup2, FreezeStopsProgressWithControllersEnabled) {
  Resources r;
  r.pids = PidsResources{16};
  Cgroup leaf = Leaf("freeze", r);
  SharedCounter counter;
  ASSERT_TRUE(counter.ok());
  Child child([&counter] { counter.SpinForever(); });
  ASSERT_TRUE(child.started());
  ASSERT_OK(leaf.AddProcess(child.pid()));
  ASSERT_TRUE(counter.Advances(kWait));
  ASSERT_OK(leaf.Freeze(kWait));
  uint64_t at_freeze = counter.value();
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(counter.value(), at_freeze);
  ASSERT_OK(leaf.Thaw(kWait));
  EXPECT_TRUE(counter.Advances(kWait));
}

TEST_F(Cgroup2, CgroupKillEmptiesTheCgroup) {
  Cgroup leaf = Leaf("kill");
  Child one(testing::SleepForever);
  Child two([] {
    // A process that forks too: cgroup.kill must get the grandchild as well.
    if (::fork() >= 0) testing::SleepForever();
  });
  ASSERT_TRUE(one.started() && two.started());
  ASSERT_OK(leaf.AddProcess(one.pid()));
  ASSERT_OK(leaf.AddProcess(two.pid()));
  ASSERT_OK(leaf.Kill());
  ASSERT_OK(leaf.WaitEmpty(kWait));
  auto procs = leaf.Processes();
  ASSERT_OK(procs);
  EXPECT_TRUE(procs->empty());
  for (Child* c : {&one, &two}) {
    int status = c->Wait();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  }
}

TEST_F(Cgroup2, NoInternalProcessesIsAClearError) {
  // /n gets controllers enabled for its child: it cannot take processes.
  Leaf("n/leaf");
  Cgroup n(mount_, base_->get().path() + "/n");
  Child child(testing::SleepForever);
  ASSERT_TRUE(child.started());
  auto added = n.AddProcess(child.pid());
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().err(), EBUSY);
  EXPECT_NE(added.error().ToString().find("no internal processes"), std::string::npos)
      << added.error().ToString();

  // /m holds a process: it cannot enable controllers for a new child.
  Cgroup m = Leaf("m");
  ASSERT_OK(m.AddProcess(child.pid()));
  auto sub = Cgroup::Create(mount_, m.path() + "/sub");
  ASSERT_FALSE(sub.ok());
  EXPECT_EQ(sub.error().err(), EBUSY);
  EXPECT_NE(sub.error().ToString().find(m.path() + " has processes"), std::string::npos)
      << sub.error().ToString();
}

}  // namespace
}  // namespace berth::cgroups
