// DefaultSeccompProfile / SeccompProfileFor: Docker's default profile
// resolved for a capability set, checked entry by entry.
#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/runtime/capabilities.h"
#include "berth/runtime/seccomp.h"

namespace berth::runtime {
namespace {

// Names allowed with no argument filter.
std::set<std::string> PlainAllowed(const Seccomp& s) {
  std::set<std::string> out;
  for (const auto& sc : s.syscalls) {
    if (sc.action == "SCMP_ACT_ALLOW" && sc.args.empty())
      out.insert(sc.names.begin(), sc.names.end());
  }
  return out;
}

std::vector<const SeccompSyscall*> EntriesFor(const Seccomp& s, const std::string& name) {
  std::vector<const SeccompSyscall*> out;
  for (const auto& sc : s.syscalls) {
    if (std::find(sc.names.begin(), sc.names.end(), name) != sc.names.end()) out.push_back(&sc);
  }
  return out;
}

Capabilities WithBounding(std::vector<std::string> extra) {
  Capabilities c;
  c.bounding = DefaultCapabilities();
  c.bounding.insert(c.bounding.end(), extra.begin(), extra.end());
  return c;
}

TEST(DefaultSeccompProfileTest, DefaultActionAndArchitectures) {
  const Seccomp& s = DefaultSeccompProfile();
  EXPECT_EQ(s.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(s.default_errno_ret, std::optional<unsigned>(EPERM));
#if defined(__x86_64__) && !defined(__ILP32__)
  EXPECT_EQ(s.architectures,
            (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
#endif
  EXPECT_TRUE(s.flags.empty());
}

#if defined(__x86_64__) && !defined(__ILP32__)
TEST(DefaultSeccompProfileTest, AllowListMatchesDockerOnAmd64) {
  std::set<std::string> allowed = PlainAllowed(DefaultSeccompProfile());
  // 361 common names + process_vm_readv/writev and ptrace (kernel >= 4.8) +
  // arch_prctl and modify_ldt (amd64) + chroot (CAP_SYS_CHROOT).
  EXPECT_EQ(allowed.size(), 367u);
  for (const char* name :
       {"read", "write", "openat", "execve", "futex", "io_uring_setup", "ptrace",
        "process_vm_readv", "arch_prctl", "modify_ldt", "chroot", "statmount", "mseal", "setns"}) {
    if (std::string(name) == "io_uring_setup" || std::string(name) == "setns") {
      // Docker refuses io_uring by default; setns needs CAP_SYS_ADMIN.
      EXPECT_EQ(allowed.count(name), 0u) << name;
    } else {
      EXPECT_EQ(allowed.count(name), 1u) << name;
    }
  }
  for (const char* refused :
       {"keyctl", "add_key", "request_key", "mount", "umount2", "unshare", "bpf", "reboot",
        "init_module", "kexec_load", "open_by_handle_at", "perf_event_open", "syslog",
        "settimeofday", "clock_settime", "acct", "swapon", "pivot_root", "userfaultfd"}) {
    EXPECT_TRUE(EntriesFor(DefaultSeccompProfile(), refused).empty()) << refused;
  }
}
#endif

TEST(DefaultSeccompProfileTest, ArgumentFilteredEntries) {
  const Seccomp& s = DefaultSeccompProfile();
  std::set<uint64_t> personas;
  for (const auto* e : EntriesFor(s, "personality")) {
    ASSERT_EQ(e->args.size(), 1u);
    EXPECT_EQ(e->args[0].op, "SCMP_CMP_EQ");
    personas.insert(e->args[0].value);
  }
  EXPECT_EQ(personas, (std::set<uint64_t>{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}));

  // socket: everything but AF_ALG (38) and AF_VSOCK (40).
  std::vector<std::pair<std::string, uint64_t>> socket_rules;
  for (const auto* e : EntriesFor(s, "socket")) {
    ASSERT_EQ(e->args.size(), 1u);
    EXPECT_EQ(e->args[0].index, 0u);
    socket_rules.emplace_back(e->args[0].op, e->args[0].value);
  }
  EXPECT_EQ(socket_rules, (std::vector<std::pair<std::string, uint64_t>>{
                              {"SCMP_CMP_LT", 38}, {"SCMP_CMP_EQ", 39}, {"SCMP_CMP_GT", 40}}));

#if !defined(__s390x__)
  auto clone = EntriesFor(s, "clone");
  ASSERT_EQ(clone.size(), 1u);
  ASSERT_EQ(clone[0]->args.size(), 1u);
  EXPECT_EQ(clone[0]->args[0].index, 0u);
  EXPECT_EQ(clone[0]->args[0].op, "SCMP_CMP_MASKED_EQ");
  // CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET must all be clear.
  EXPECT_EQ(clone[0]->args[0].value, 0x7E020000u);
  EXPECT_EQ(clone[0]->args[0].value_two, 0u);
#endif
  auto clone3 = EntriesFor(s, "clone3");
  ASSERT_EQ(clone3.size(), 1u);
  EXPECT_EQ(clone3[0]->action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(clone3[0]->errno_ret, std::optional<unsigned>(ENOSYS));
}

TEST(SeccompProfileForTest, SysAdminGetsDockersExtraEntries) {
  Seccomp s = SeccompProfileFor(WithBounding({"CAP_SYS_ADMIN"}));
  std::set<std::string> allowed = PlainAllowed(s);
  for (const char* name : {"mount", "umount2", "unshare", "setns", "clone", "clone3", "bpf",
                           "fsopen", "sethostname", "quotactl"}) {
    EXPECT_EQ(allowed.count(name), 1u) << name;
  }
  // No filtered clone and no ENOSYS clone3: the plain entries replace them.
  for (const auto* e : EntriesFor(s, "clone")) EXPECT_TRUE(e->args.empty());
  for (const auto* e : EntriesFor(s, "clone3")) EXPECT_EQ(e->action, "SCMP_ACT_ALLOW");
  EXPECT_EQ(allowed.count("keyctl"), 0u);
}

TEST(SeccompProfileForTest, EachCapabilityAddsItsEntries) {
  const std::pair<const char*, std::vector<const char*>> kCases[] = {
      {"CAP_SYS_PTRACE", {"kcmp", "pidfd_getfd", "process_madvise"}},
      {"CAP_SYS_TIME", {"settimeofday", "clock_settime"}},
      {"CAP_SYS_MODULE", {"init_module", "finit_module", "delete_module"}},
      {"CAP_SYS_BOOT", {"reboot"}},
      {"CAP_SYS_PACCT", {"acct"}},
      {"CAP_SYS_NICE", {"mbind", "set_mempolicy"}},
      {"CAP_SYSLOG", {"syslog"}},
      {"CAP_BPF", {"bpf"}},
      {"CAP_PERFMON", {"perf_event_open"}},
      {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}},
      {"CAP_SYS_TTY_CONFIG", {"vhangup"}},
      {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
  };
  std::set<std::string> base = PlainAllowed(DefaultSeccompProfile());
  for (const auto& [cap, names] : kCases) {
    std::set<std::string> with = PlainAllowed(SeccompProfileFor(WithBounding({cap})));
    for (const char* n : names) {
      EXPECT_EQ(base.count(n), 0u) << n;
      EXPECT_EQ(with.count(n), 1u) << cap << " " << n;
    }
  }
}

TEST(SeccompProfileForTest, ChrootFollowsSysChroot) {
  Capabilities none;
  EXPECT_EQ(PlainAllowed(SeccompProfileFor(none)).count("chroot"), 0u);
  EXPECT_EQ(PlainAllowed(DefaultSeccompProfile()).count("chroot"), 1u);
}

}  // namespace
}  // namespace berth::runtime
