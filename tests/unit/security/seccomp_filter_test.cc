// SeccompFilter: building from profiles (errors name the bad value), and
// loading for real in a forked child, which needs no privilege once
// no_new_privs is set.
#include <errno.h>
#include <sched.h>
#include <unistd.h>

#include <linux/sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <csignal>
#include <cstring>

#include <gtest/gtest.h>

#include "child_process.h"
#include "test_support.h"

#include "berth/common/unique_fd.h"
#include "berth/runtime/seccomp.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif

namespace berth::runtime {
namespace {

using berth::testing::Feature;
using testing::RunInChild;

Seccomp AllowAllBut(SeccompSyscall rule) {
  Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.syscalls.push_back(std::move(rule));
  return s;
}

std::string BuildError(const Seccomp& s) {
  auto r = SeccompFilter::Build(s);
  if (r.ok()) return "built";
  return std::string(ErrnoName(r.error().err())) + " " + r.error().Chain();
}

// "" when `call` failed with `want`, else what happened.
std::string ExpectFails(const char* what, long rc, int want) {
  if (rc >= 0) return std::string(what) + " succeeded; ";
  if (errno != want) return std::string(what) + ": " + std::strerror(errno) + "; ";
  return "";
}

TEST(SeccompFilterTest, BuildsTheDefaultProfile) {
  auto f = SeccompFilter::Build(DefaultSeccompProfile());
  ASSERT_OK(f);
  auto bpf = f->ExportBpf();
  ASSERT_OK(bpf);
  // struct sock_filter is 8 bytes; hundreds of syscalls need hundreds of them.
  EXPECT_EQ(bpf->size() % 8, 0u);
  EXPECT_GT(bpf->size() / 8, 300u);
}

TEST(SeccompFilterTest, MovesOwnership) {
  auto f = SeccompFilter::Build(DefaultSeccompProfile());
  ASSERT_OK(f);
  SeccompFilter moved = std::move(*f);
  auto other = SeccompFilter::Build(AllowAllBut({{"getppid"}, "SCMP_ACT_ERRNO", 1, {}}));
  ASSERT_OK(other);
  moved = std::move(*other);
  EXPECT_OK(moved.ExportBpf());
}

TEST(SeccompFilterTest, BadNamesAreEinvalNamingThem) {
  Seccomp s;
  s.default_action = "SCMP_ACT_FOO";
  EXPECT_EQ(BuildError(s),
            "EINVAL linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_FOO\"");
  EXPECT_EQ(BuildError(AllowAllBut({{"read"}, "SCMP_ACT_DENY", {}, {}})),
            "EINVAL linux.seccomp.syscalls[0].action: unknown seccomp action \"SCMP_ACT_DENY\"");
  EXPECT_EQ(BuildError(AllowAllBut({{"read"}, "SCMP_ACT_ERRNO", {}, {{0, 1, 0, "SCMP_CMP_IN"}}})),
            "EINVAL linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator "
            "\"SCMP_CMP_IN\"");
  EXPECT_EQ(BuildError(AllowAllBut({{"read"}, "SCMP_ACT_ERRNO", {}, {{6, 1, 0, "SCMP_CMP_EQ"}}})),
            "EINVAL linux.seccomp.syscalls[0].args[0].index: must be within [0, 5]");
  Seccomp arch = AllowAllBut({{"read"}, "SCMP_ACT_ERRNO", {}, {}});
  arch.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"};
  EXPECT_EQ(BuildError(arch),
            "EINVAL linux.seccomp.architectures[1]: unknown seccomp architecture "
            "\"SCMP_ARCH_VAX\"");
  arch.architectures = {"x86_64"};
  EXPECT_EQ(BuildError(arch),
            "EINVAL linux.seccomp.architectures[0]: unknown seccomp architecture \"x86_64\"");
  Seccomp flags = AllowAllBut({{"read"}, "SCMP_ACT_ERRNO", {}, {}});
  flags.flags = {"SECCOMP_FILTER_FLAG_NEW_LISTENER"};
  EXPECT_EQ(BuildError(flags),
            "EINVAL linux.seccomp.flags[0]: unknown seccomp flag "
            "\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"");
  EXPECT_EQ(BuildError(AllowAllBut({{"read"}, "SCMP_ACT_NOTIFY", {}, {}})),
            "EOPNOTSUPP linux.seccomp.syscalls[0].action: seccomp action SCMP_ACT_NOTIFY is not "
            "supported");
}

TEST(SeccompFilterTest, AcceptsEveryActionOperatorAndFlag) {
  Seccomp s;
  s.default_action = "SCMP_ACT_ERRNO";
  s.default_errno_ret = EACCES;
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"};
  s.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
             "SECCOMP_FILTER_FLAG_TSYNC"};
  const char* actions[] = {"SCMP_ACT_ALLOW",        "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD",
                           "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_TRACE",
                           "SCMP_ACT_LOG",          "SCMP_ACT_ERRNO"};
  const char* names[] = {"read", "write", "getpid", "getppid", "gettid", "uname", "sync", "pause"};
  for (size_t i = 0; i < std::size(actions); ++i) {
    s.syscalls.push_back({{names[i]}, actions[i], std::nullopt, {}});
  }
  const char* ops[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
                       "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
  for (const char* op : ops)
    s.syscalls.push_back({{"lseek"}, "SCMP_ACT_ALLOW", {}, {{2, 1, 1, op}}});
  // Unknown syscall names are skipped, as runc does.
  s.syscalls.push_back({{"no_such_syscall", "close"}, "SCMP_ACT_ALLOW", {}, {}});
  EXPECT_OK(SeccompFilter::Build(s));
}

TEST(SeccompFilterTest, DefaultProfileRefusesWhatDockerRefuses) {
  REQUIRE_FEATURE(Feature::kSeccomp);
  std::string err = RunInChild([]() -> std::string {
    auto f = SeccompFilter::Build(DefaultSeccompProfile());
    if (!f.ok()) return f.error().ToString();
    // Unprivileged seccomp needs no_new_privs (see man 2 seccomp).
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return "PR_SET_NO_NEW_PRIVS failed";
    auto loaded = f->Load();
    if (!loaded.ok()) return loaded.error().ToString();
    std::string out;
    // Refused by the default action, although unprivileged code may call
    // them (KEYCTL_GET_KEYRING_ID = 0, KEY_SPEC_SESSION_KEYRING = -3).
    out += ExpectFails("keyctl", syscall(SYS_keyctl, 0, -3, 0), EPERM);
    out += ExpectFails("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER), EPERM);
    out += ExpectFails("mount", syscall(SYS_mount, "none", "/", "tmpfs", 0, nullptr), EPERM);
    // clone with a namespace flag, clone3 (ENOSYS so libc falls back).
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    out += ExpectFails("clone(CLONE_NEWUSER)", pid, EPERM);
    out += ExpectFails("clone3", syscall(SYS_clone3, nullptr, 0), ENOSYS);
    // socket: AF_VSOCK and AF_ALG refused, others allowed.
    out += ExpectFails("socket(AF_VSOCK)", socket(AF_VSOCK, SOCK_STREAM, 0), EPERM);
    out += ExpectFails("socket(AF_ALG)", socket(AF_ALG, SOCK_SEQPACKET, 0), EPERM);
    UniqueFd unix_sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!unix_sock) out += std::string("socket(AF_UNIX): ") + std::strerror(errno) + "; ";
    // personality: the query value is allowed, other personas are not.
    if (personality(0xffffffff) < 0) out += "personality(query) refused; ";
    out += ExpectFails("personality(READ_IMPLIES_EXEC)", personality(READ_IMPLIES_EXEC), EPERM);
    if (getpid() <= 0) out += "getpid failed; ";
    // fork (clone without namespace flags) still works.
    pid_t child = fork();
    if (child == 0) _exit(0);
    if (child < 0) out += std::string("fork: ") + std::strerror(errno) + "; ";
    return out;
  });
  EXPECT_EQ(err, "");
}

TEST(SeccompFilterTest, ErrnoRetAndArgumentFilters) {
  REQUIRE_FEATURE(Feature::kSeccomp);
  std::string err = RunInChild([]() -> std::string {
    Seccomp s;
    s.default_action = "SCMP_ACT_ALLOW";
    s.syscalls.push_back({{"getppid"}, "SCMP_ACT_ERRNO", ENOMSG, {}});
    // dup(fd) refused with EBADE only for fds above 100.
    s.syscalls.push_back({{"dup"}, "SCMP_ACT_ERRNO", EBADE, {{0, 100, 0, "SCMP_CMP_GT"}}});
    // fcntl refused when cmd & 0xff == F_SETFD.
    s.syscalls.push_back(
        {{"fcntl"}, "SCMP_ACT_ERRNO", EXDEV, {{1, 0xff, F_SETFD, "SCMP_CMP_MASKED_EQ"}}});
    auto f = SeccompFilter::Build(s);
    if (!f.ok()) return f.error().ToString();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return "PR_SET_NO_NEW_PRIVS failed";
    auto loaded = f->Load();
    if (!loaded.ok()) return loaded.error().ToString();
    std::string out = ExpectFails("getppid", syscall(SYS_getppid), ENOMSG);
    out += ExpectFails("dup(200)", syscall(SYS_dup, 200), EBADE);
    // dup(0) passes the filter; the kernel answers (a new fd).
    long fd = syscall(SYS_dup, 0);
    if (fd < 0) out += std::string("dup(0): ") + std::strerror(errno) + "; ";
    out += ExpectFails("fcntl(F_SETFD)", syscall(SYS_fcntl, 0, F_SETFD, FD_CLOEXEC), EXDEV);
    if (syscall(SYS_fcntl, 0, F_GETFD) < 0) out += "fcntl(F_GETFD) refused; ";
    return out;
  });
  EXPECT_EQ(err, "");
}

TEST(SeccompFilterTest, LoadLeavesNoNewPrivsAlone) {
  REQUIRE_FEATURE(Feature::kSeccomp);
  REQUIRE_FEATURE(Feature::kUserNamespace);
  std::string err = RunInChild([]() -> std::string {
    // CAP_SYS_ADMIN in a user namespace lets seccomp load without no_new_privs.
    if (unshare(CLONE_NEWUSER) != 0) return std::string("unshare: ") + std::strerror(errno);
    auto f = SeccompFilter::Build(AllowAllBut({{"getppid"}, "SCMP_ACT_ERRNO", 1, {}}));
    if (!f.ok()) return f.error().ToString();
    auto loaded = f->Load();
    if (!loaded.ok()) return loaded.error().ToString();
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0) return "no_new_privs was set by Load";
    return ExpectFails("getppid", syscall(SYS_getppid), EPERM);
  });
  EXPECT_EQ(err, "");
}

TEST(SeccompFilterTest, LoadWithoutPrivilegeOrNoNewPrivsFails) {
  REQUIRE_FEATURE(Feature::kSeccomp);
  std::string err = RunInChild([]() -> std::string {
    // Root would hold CAP_SYS_ADMIN: become nobody, which drops every
    // capability (no PR_SET_KEEPCAPS).
    if (geteuid() == 0 &&
        (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)) {
      return std::string("become nobody: ") + std::strerror(errno);
    }
    auto f = SeccompFilter::Build(AllowAllBut({{"getppid"}, "SCMP_ACT_ERRNO", 1, {}}));
    if (!f.ok()) return f.error().ToString();
    auto loaded = f->Load();
    if (loaded.ok()) return "Load succeeded without no_new_privs";
    return loaded.error().err() == EACCES ? "" : loaded.error().ToString();
  });
  EXPECT_EQ(err, "");
}

}  // namespace
}  // namespace berth::runtime

namespace berth::runtime {
namespace {

using testing::RunInChild;

TEST(SeccompFilterTest, PrecompiledProgramLoadsAndEnforcesTheSameRules) {
  Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.syscalls.push_back({{"getppid"}, "SCMP_ACT_ERRNO", ENOMSG, {}});
  auto built = SeccompFilter::Build(s);
  ASSERT_OK(built);
  auto program = built->ExportBpf();
  ASSERT_OK(program);
  auto pre = SeccompFilter::FromBpf(*program, s);
  ASSERT_OK(pre);
  auto again = pre->ExportBpf();
  ASSERT_OK(again);
  EXPECT_EQ(*again, *program);
  std::string err = RunInChild([program = *program, s]() -> std::string {
    auto f = SeccompFilter::FromBpf(program, s);
    if (!f.ok()) return f.error().ToString();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return "PR_SET_NO_NEW_PRIVS failed";
    auto loaded = f->Load();
    if (!loaded.ok()) return loaded.error().ToString();
    if (syscall(SYS_getppid) >= 0 || errno != ENOMSG) return "getppid was not refused";
    return "";
  });
  EXPECT_EQ(err, "");
}

TEST(SeccompFilterTest, PrecompiledProgramIsChecked) {
  Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  EXPECT_ERRNO(SeccompFilter::FromBpf("", s), EINVAL);
  EXPECT_ERRNO(SeccompFilter::FromBpf("12345", s), EINVAL);
  s.flags = {"SECCOMP_FILTER_FLAG_BOGUS"};
  auto bad = SeccompFilter::FromBpf(std::string(8, '\0'), s);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("SECCOMP_FILTER_FLAG_BOGUS"), std::string::npos);
}

}  // namespace
}  // namespace berth::runtime
