#include "node_status.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/common/file.h"

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;

class NodeStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-node-status-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "proc/pressure");
    fs::create_directories(dir_ / "proc/sys/kernel");
    fs::create_directories(dir_ / "cg");
    Write("proc/meminfo", "MemTotal:       16384000 kB\nMemFree:  1 kB\n");
    Write("proc/pressure/memory",
          "some avg10=0.50 avg60=0.1 avg300=0 total=1\nfull avg10=0 "
          "avg60=0 avg300=0 total=0\n");
    Write("proc/sys/kernel/pid_max", "4194304\n");
    Write("cg/cgroup.controllers", "cpu memory pids\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& text) {
    ASSERT_OK(WriteFileAtomic(dir_ / rel, text, 0644));
  }
  NodeStatusInputs Inputs() const {
    NodeStatusInputs in;
    in.name = "n1";
    in.proc = dir_ / "proc";
    in.cgroup_dir = dir_ / "cg";
    in.state_dir = dir_;
    in.reserved_cpu_milli = 500;
    in.reserved_memory_bytes = 1 << 30;
    return in;
  }
  fs::path dir_;
};

const NodeCondition* Find(const NodeStatus& s, const std::string& type) {
  for (const auto& c : s.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

TEST_F(NodeStatusTest, CapacityAllocatableAndControllers) {
  auto s = ReadNodeStatus(Inputs());
  ASSERT_OK(s);
  EXPECT_EQ(s->memory_bytes, int64_t{16384000} * 1024);
  EXPECT_EQ(s->allocatable_memory_bytes, s->memory_bytes - (1 << 30));
  EXPECT_EQ(s->cpu_milli, ::sysconf(_SC_NPROCESSORS_ONLN) * 1000);
  EXPECT_EQ(s->allocatable_cpu_milli, s->cpu_milli - 500);
  EXPECT_EQ(s->controllers_enforced, (std::vector<std::string>{"cpu", "memory", "pids"}));
  EXPECT_EQ(s->controllers_missing, (std::vector<std::string>{"io"}));
  EXPECT_TRUE(Find(*s, "Ready")->status);
  EXPECT_NE(Find(*s, "Ready")->message.find("io"), std::string::npos);
  EXPECT_FALSE(Find(*s, "MemoryPressure")->status);
  EXPECT_FALSE(Find(*s, "PIDPressure")->status);
}

TEST_F(NodeStatusTest, MemoryPressureFromPsi) {
  Write("proc/pressure/memory", "some avg10=42.00 avg60=30 avg300=10 total=99\n");
  auto s = ReadNodeStatus(Inputs());
  ASSERT_OK(s);
  EXPECT_TRUE(Find(*s, "MemoryPressure")->status);
  EXPECT_NE(Find(*s, "MemoryPressure")->message.find("avg10=42"), std::string::npos);
}

TEST_F(NodeStatusTest, PidPressure) {
  Write("proc/sys/kernel/pid_max", "10\n");
  for (int i = 1; i <= 10; ++i) fs::create_directories(dir_ / "proc" / std::to_string(i));
  auto s = ReadNodeStatus(Inputs());
  ASSERT_OK(s);
  EXPECT_TRUE(Find(*s, "PIDPressure")->status);
}

}  // namespace
}  // namespace berth::nodeagent
