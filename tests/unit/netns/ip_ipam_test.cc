// Address arithmetic and IPAM (files only: no privileges needed).
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/common/ip.h"
#include "berth/netns/ipam.h"
#include "berth/netns/pod_network.h"

namespace berth::netns {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "berth-ipam-XXXXXX").string();
    EXPECT_NE(::mkdtemp(t.data()), nullptr);
    path_ = t;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

IpPrefix P(const char* s) { return *IpPrefix::Parse(s); }
IpAddress A(const char* s) { return *IpAddress::Parse(s); }

TEST(IpTest, ParsesAndPrintsBothFamilies) {
  EXPECT_EQ(A("10.1.2.3").String(), "10.1.2.3");
  EXPECT_EQ(A("fd00:1::5").String(), "fd00:1::5");
  EXPECT_EQ(P("10.1.2.3/24").Network().String(), "10.1.2.0/24");
  EXPECT_EQ(P("fd00:1::5/64").Network().String(), "fd00:1::/64");
  EXPECT_FALSE(IpAddress::Parse("10.1.2").ok());
  EXPECT_FALSE(IpPrefix::Parse("10.1.2.0/33").ok());
  EXPECT_FALSE(IpPrefix::Parse("10.1.2.0").ok());
  auto bad = IpPrefix::Parse("fd00::/129");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("0-128"), std::string::npos);
}

TEST(IpTest, Arithmetic) {
  IpPrefix p = P("10.1.0.0/29");
  EXPECT_EQ(p.Size(), 8u);
  EXPECT_EQ(p.Nth(1).String(), "10.1.0.1");
  EXPECT_EQ(p.Nth(7).String(), "10.1.0.7");
  EXPECT_TRUE(p.Contains(A("10.1.0.7")));
  EXPECT_FALSE(p.Contains(A("10.1.0.8")));
  EXPECT_FALSE(p.Contains(A("fd00::1")));
  EXPECT_EQ(p.OffsetOf(A("10.1.0.5")), 5u);
  IpPrefix v6 = P("fd00:1::/64");
  EXPECT_EQ(v6.Size(), UINT64_MAX);  // saturates
  EXPECT_EQ(v6.Nth(0x1234).String(), "fd00:1::1234");
  EXPECT_EQ(P("fd00:1::/120").Size(), 256u);
}

TEST(IpamTest, SkipsNetworkGatewayAndBroadcastThenReportsExhaustion) {
  TempDir dir;
  auto ipam = Ipam::Open(dir.path(), P("10.1.0.0/29"));
  ASSERT_OK(ipam);
  EXPECT_EQ(ipam->Gateway().String(), "10.1.0.1");
  std::set<std::string> got;
  for (int i = 0; i < 5; ++i) {
    auto a = ipam->Allocate("pod" + std::to_string(i));
    ASSERT_OK(a);
    got.insert(a->String());
  }
  EXPECT_EQ(got,
            (std::set<std::string>{"10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"}));
  auto full = ipam->Allocate("pod5");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().err(), ENOSPC);
  EXPECT_NE(full.error().ToString().find("10.1.0.0/29 is exhausted"), std::string::npos)
      << full.error().ToString();
  // Idempotent per owner; release frees for reuse; a new instance sees it all.
  EXPECT_EQ(ipam->Allocate("pod3")->String(), "10.1.0.5");
  ASSERT_OK(ipam->Release("pod3"));
  ASSERT_OK(ipam->Release("pod3"));
  auto reopened = Ipam::Open(dir.path(), P("10.1.0.0/29"));
  ASSERT_OK(reopened);
  EXPECT_EQ(reopened->Allocate("pod5")->String(), "10.1.0.5");
  auto list = reopened->List();
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), 5u);
  EXPECT_EQ(list->at(A("10.1.0.2")), "pod0");
}

TEST(IpamTest, RoundRobinDoesNotReuseAReleasedAddressAtOnce) {
  TempDir dir;
  auto ipam = Ipam::Open(dir.path(), P("fd00:9::/120"));
  ASSERT_OK(ipam);
  EXPECT_EQ(ipam->Allocate("a")->String(), "fd00:9::2");
  ASSERT_OK(ipam->Release("a"));
  EXPECT_EQ(ipam->Allocate("b")->String(), "fd00:9::3");
}

TEST(IpamTest, ConcurrentAllocatorsNeverShareAnAddress) {
  TempDir dir;
  std::vector<std::string> got(40);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto ipam = Ipam::Open(dir.path(), P("10.7.0.0/24"));  // one instance per thread
      for (int i = t; i < 40; i += 4) got[i] = ipam->Allocate("p" + std::to_string(i))->String();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), 40u);
}

TEST(IpamTest, TooSmallRangeIsRefused) {
  TempDir dir;
  auto r = Ipam::Open(dir.path(), P("10.1.0.0/31"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("too small"), std::string::npos);
}

TEST(PodIdTest, Validation) {
  EXPECT_TRUE(IsValidPodId("web-1.default_x"));
  EXPECT_FALSE(IsValidPodId(""));
  EXPECT_FALSE(IsValidPodId("../x"));
  EXPECT_FALSE(IsValidPodId("-x"));
  EXPECT_FALSE(IsValidPodId(std::string(129, 'a')));
}

}  // namespace
}  // namespace berth::netns
