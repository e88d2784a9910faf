// berth-runtime on the real kernel: isolation, lifecycle, exec, cleanup.
#include <poll.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "runtime_fixture.h"
#include "test_support.h"

namespace berth::runtime::testing {
namespace {

using nlohmann::json;

class RuntimeKernelTest : public RuntimeTest {
 protected:
  CommandResult RunSh(const std::string& id, const std::string& script,
                      const std::function<void(json&)>& edit = {}) {
    json c = BaseConfig({"sh", "-c", script}, id);
    if (edit) edit(c);
    WriteConfig(c);
    return Runtime({"run", "--bundle", bundle_.string(), id});
  }

  std::string State(const std::string& id) {
    auto r = Runtime({"state", id});
    auto j = json::parse(r.out, nullptr, false);
    return j.is_object() ? j.value("status", "") : "";
  }

  // Waits for a state; polls because a background `run` races the check.
  bool WaitState(const std::string& id, const std::string& want) {
    for (int i = 0; i < 200; ++i) {
      if (State(id) == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
};

TEST_F(RuntimeKernelTest, ProcessIsPid1WithHostname) {
  auto r = RunSh("pid1", "echo $$; hostname");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\nberth-test\n");
}

TEST_F(RuntimeKernelTest, MountsMaskedAndReadonlyPaths) {
  auto r = RunSh("mounts",
                 "grep ' /proc ' /proc/self/mountinfo | grep -c ' - proc ';"
                 "cat /proc/kcore | wc -c;"
                 "grep ' /proc/sys ' /proc/self/mountinfo | grep -c ' ro,';"
                 "touch /bin/x 2>&1 | grep -c 'Read-only';"
                 "stat -c %F /dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n0\n1\n1\ncharacter special file\n");
}

TEST_F(RuntimeKernelTest, CapabilitiesAreDropped) {
  auto r = RunSh("caps", "grep -E '^Cap(Eff|Prm|Bnd|Inh|Amb)' /proc/self/status", [](json& c) {
    c["process"]["capabilities"] = {{"bounding", {"CAP_KILL", "CAP_CHOWN"}},
                                    {"effective", {"CAP_KILL"}},
                                    {"permitted", {"CAP_KILL", "CAP_CHOWN"}}};
  });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // CAP_CHOWN = 0, CAP_KILL = 5. execve recomputes: a root process gets
  // effective = permitted (see man 7 capabilities), so look at Bnd and Prm.
  EXPECT_NE(r.out.find("CapPrm:\t0000000000000021"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapBnd:\t0000000000000021"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapInh:\t0000000000000000"), std::string::npos) << r.out;
}

TEST_F(RuntimeKernelTest, SeccompRefusesWhatTheProfileRefuses) {
  auto r = RunSh(
      "seccomp", "mkdir /tmp/a 2>&1; echo rc=$?; grep Seccomp: /proc/self/status", [](json& c) {
        c["linux"]["seccomp"] = {
            {"defaultAction", "SCMP_ACT_ALLOW"},
            {"architectures", {"SCMP_ARCH_X86_64"}},
            {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}}}}};
      });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Operation not permitted"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Seccomp:\t2"), std::string::npos) << r.out;  // filter mode
}

TEST_F(RuntimeKernelTest, NoNewPrivilegesIsSet) {
  auto r = RunSh("nnp", "grep NoNewPrivs /proc/self/status");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "NoNewPrivs:\t1\n");
}

TEST_F(RuntimeKernelTest, UserAndGroupsApplied) {
  auto r = RunSh("uid", "id", [](json& c) {
    c["process"]["user"] = {{"uid", 1000}, {"gid", 1001}, {"additionalGids", {10, 20}}};
  });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "uid=1000 gid=1001 groups=10,20\n");
}

TEST_F(RuntimeKernelTest, RlimitsSysctlsAndOomScoreApplied) {
  auto r =
      RunSh("limits", "ulimit -n; cat /proc/sys/net/ipv4/ip_forward; cat /proc/self/oom_score_adj",
            [](json& c) {
              c["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"hard", 512}, {"soft", 256}}};
              c["process"]["oomScoreAdj"] = 123;
              c["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
            });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "256\n1\n123\n");
}

TEST_F(RuntimeKernelTest, HostSysctlIsRefused) {
  auto r = RunSh("sysctl", "true", [](json& c) {
    c["linux"]["sysctl"] = {{"vm.swappiness", "1"}};
  });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("\"vm.swappiness\" is not namespaced"), std::string::npos) << r.err;
}

TEST_F(RuntimeKernelTest, JsonLogCarriesErrors) {
  WriteConfig(BaseConfig({"/bin/nope"}, "jsonlog"));
  std::string log = (dir_ / "log.json").string();
  auto r = Runtime(
      {"--log", log, "--log-format", "json", "run", "--bundle", bundle_.string(), "jsonlog"});
  EXPECT_EQ(r.exit_code, 1);
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line)) last = line;
  auto j = json::parse(last, nullptr, false);
  ASSERT_TRUE(j.is_object()) << last;
  EXPECT_EQ(j["level"], "error");
  EXPECT_NE(j["msg"].get<std::string>().find("exec /bin/nope"), std::string::npos) << last;
}

TEST_F(RuntimeKernelTest, ExitCodePropagates) {
  auto r = RunSh("exit3", "exit 3");
  EXPECT_EQ(r.exit_code, 3) << r.err;
}

TEST_F(RuntimeKernelTest, SignalPropagatesAsExitCode) {
  WriteConfig(BaseConfig({"sleep", "30"}, "sig"));
  CommandResult run;
  std::thread bg([&] { run = Runtime({"run", "--bundle", bundle_.string(), "sig"}); });
  bool running = WaitState("sig", "running");
  auto k = Runtime({"kill", "sig", "KILL"});
  bg.join();
  ASSERT_TRUE(running);
  EXPECT_EQ(k.exit_code, 0) << k.err;
  EXPECT_EQ(run.exit_code, 128 + SIGKILL) << run.err;
}

TEST_F(RuntimeKernelTest, LifecycleAndCleanup) {
  WriteConfig(BaseConfig({"sleep", "30"}, "life"));
  auto c = Runtime({"create", "--bundle", bundle_.string(), "life"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(State("life"), "created");
  ASSERT_EQ(Runtime({"start", "life"}).exit_code, 0);
  EXPECT_EQ(State("life"), "running");
  auto ps = Runtime({"ps", "--format", "json", "life"});
  EXPECT_EQ(json::parse(ps.out, nullptr, false).size(), 1u) << ps.out;
  ASSERT_EQ(Runtime({"pause", "life"}).exit_code, 0);
  EXPECT_EQ(State("life"), "paused");
  ASSERT_EQ(Runtime({"resume", "life"}).exit_code, 0);
  EXPECT_EQ(State("life"), "running");
  auto refused = Runtime({"delete", "life"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("not stopped"), std::string::npos) << refused.err;
  ASSERT_EQ(Runtime({"kill", "life", "KILL"}).exit_code, 0);
  EXPECT_TRUE(WaitState("life", "stopped"));
  auto d = Runtime({"delete", "life"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_FALSE(std::filesystem::exists(CgroupDir("life")));
  EXPECT_FALSE(std::filesystem::exists(root_ / "life"));
  EXPECT_EQ(Runtime({"state", "life"}).exit_code, 1);
}

TEST_F(RuntimeKernelTest, ExecJoinsTheContainer) {
  WriteConfig(BaseConfig({"sleep", "30"}, "ex"));
  ASSERT_EQ(Runtime({"run", "-d", "--bundle", bundle_.string(), "ex"}).exit_code, 0);
  auto e = Runtime({"exec", "ex", "sh", "-c", "hostname; ps -o pid,comm | grep -c sleep; exit 5"});
  EXPECT_EQ(e.exit_code, 5) << e.err;
  EXPECT_EQ(e.out, "berth-test\n1\n");
  auto missing = Runtime({"exec", "ex", "/bin/nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("exec /bin/nope"), std::string::npos) << missing.err;
  EXPECT_EQ(Runtime({"delete", "-f", "ex"}).exit_code, 0);
}

TEST_F(RuntimeKernelTest, UserNamespaceMapsRoot) {
  REQUIRE_FEATURE(berth::testing::Feature::kUserNamespace);
  // The mapped root (host uid 100000) must be able to reach the rootfs, as
  // with crun and runc.
  std::filesystem::permissions(dir_, std::filesystem::perms(0755));
  auto r = RunSh("userns", "cat /proc/self/uid_map; id -u", [](json& c) {
    c["linux"]["namespaces"].push_back({{"type", "user"}});
    c["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    c["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0     100000      65536"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n0\n"), std::string::npos) << r.out;
}

TEST_F(RuntimeKernelTest, JoinsAnExistingNetworkNamespace) {
  std::string name = "berth-test-" + std::to_string(::getpid());
  auto add = RunCommand({"/usr/bin/unshare", "--net=/run/berth-test-netns-" + name, "true"});
  std::string path = "/run/berth-test-netns-" + name;
  if (add.exit_code != 0) {
    // unshare --net=<file> needs the file to exist on a private mount.
    std::ofstream(path).close();
    add = RunCommand({"/usr/bin/unshare", "--net=" + path, "true"});
  }
  ASSERT_EQ(add.exit_code, 0) << add.err;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  auto r = RunSh("joinnet", "stat -L -c %i /proc/self/ns/net", [&](json& c) {
    for (auto& ns : c["linux"]["namespaces"]) {
      if (ns["type"] == "network") ns["path"] = path;
    }
  });
  RunCommand({"/bin/umount", path});
  ::unlink(path.c_str());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::to_string(st.st_ino) + "\n");
}

TEST_F(RuntimeKernelTest, MissingBinaryLeavesNothingBehind) {
  WriteConfig(BaseConfig({"/bin/nope"}, "nobin"));
  auto r = Runtime({"run", "--bundle", bundle_.string(), "nobin"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("exec /bin/nope: No such file or directory"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(CgroupDir("nobin")));
  EXPECT_FALSE(std::filesystem::exists(root_ / "nobin"));
}

TEST_F(RuntimeKernelTest, FailedMountIsReportedAndUnwound) {
  json c = BaseConfig({"true"}, "badmount");
  c["mounts"].push_back({{"destination", "/mnt"}, {"type", "nosuchfs"}, {"source", "x"}});
  WriteConfig(c);
  auto r = Runtime({"create", "--bundle", bundle_.string(), "badmount"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("mount nosuchfs x on /mnt"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(CgroupDir("badmount")));
  EXPECT_FALSE(std::filesystem::exists(root_ / "badmount"));
}

TEST_F(RuntimeKernelTest, TerminalThroughConsoleSocket) {
  std::string sock_path = (dir_ / "console.sock").string();
  int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, sock_path.c_str(), sock_path.size());
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  json c = BaseConfig({"sh", "-c", "tty; stty size"}, "tty");
  c["process"]["terminal"] = true;
  c["process"]["consoleSize"] = {{"height", 33}, {"width", 101}};
  WriteConfig(c);
  CommandResult created;
  std::thread bg([&] {
    created =
        Runtime({"create", "--console-socket", sock_path, "--bundle", bundle_.string(), "tty"});
  });
  struct pollfd pfd {
    listener, POLLIN, 0
  };
  int conn = ::poll(&pfd, 1, 10000) == 1 ? ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC) : -1;
  UniqueFd master = conn >= 0 ? berth::testing::ReceiveFd(conn) : UniqueFd();
  bg.join();
  ::close(listener);
  if (conn >= 0) ::close(conn);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ASSERT_TRUE(master);
  ASSERT_EQ(Runtime({"start", "tty"}).exit_code, 0);
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(master.get(), buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  master.reset();
  EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
  EXPECT_NE(out.find("33 101"), std::string::npos) << out;
}

TEST_F(RuntimeKernelTest, DuplicateAndUnknownIdsAreErrors) {
  WriteConfig(BaseConfig({"sleep", "30"}, "dup"));
  ASSERT_EQ(Runtime({"create", "--bundle", bundle_.string(), "dup"}).exit_code, 0);
  auto again = Runtime({"create", "--bundle", bundle_.string(), "dup"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("\"dup\" already exists"), std::string::npos) << again.err;
  auto unknown = Runtime({"state", "nosuch"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("\"nosuch\" does not exist"), std::string::npos) << unknown.err;
  auto bad = Runtime({"state", "../etc"});
  EXPECT_NE(bad.err.find("invalid container id"), std::string::npos) << bad.err;
  EXPECT_EQ(Runtime({"delete", "-f", "dup"}).exit_code, 0);
}

}  // namespace
}  // namespace berth::runtime::testing
