#include "berth/control/allocator.h"

#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "test_support.h"

namespace berth::control {
namespace {

namespace fs = std::filesystem;

class AllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-alloc-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    auto s = OpenRocksStore({dir_ / "db"});
    ASSERT_OK(s);
    store_ = std::move(s).value();
  }
  fs::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(AllocatorTest, ClusterIpsAreUniqueSkipReservedAndSurviveRestart) {
  ClusterIpAllocator a(*store_, *IpPrefix::Parse("10.96.0.0/29"));  // 6 usable
  std::set<std::string> got;
  for (int i = 0; i < 6; ++i) {
    auto ip = a.Allocate("svc-" + std::to_string(i));
    ASSERT_OK(ip);
    EXPECT_TRUE(got.insert(ip->String()).second) << ip->String() << " handed out twice";
  }
  EXPECT_EQ(got.count("10.96.0.0"), 0u);
  EXPECT_EQ(got.count("10.96.0.7"), 0u);
  auto full = a.Allocate("svc-6");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().err(), ENOSPC);
  EXPECT_NE(full.error().ToString().find("10.96.0.0/29"), std::string::npos);
  ASSERT_OK(a.Release(*IpAddress::Parse("10.96.0.3")));
  Reopen();
  ClusterIpAllocator b(*store_, *IpPrefix::Parse("10.96.0.0/29"));
  auto again = b.Allocate("svc-new");
  ASSERT_OK(again);
  EXPECT_EQ(again->String(), "10.96.0.3");  // the only free one, after a restart
}

TEST_F(AllocatorTest, SpecificRequestsAndConflicts) {
  ClusterIpAllocator a(*store_, *IpPrefix::Parse("10.96.0.0/24"));
  ASSERT_OK(a.AllocateSpecific(*IpAddress::Parse("10.96.0.10"), "dns"));
  EXPECT_OK(a.AllocateSpecific(*IpAddress::Parse("10.96.0.10"), "dns"));  // idempotent
  auto taken = a.AllocateSpecific(*IpAddress::Parse("10.96.0.10"), "other");
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().err(), EEXIST);
  EXPECT_NE(taken.error().ToString().find("already allocated to dns"), std::string::npos);
  EXPECT_ERRNO(a.AllocateSpecific(*IpAddress::Parse("10.97.0.1"), "x"), EINVAL);
  // Round robin: a fresh allocation does not land on a just-released item.
  auto first = a.Allocate("a");
  ASSERT_OK(first);
  ASSERT_OK(a.Release(*first));
  auto second = a.Allocate("b");
  ASSERT_OK(second);
  EXPECT_NE(second->String(), first->String());
}

TEST_F(AllocatorTest, NodePortsInRangeAndConcurrentAllocatorsNeverCollide) {
  NodePortAllocator p(*store_);
  EXPECT_ERRNO(p.AllocateSpecific(80, "x"), EINVAL);
  ASSERT_OK(p.AllocateSpecific(30080, "web"));
  std::vector<std::thread> threads;
  std::vector<std::vector<int>> ports(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      NodePortAllocator mine(*store_);  // as separate control replicas would
      for (int i = 0; i < 25; ++i) {
        auto port = mine.Allocate("svc-" + std::to_string(t) + "-" + std::to_string(i));
        if (port.ok()) ports[t].push_back(*port);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<int> all = {30080};
  size_t n = 1;
  for (const auto& v : ports) {
    for (int port : v) {
      EXPECT_GE(port, 30000);
      EXPECT_LE(port, 32767);
      all.insert(port);
      ++n;
    }
  }
  EXPECT_EQ(n, 101u);
  EXPECT_EQ(all.size(), n) << "a node port was handed out twice";
}

}  // namespace
}  // namespace berth::control
