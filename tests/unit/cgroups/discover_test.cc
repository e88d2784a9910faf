// Discover against fake /proc trees: hybrid (like the project's hosts), pure
// v2 (systemd unified), and no cgroup2 at all.
#include <gtest/gtest.h>

#include "temp_tree.h"
#include "test_support.h"

#include "berth/cgroups/cgroup.h"

namespace berth::cgroups {
namespace {

constexpr const char kHybridMountinfo[] =
    "22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

constexpr const char kHybridCgroup[] =
    "9:name=systemd:/\n"
    "4:memory:/process_api/3a7a\n"
    "1:cpu:/\n"
    "0::/\n";

constexpr const char kUnifiedMountinfo[] =
    "24 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
    "35 26 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

constexpr const char kUnifiedCgroup[] = "0::/user.slice/user-1000.slice/session-2.scope\n";

TEST(Discover, HybridLayout) {
  testing::TempTree proc;
  proc.Write("self/mountinfo", kHybridMountinfo);
  proc.Write("self/cgroup", kHybridCgroup);
  auto h = Discover(proc.root());
  ASSERT_OK(h);
  EXPECT_EQ(h->mount, "/sys/fs/cgroup/unified");
  EXPECT_EQ(h->self, "/");
}

TEST(Discover, PureV2Layout) {
  testing::TempTree proc;
  proc.Write("self/mountinfo", kUnifiedMountinfo);
  proc.Write("self/cgroup", kUnifiedCgroup);
  auto h = Discover(proc.root());
  ASSERT_OK(h);
  EXPECT_EQ(h->mount, "/sys/fs/cgroup");
  EXPECT_EQ(h->self, "/user.slice/user-1000.slice/session-2.scope");
}

TEST(Discover, NoCgroup2IsEnoent) {
  testing::TempTree proc;
  proc.Write("self/mountinfo",
             "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n");
  proc.Write("self/cgroup", "1:cpu:/\n");
  auto h = Discover(proc.root());
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().err(), ENOENT);
  EXPECT_NE(h.error().ToString().find("cgroup2"), std::string::npos) << h.error().ToString();
}

TEST(Discover, MissingProcFilesAreEnoent) {
  testing::TempTree proc;
  EXPECT_ERRNO(Discover(proc.root()), ENOENT);
}

TEST(Discover, SubtreeMountMakesSelfRelativeToTheMount) {
  testing::TempTree proc;
  proc.Write("self/mountinfo",
             "60 30 0:30 /system.slice/box /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  proc.Write("self/cgroup", "0::/system.slice/box/init\n");
  auto h = Discover(proc.root());
  ASSERT_OK(h);
  EXPECT_EQ(h->self, "/init");

  proc.Write("self/cgroup", "0::/system.slice/box\n");
  h = Discover(proc.root());
  ASSERT_OK(h);
  EXPECT_EQ(h->self, "/");

  proc.Write("self/cgroup", "0::/system.slice/boxer\n");  // a sibling, not below the root
  EXPECT_ERRNO(Discover(proc.root()), ENOENT);
}

TEST(FindCgroup2Mount, UnescapesOctalAndSkipsOptionalFields) {
  auto m =
      FindCgroup2Mount("50 30 0:40 / /run/my\\040cgroups rw shared:3 master:1 - cgroup2 none rw\n");
  ASSERT_OK(m);
  EXPECT_EQ(*m, "/run/my cgroups");
}

TEST(FindCgroup2Mount, IgnoresSourceNamedCgroup2) {
  // The source field may say "cgroup2" for any filesystem; only fstype counts.
  EXPECT_ERRNO(FindCgroup2Mount("50 30 0:40 / /mnt rw - tmpfs cgroup2 rw\n"), ENOENT);
}

TEST(ParseProcCgroup, V2LineOnly) {
  EXPECT_ERRNO(ParseProcCgroup("4:memory:/x\n1:cpu:/\n"), ENOENT);
  auto p = ParseProcCgroup("0::/berth/agent\n");
  ASSERT_OK(p);
  EXPECT_EQ(*p, "/berth/agent");
  auto d = ParseProcCgroup("0::/gone (deleted)\n");
  ASSERT_OK(d);
  EXPECT_EQ(*d, "/gone");
  EXPECT_ERRNO(ParseProcCgroup("0::relative\n"), EINVAL);
}

}  // namespace
}  // namespace berth::cgroups
