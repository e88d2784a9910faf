// The usage meter (what `berth top` shows) on the real cgroup2 tree: a child
// in a cgroup the test makes burns one CPU and holds 32 MiB; the window
// shows about one core and at least that memory, whether the memory comes
// from memory.current or, without the memory controller, from the
// processes' resident sets.
#include "usage_meter.h"

#include <signal.h>
#include <unistd.h>

#include <sys/wait.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/cgroups/cgroup.h"

namespace berth::metrics {
namespace {

namespace fs = std::filesystem;

constexpr size_t kHeld = 32u << 20;

// The child and its cgroup, gone however the test ends.
struct Burner {
  fs::path dir;
  pid_t pid = -1;
  ~Burner() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (!dir.empty()) ::rmdir(dir.c_str());
  }
};

TEST(UsageMeterKernelTest, BurningChildShowsAboutOneCoreAndItsMemory) {
  REQUIRE_ROOT();
  REQUIRE_FEATURE(berth::testing::Feature::kCgroup2);
  auto h = cgroups::Discover();
  ASSERT_OK(h);
  const std::string path = "/berth-usage-test-" + std::to_string(::getpid());
  Burner b;
  b.dir = h->mount / path.substr(1);
  ASSERT_TRUE(fs::create_directory(b.dir));

  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  b.pid = ::fork();
  ASSERT_GE(b.pid, 0);
  if (b.pid == 0) {
    std::ofstream(b.dir / "cgroup.procs") << ::getpid();
    auto* held = static_cast<char*>(::malloc(kHeld));
    std::memset(held, 1, kHeld);
    (void)!::write(ready[1], "x", 1);
    volatile uint64_t spin = 0;
    for (;;) spin = spin + held[spin % kHeld];
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);

  UsageMeter meter({.cgroup_mount = h->mount});
  const std::vector<UsageTarget> targets = {{"uid-1", "default", "burn", "c", path}};
  auto first = meter.Sample(targets);
  ASSERT_OK(first);
  EXPECT_FALSE(first->has_value()) << "a window needs two readings";
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  auto window = meter.Sample(targets);
  ASSERT_OK(window);
  ASSERT_TRUE(window->has_value());
  const UsageWindow& w = **window;
  EXPECT_GE(w.length.count(), 550);
  ASSERT_EQ(w.containers.size(), 1u);
  const Usage& u = w.containers[0].usage;
  // One busy thread: about a core, less when the machine is loaded.
  EXPECT_GT(u.cpu_nanocores, 250'000'000) << "cpu " << u.cpu_nanocores;
  EXPECT_LT(u.cpu_nanocores, 1'100'000'000) << "cpu " << u.cpu_nanocores;
  EXPECT_GE(u.memory_bytes, static_cast<int64_t>(kHeld)) << "memory " << u.memory_bytes;
  EXPECT_LT(u.memory_bytes, static_cast<int64_t>(kHeld) * 4) << "memory " << u.memory_bytes;
  // The node burned at least as much as the child did.
  EXPECT_GE(w.node.cpu_nanocores, u.cpu_nanocores * 9 / 10);
  EXPECT_GT(w.node.memory_bytes, static_cast<int64_t>(kHeld));

  // A cgroup that is gone drops out of the next window.
  ::kill(b.pid, SIGKILL);
  ::waitpid(b.pid, nullptr, 0);
  b.pid = -1;
  ASSERT_EQ(::rmdir(b.dir.c_str()), 0);
  b.dir.clear();
  auto after = meter.Sample(targets);
  ASSERT_OK(after);
  ASSERT_TRUE(after->has_value());
  EXPECT_TRUE((*after)->containers.empty());
}

}  // namespace
}  // namespace berth::metrics
