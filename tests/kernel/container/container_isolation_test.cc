// What a container's init sees from inside: pid 1, hostname, mounts, /dev,
// masked and read-only paths, capabilities, seccomp, no_new_privs, identity,
// rlimits, sysctls, env and cwd.
#include <cstdio>
#include <sstream>

#include "container_fixture.h"
#include "test_support.h"

#include "berth/runtime/capabilities.h"
#include "berth/runtime/seccomp.h"

namespace berth::runtime::testing {
namespace {

using ContainerIsolationTest = ContainerTest;

// The line of /proc/self/status starting with `key`, without the key.
std::string StatusField(const std::string& status, const std::string& key) {
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      size_t v = line.find_first_not_of(" \t", key.size() + 1);
      return v == std::string::npos ? "" : line.substr(v);
    }
  }
  return "<missing " + key + ">";
}

std::string CapMask(const std::vector<std::string>& names) {
  uint64_t mask = 0;
  for (const auto& n : names) {
    auto bit = ParseCapability(n);
    if (bit.ok()) mask |= uint64_t{1} << *bit;
  }
  char buf[32];
  snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(mask));
  return buf;
}

TEST_F(ContainerIsolationTest, EchoRunsAsPidOneWithHostname) {
  Spec s = BaseSpec({"sh", "-c", "echo pid=$$; hostname"});
  // The plain start: pid, mount, uts and ipc namespaces only.
  s.linux_spec->namespaces = {{NamespaceType::kPid, ""},
                              {NamespaceType::kMount, ""},
                              {NamespaceType::kUts, ""},
                              {NamespaceType::kIpc, ""}};
  s.mounts.erase(s.mounts.end() - 1);  // cgroup2 needs its own cgroup namespace
  auto r = Run(s, "echo");
  ASSERT_OK(r);
  EXPECT_TRUE(r->Exited(0)) << r->status << " " << r->err;
  EXPECT_EQ(r->out, "pid=1\nberth-test\n") << r->err;
}

TEST_F(ContainerIsolationTest, SpecMountsAndDevicesArePresent) {
  Spec s = BaseSpec({"sh", "-c",
                     "cat /proc/self/mountinfo; echo ---; stat -c '%n %F %t:%T' /dev/null "
                     "/dev/zero /dev/full /dev/random /dev/urandom /dev/tty; for l in fd stdin "
                     "stdout stderr ptmx; do readlink /dev/$l; done; touch /rootfs-write || "
                     "echo root-readonly"});
  auto r = Run(s, "mounts");
  ASSERT_OK(r);
  ASSERT_TRUE(r->Exited(0)) << r->err;
  for (const char* want : {"/rootfs / ro,", " /proc rw,", " /dev rw,", " /dev/pts rw,",
                           " /dev/shm rw,", " /dev/mqueue rw,", " /sys ro,", " /sys/fs/cgroup ro,",
                           " - cgroup2 ", " - devpts ", " - mqueue ", "ptmxmode=666"}) {
    EXPECT_NE(r->out.find(want), std::string::npos) << "missing '" << want << "' in\n" << r->out;
  }
  for (const char* want :
       {"/dev/null character special file 1:3", "/dev/zero character special file 1:5",
        "/dev/full character special file 1:7", "/dev/random character special file 1:8",
        "/dev/urandom character special file 1:9", "/dev/tty character special file 5:0",
        "/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\npts/ptmx\n",
        "root-readonly"}) {
    EXPECT_NE(r->out.find(want), std::string::npos) << "missing '" << want << "' in\n" << r->out;
  }
}

TEST_F(ContainerIsolationTest, MaskedAndReadonlyPaths) {
  // /proc/kcore is masked where the kernel has it (this host's has not);
  // /proc/timer_list and /proc/keys exist everywhere.
  std::string kcore = std::filesystem::exists("/proc/kcore") ? " /proc/kcore" : "";
  Spec s = BaseSpec(
      {"sh", "-c",
       "for f in /proc/timer_list /proc/keys" + kcore +
           "; do stat -L -c '%t:%T' $f; wc -c < $f; done; ls -A /sys/firmware | wc -l; "
           "echo 0 > /proc/sys/net/ipv4/ip_forward && echo sys-writable || echo sys-readonly; "
           "grep ' /proc/sys ' /proc/self/mountinfo"});
  auto r = Run(s, "masked");
  ASSERT_OK(r);
  ASSERT_TRUE(r->Exited(0)) << r->err;
  // Masked files are /dev/null now: empty; /sys/firmware an empty tmpfs.
  std::string masked = kcore.empty() ? "1:3\n0\n1:3\n0\n0\n" : "1:3\n0\n1:3\n0\n1:3\n0\n0\n";
  EXPECT_EQ(r->out.substr(0, r->out.find("sys-")), masked) << r->out << r->err;
  EXPECT_NE(r->out.find("sys-readonly"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find(" /proc/sys ro,"), std::string::npos) << r->out;
  EXPECT_NE(r->err.find("Read-only file system"), std::string::npos) << r->err;
}

TEST_F(ContainerIsolationTest, CapabilitiesNoNewPrivsAndSeccomp) {
  Spec s = BaseSpec({"sh", "-c", "cat /proc/self/status; unshare -n true && echo unshared"});
  s.linux_spec->seccomp = DefaultSeccompProfile();
  auto r = Run(s, "caps");
  ASSERT_OK(r);
  const Capabilities& caps = *s.process->capabilities;
  EXPECT_EQ(StatusField(r->out, "CapEff"), CapMask(caps.effective)) << r->out;
  EXPECT_EQ(StatusField(r->out, "CapPrm"), CapMask(caps.permitted)) << r->out;
  EXPECT_EQ(StatusField(r->out, "CapBnd"), CapMask(caps.bounding)) << r->out;
  EXPECT_EQ(StatusField(r->out, "CapAmb"), CapMask(caps.ambient)) << r->out;
  EXPECT_EQ(StatusField(r->out, "NoNewPrivs"), "1");
  EXPECT_EQ(StatusField(r->out, "Seccomp"), "2");
  // unshare(CLONE_NEWNET) is refused (the profile allows it only with
  // CAP_SYS_ADMIN), so the && branch never runs.
  EXPECT_EQ(r->out.find("unshared"), std::string::npos) << r->out;
  EXPECT_NE(r->err.find("Operation not permitted"), std::string::npos) << r->err;
  EXPECT_FALSE(r->Exited(0));
}

TEST_F(ContainerIsolationTest, SeccompRefusesWhatTheProfileRefuses) {
  // Root may mkdir in /tmp (a tmpfs of its own): only the filter refuses it.
  // Without no_new_privs the filter is loaded early, while the init still
  // holds CAP_SYS_ADMIN (runc's order).
  Spec s = BaseSpec({"sh", "-c", "mkdir /tmp/a && echo made; cat /proc/self/status"});
  s.process->no_new_privileges = false;
  Seccomp deny_mkdir;
  deny_mkdir.default_action = "SCMP_ACT_ALLOW";
  deny_mkdir.syscalls.push_back({{"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO", EPERM, {}});
  s.linux_spec->seccomp = deny_mkdir;
  auto r = Run(s, "seccomp");
  ASSERT_OK(r);
  EXPECT_EQ(r->out.find("made"), std::string::npos) << r->out;
  EXPECT_NE(r->err.find("Operation not permitted"), std::string::npos) << r->err;
  EXPECT_EQ(StatusField(r->out, "Seccomp"), "2");
  EXPECT_EQ(StatusField(r->out, "NoNewPrivs"), "0");
}

TEST_F(ContainerIsolationTest, UserGroupsUmaskCwdAndEnv) {
  Spec s = BaseSpec({"sh", "-c", "id; umask; pwd; env | grep -v '^PWD=\\|^SHLVL=' | sort"});
  s.process->user.uid = 1000;
  s.process->user.gid = 1001;
  s.process->user.additional_gids = {10, 20};
  s.process->user.umask = 027;
  s.process->cwd = "/work/sub";  // missing: created, as runc does
  s.process->env = {"FOO=bar"};  // no PATH: the default one is added
  auto r = Run(s, "ident");
  ASSERT_OK(r);
  ASSERT_TRUE(r->Exited(0)) << r->err;
  EXPECT_EQ(r->out,
            "uid=1000 gid=1001 groups=10,20\n0027\n/work/sub\nFOO=bar\n"
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n")
      << r->err;
}

TEST_F(ContainerIsolationTest, RlimitsOomScoreAndSysctls) {
  Spec s = BaseSpec({"sh", "-c",
                     "ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj "
                     "/proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"});
  s.process->rlimits = {{"RLIMIT_NOFILE", 512, 256}};
  s.process->oom_score_adj = 123;
  s.linux_spec->sysctl = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmni", "1234"}};
  s.linux_spec->readonly_paths.clear();  // /proc/sys read-only does not bind the init itself
  auto r = Run(s, "limits");
  ASSERT_OK(r);
  ASSERT_TRUE(r->Exited(0)) << r->err;
  EXPECT_EQ(r->out, "256\n512\n123\n1\n1234\n");
}

TEST_F(ContainerIsolationTest, RlimitAboveHardLimitIsAnErrorNamingIt) {
  Spec s = BaseSpec({"true"});
  s.process->rlimits = {{"RLIMIT_NOFILE", uint64_t{1} << 40, 1024}};
  auto r = Run(s, "rlimit");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("RLIMIT_NOFILE"), std::string::npos) << r.error().ToString();
  EXPECT_EQ(r.error().err(), EPERM) << r.error().ToString();
  EXPECT_FALSE(std::filesystem::exists(CgroupDir("rlimit")));
}

TEST_F(ContainerIsolationTest, NonNamespacedSysctlIsRefused) {
  Spec s = BaseSpec({"true"});
  s.linux_spec->sysctl = {{"kernel.panic", "10"}};
  auto r = Run(s, "sysctl");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), EINVAL);
  EXPECT_NE(r.error().ToString().find("kernel.panic"), std::string::npos) << r.error().ToString();
}

}  // namespace
}  // namespace berth::runtime::testing
