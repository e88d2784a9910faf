// Capability names, Docker's defaults, and ApplyCapabilities for real inside
// a user namespace (full capabilities there, no privilege needed outside).
#include "berth/runtime/capabilities.h"

#include <sched.h>

#include <linux/capability.h>
#include <sys/prctl.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "child_process.h"
#include "test_support.h"

#include "berth/common/file.h"

namespace berth::runtime {
namespace {

using testing::RunInChild;

TEST(ParseCapabilityTest, KnownNames) {
  auto raw = ParseCapability("CAP_NET_RAW");
  ASSERT_OK(raw);
  EXPECT_EQ(*raw, 13);
  EXPECT_EQ(*ParseCapability("CAP_CHOWN"), 0);
  EXPECT_EQ(*ParseCapability("CAP_SYS_ADMIN"), 21);
  EXPECT_EQ(*ParseCapability("cap_kill"), 5);
  EXPECT_EQ(*ParseCapability("CAP_CHECKPOINT_RESTORE"), 40);
}

TEST(ParseCapabilityTest, UnknownNamesAreEinvalNamingThem) {
  auto r = ParseCapability("CAP_FLY");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), EINVAL);
  EXPECT_EQ(r.error().Chain(), "unknown capability \"CAP_FLY\"");
  EXPECT_ERRNO(ParseCapability("NET_RAW"), EINVAL);
  EXPECT_ERRNO(ParseCapability("13"), EINVAL);
  EXPECT_ERRNO(ParseCapability(""), EINVAL);
}

TEST(DefaultCapabilitiesTest, DockersFourteen) {
  const auto& caps = DefaultCapabilities();
  EXPECT_EQ(caps, (std::vector<std::string>{
                      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                      "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}));
  for (const auto& c : caps) EXPECT_OK(ParseCapability(c));
  Capabilities sets = DefaultCapabilitySets();
  EXPECT_EQ(sets.bounding, caps);
  EXPECT_EQ(sets.effective, caps);
  EXPECT_EQ(sets.permitted, caps);
  EXPECT_TRUE(sets.inheritable.empty());
  EXPECT_TRUE(sets.ambient.empty());
}

// The Cap* masks of /proc/self/status.
std::string CapMask(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":\t", 0) == 0) return line.substr(field.size() + 2);
  }
  return "missing " + field;
}

std::string Hex(uint64_t mask) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(mask));
  return buf;
}

std::string Expect(const std::string& field, uint64_t want) {
  std::string got = CapMask(field);
  if (got == Hex(want)) return "";
  return field + " is " + got + ", want " + Hex(want) + "; ";
}

TEST(ApplyCapabilitiesTest, SetsEverySetInAUserNamespace) {
  REQUIRE_FEATURE(berth::testing::Feature::kUserNamespace);
  std::string err = RunInChild([]() -> std::string {
    // A new user namespace grants this process every capability inside it.
    if (unshare(CLONE_NEWUSER) != 0) return std::string("unshare: ") + std::strerror(errno);
    Capabilities caps;
    caps.bounding = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"};
    caps.permitted = {"CAP_CHOWN", "CAP_KILL"};
    caps.effective = {"CAP_KILL"};
    caps.inheritable = {"CAP_KILL"};
    caps.ambient = {"CAP_KILL"};
    auto r = ApplyCapabilities(caps);
    if (!r.ok()) return r.error().ToString();
    if (!r->empty()) return "unexpected warning: " + r->front();
    const uint64_t chown = 1ull << CAP_CHOWN, kill = 1ull << CAP_KILL, raw = 1ull << CAP_NET_RAW;
    return Expect("CapBnd", chown | kill | raw) + Expect("CapPrm", chown | kill) +
           Expect("CapEff", kill) + Expect("CapInh", kill) + Expect("CapAmb", kill);
  });
  EXPECT_EQ(err, "");
}

TEST(ApplyCapabilitiesTest, UnknownToKernelIsAWarning) {
  REQUIRE_FEATURE(berth::testing::Feature::kUserNamespace);
  // A procfs whose cap_last_cap says the kernel stops at CAP_SETFCAP (31).
  std::string proc =
      std::filesystem::temp_directory_path() / ("berth-caps-test-" + std::to_string(getpid()));
  ASSERT_OK(MakeDirs(proc + "/sys/kernel"));
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{proc};
  ASSERT_OK(WriteFileAtomic(proc + "/sys/kernel/cap_last_cap", "31\n"));
  std::string err = RunInChild([&]() -> std::string {
    if (unshare(CLONE_NEWUSER) != 0) return std::string("unshare: ") + std::strerror(errno);
    Capabilities caps;
    caps.bounding = {"CAP_KILL", "CAP_AUDIT_READ"};  // CAP_AUDIT_READ is 37
    caps.permitted = caps.effective = {"CAP_KILL"};
    auto r = ApplyCapabilities(caps, proc);
    if (!r.ok()) return r.error().ToString();
    if (r->size() != 1) return "got " + std::to_string(r->size()) + " warnings, want 1";
    if (r->front().find("bounding: CAP_AUDIT_READ") != 0) return "warning: " + r->front();
    return Expect("CapEff", 1ull << CAP_KILL);
  });
  EXPECT_EQ(err, "");
}

TEST(ApplyCapabilitiesTest, AmbientWithoutInheritableIsAWarningAsInRunc) {
  REQUIRE_FEATURE(berth::testing::Feature::kUserNamespace);
  std::string err = RunInChild([]() -> std::string {
    if (unshare(CLONE_NEWUSER) != 0) return std::string("unshare: ") + std::strerror(errno);
    Capabilities caps;
    caps.bounding = caps.permitted = caps.effective = caps.ambient = {"CAP_KILL"};
    auto r = ApplyCapabilities(caps);
    if (!r.ok()) return "ambient without inheritable failed: " + r.error().ToString();
    for (const std::string& w : *r) {
      if (w.find("CAP_KILL") != std::string::npos || w.find("cap_kill") != std::string::npos) {
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0) != 0) {
          return "CAP_KILL is ambient after all";
        }
        return "";
      }
    }
    return "no warning names CAP_KILL";
  });
  EXPECT_EQ(err, "");
}

TEST(ApplyCapabilitiesTest, UnknownNameFailsNamingTheSet) {
  Capabilities caps;
  caps.effective = {"CAP_FLY"};
  // Fails while validating names, before touching the process.
  auto r = ApplyCapabilities(caps);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), EINVAL);
  EXPECT_EQ(r.error().Chain(), "effective: unknown capability \"CAP_FLY\"");
}

TEST(KeepCapsTest, SetsKeepCaps) {
  std::string err = RunInChild([]() -> std::string {
    if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0) return "keepcaps already set";
    auto r = KeepCapsAcrossSetuid();
    if (!r.ok()) return r.error().ToString();
    return prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 1 ? "" : "PR_GET_KEEPCAPS is not 1";
  });
  EXPECT_EQ(err, "");
}

}  // namespace
}  // namespace berth::runtime
