// berth-shim against the real kernel: a busybox container started through
// StartShim, its CRI log, its durable exit status, setup errors, and that
// the monitor is small and not the caller's child.
#include "berth/runtime/shim/shim.h"

#include <unistd.h>

#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "container_fixture.h"
#include "cri_reader.h"
#include "test_support.h"

#include "berth/common/file.h"

namespace berth::runtime::testing {
namespace {

namespace fs = std::filesystem;
namespace shim = runtime::shim;

class ShimTest : public ContainerTest {
 protected:
  void TearDown() override {
    // Shims are not our children: end them by pid (the container dies with
    // the cgroup kill in ContainerTest::TearDown).
    for (pid_t pid : shims_) ::kill(pid, SIGKILL);
    ContainerTest::TearDown();
  }

  shim::ShimConfig Config(const Spec& spec, const std::string& id) {
    EXPECT_OK(WriteFileAtomic(bundle_ / "config.json", SpecToJson(spec), 0644));
    shim::ShimConfig c;
    c.id = id;
    c.bundle = bundle_;
    c.cgroup_mount = cgroup_mount_;
    c.cgroup_path = cgroup_parent_ + "/" + id;
    c.state_dir = dir_ / ("state-" + id);
    fs::create_directories(c.state_dir);
    fs::create_directories(dir_ / "logs");
    c.log_path = dir_ / "logs" / (id + ".log");
    return c;
  }

  Result<shim::ShimState> Start(const shim::ShimConfig& c) {
    auto s = shim::StartShim(BERTH_SHIM_BINARY, c);
    if (s.ok()) shims_.push_back(s->shim_pid);
    return s;
  }

  // Waits for the exit file (10 s at most).
  std::optional<shim::ExitStatus> WaitExit(
      const fs::path& state_dir, std::chrono::seconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto st = shim::ReadExitStatus(state_dir);
      if (!st.ok()) {
        ADD_FAILURE() << st.error().ToString();
        return std::nullopt;
      }
      if (st->has_value()) return **st;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ADD_FAILURE() << "no exit file in " << state_dir;
    return std::nullopt;
  }

  std::vector<pid_t> shims_;
};

bool Alive(pid_t pid) { return ::kill(pid, 0) == 0; }

TEST_F(ShimTest, LogsOutputAndRecordsExitCode) {
  auto c = Config(BaseSpec({"sh", "-c", "echo out1; echo err1 >&2; printf tail; exit 3"}), "c1");
  auto started = Start(c);
  ASSERT_OK(started);
  EXPECT_GT(started->init_pid, 0);
  EXPECT_GT(started->started_at_ns, 0);
  auto exit = WaitExit(c.state_dir);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 3);
  EXPECT_EQ(exit->signal, 0);
  EXPECT_FALSE(exit->oom_killed);
  EXPECT_GE(exit->finished_at_ns, exit->started_at_ns);

  auto lines = nodeagent::ReadLogs(c.log_path, {});
  ASSERT_OK(lines);
  std::vector<std::string> out, err;
  for (const auto& l : *lines) {
    (l.stream == shim::LogStream::kStdout ? out : err).push_back(l.content);
  }
  EXPECT_EQ(out, (std::vector<std::string>{"out1", "tail"}));
  EXPECT_EQ(err, (std::vector<std::string>{"err1"}));
  // The raw file is CRI: "<RFC3339Nano> stdout F out1".
  auto raw = ReadFile(c.log_path);
  ASSERT_OK(raw);
  EXPECT_NE(raw->find("Z stdout F out1\n"), std::string::npos) << *raw;
  EXPECT_NE(raw->find("Z stderr F err1\n"), std::string::npos) << *raw;
}

TEST_F(ShimTest, SignalledContainerRecordsSignal) {
  auto c = Config(BaseSpec({"sleep", "100"}), "c2");
  auto started = Start(c);
  ASSERT_OK(started);
  ASSERT_EQ(::kill(started->init_pid, SIGKILL), 0);
  auto exit = WaitExit(c.state_dir);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->signal, SIGKILL);
  EXPECT_EQ(exit->exit_code, 128 + SIGKILL);
}

TEST_F(ShimTest, SetupErrorIsReturnedAndNothingIsLeft) {
  auto c = Config(BaseSpec({"/bin/no-such-binary"}), "c3");
  auto started = Start(c);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().err(), ENOENT) << started.error().ToString();
  EXPECT_NE(started.error().ToString().find("no-such-binary"), std::string::npos)
      << started.error().ToString();
  EXPECT_FALSE(fs::exists(CgroupDir("c3")));
  EXPECT_FALSE(fs::exists(c.state_dir / shim::kShimStateFile));
}

TEST_F(ShimTest, MonitorIsSmallDetachedAndOutlivesNothing) {
  // pid 1 of a pid namespace only gets the signals it handles: trap TERM.
  auto c = Config(
      BaseSpec({"sh", "-c", "trap 'exit 7' TERM; echo trapped; while :; do sleep 0.05; done"}),
      "c4");
  auto started = Start(c);
  ASSERT_OK(started);
  // SIGTERM before the trap is set would be dropped (pid 1 has no default
  // action): wait for the container to say it handles it.
  for (int i = 0; i < 1000; ++i) {
    auto lines = nodeagent::ReadLogs(c.log_path, {});
    if (lines.ok() && !lines->empty() && lines->front().content == "trapped") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Not our child: reparented to init (or a subreaper), so it survives us.
  std::ifstream stat("/proc/" + std::to_string(started->shim_pid) + "/status");
  std::string line;
  long rss_kb = -1;
  pid_t ppid = -1;
  while (std::getline(stat, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss_kb = std::stol(line.substr(6));
    if (line.rfind("PPid:", 0) == 0) ppid = std::stoi(line.substr(5));
  }
  EXPECT_NE(ppid, ::getpid());
  EXPECT_GT(rss_kb, 0);
  EXPECT_LT(rss_kb, 2048) << "berth-shim-monitor RSS " << rss_kb << " kB";
  RecordProperty("shim_rss_kb", std::to_string(rss_kb));
  auto exe = fs::read_symlink("/proc/" + std::to_string(started->shim_pid) + "/exe");
  EXPECT_EQ(exe.filename(), "berth-shim-monitor");
  // Stopping the container ends the shim after it recorded the exit.
  ASSERT_EQ(::kill(started->init_pid, SIGTERM), 0);
  auto exit = WaitExit(c.state_dir);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 7);
  for (int i = 0; i < 500 && Alive(started->shim_pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(Alive(started->shim_pid));
}

// Needs the memory controller: runs in tools/vmtest (cgroup2.shim_oom_vm).
TEST_F(ShimTest, OomKillIsRecorded) {
  REQUIRE_FEATURE(berth::testing::Feature::kCgroup2Controllers);
  // Enabling memory for the test's cgroups means writing the ROOT's
  // subtree_control: only inside the throwaway VM, never on a host.
  if (std::getenv("BERTH_VMTEST") == nullptr) GTEST_SKIP() << "runs inside tools/vmtest only";
  ASSERT_OK(WriteFile(cgroup_mount_ / "cgroup.subtree_control", "+memory"));
  Spec spec = BaseSpec({"sh", "-c", "a=xxxxxxxxxxxxxxxx; while :; do a=$a$a; done"});
  cgroups::Resources r;
  cgroups::MemoryResources mem;
  mem.limit = 32 << 20;
  mem.swap = 32 << 20;  // memory+swap: no swap to escape to
  r.memory = mem;
  spec.linux_spec->resources = r;
  auto c = Config(spec, "oom");
  auto started = Start(c);
  ASSERT_OK(started);
  // The VM runs ~25x slower than the host: give the hog time to hit the limit.
  auto exit = WaitExit(c.state_dir, std::chrono::seconds(120));
  if (!exit) {
    auto events = ReadFile(CgroupDir("oom") + "/memory.events");
    auto current = ReadFile(CgroupDir("oom") + "/memory.current");
    ADD_FAILURE() << "memory.events: " << (events.ok() ? *events : events.error().ToString())
                  << " memory.current: " << (current.ok() ? *current : "?")
                  << " shim.log: " << ReadFile(c.state_dir / "shim.log").value();
  }
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->oom_killed);
  EXPECT_EQ(exit->signal, SIGKILL);
}

}  // namespace
}  // namespace berth::runtime::testing
