// Container lifecycle through the library: exit statuses, the exec fifo,
// exec into a running container, user namespaces, namespaces joined by
// path, the console socket, preserved fds, and cleanup after failures.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <thread>

#include "container_fixture.h"
#include "test_support.h"

#include "berth/common/file.h"

namespace berth::runtime::testing {
namespace {

using ContainerLifecycleTest = ContainerTest;

// No process of this test binary is left: every child was reaped.
bool NoChildrenLeft() {
  int status;
  return ::waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

TEST_F(ContainerLifecycleTest, ExitCodesAndSignalsPropagate) {
  auto exit3 = Run(BaseSpec({"sh", "-c", "exit 3"}), "exit3");
  ASSERT_OK(exit3);
  EXPECT_TRUE(exit3->Exited(3)) << exit3->status;

  // A pid namespace's init ignores SIGKILL sent from inside it (see man 7
  // pid_namespaces), so the self-kill runs without one.
  Spec s = BaseSpec({"sh", "-c", "kill -9 $$"});
  s.linux_spec->namespaces.erase(s.linux_spec->namespaces.begin());  // kPid
  auto killed = Run(s, "kill9");
  ASSERT_OK(killed);
  EXPECT_TRUE(WIFSIGNALED(killed->status) && WTERMSIG(killed->status) == SIGKILL) << killed->status;
}

TEST_F(ContainerLifecycleTest, InitWaitsOnTheFifoUntilStart) {
  StdioCapture cap;
  auto init = Create(Options(BaseSpec({"echo", "started"}), "fifo"), &cap);
  ASSERT_OK(init);
  EXPECT_GT(init->start_time, 0u);
  auto st = ProcessStartTime(init->pid);
  ASSERT_OK(st);
  EXPECT_EQ(*st, init->start_time);
  // In its cgroup before any user code ran.
  auto procs = ReadFile(CgroupDir("fifo") + "/cgroup.procs");
  ASSERT_OK(procs);
  EXPECT_EQ(*procs, std::to_string(init->pid) + "\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int status;
  EXPECT_EQ(::waitpid(init->pid, &status, WNOHANG), 0) << "init ran before start";
  ASSERT_OK(StartInit(Fifo("fifo")));
  EXPECT_FALSE(std::filesystem::exists(Fifo("fifo")));
  Exit e = Wait(init->pid, &cap);
  EXPECT_TRUE(e.Exited(0)) << e.err;
  EXPECT_EQ(e.out, "started\n");
}

TEST_F(ContainerLifecycleTest, ExecJoinsTheRunningContainer) {
  StdioCapture init_cap;
  auto init = Create(Options(BaseSpec({"sleep", "30"}), "exec"), &init_cap);
  ASSERT_OK(init);
  ASSERT_OK(StartInit(Fifo("exec"), init->pid));

  ExecOptions eo;
  eo.init_pid = init->pid;
  eo.cgroup_mount = cgroup_mount_;
  eo.cgroup_path = cgroup_parent_ + "/exec";
  eo.process = *BaseSpec({}).process;
  eo.process.args = {"sh", "-c",
                     "hostname; readlink /proc/self/ns/pid; cat /proc/1/cmdline; echo; "
                     "grep CapEff /proc/self/status; exit 7"};
  StdioCapture cap;
  auto pid = Exec(eo, &cap);
  ASSERT_OK(pid);
  Exit e = Wait(*pid, &cap);
  EXPECT_TRUE(e.Exited(7)) << e.status << " " << e.err;
  char host_ns[64] = {};
  std::string ns_link = "/proc/" + std::to_string(init->pid) + "/ns/pid";
  ASSERT_GT(::readlink(ns_link.c_str(), host_ns, sizeof(host_ns) - 1), 0);
  std::string cmdline(
      "sleep\0"
      "30\0",
      9);
  EXPECT_EQ(e.out, "berth-test\n" + std::string(host_ns) + "\n" + cmdline +
                       "\nCapEff:\t0000000020000420\n")
      << e.err;

  // An exec error comes back as the caller's Error, nothing left behind.
  eo.process.args = {"/bin/nope"};
  StdioCapture cap2;
  auto bad = Exec(eo, &cap2);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().err(), ENOENT);
  EXPECT_NE(bad.error().ToString().find("exec /bin/nope"), std::string::npos)
      << bad.error().ToString();
  auto procs = ReadFile(CgroupDir("exec") + "/cgroup.procs");
  ASSERT_OK(procs);
  EXPECT_EQ(*procs, std::to_string(init->pid) + "\n");
}

TEST_F(ContainerLifecycleTest, MissingBinaryLeavesNothingBehind) {
  auto r = Run(BaseSpec({"/bin/nope"}), "nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), ENOENT);
  EXPECT_NE(r.error().ToString().find("exec /bin/nope"), std::string::npos) << r.error().ToString();
  EXPECT_FALSE(std::filesystem::exists(CgroupDir("nope")));
  EXPECT_FALSE(std::filesystem::exists(Fifo("nope")));
  EXPECT_TRUE(NoChildrenLeft());

  auto viaPath = Run(BaseSpec({"nope-in-path"}), "nope2");
  ASSERT_FALSE(viaPath.ok());
  EXPECT_EQ(viaPath.error().err(), ENOENT);
  EXPECT_NE(viaPath.error().ToString().find("nope-in-path"), std::string::npos);
}

TEST_F(ContainerLifecycleTest, BadMountIsReportedAndUnwound) {
  Spec s = BaseSpec({"true"});
  s.mounts.push_back({"/mnt/x", "no-such-fs", "none", {}});
  auto r = Run(s, "badmount");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), ENODEV) << r.error().ToString();
  EXPECT_NE(r.error().ToString().find("/mnt/x"), std::string::npos) << r.error().ToString();
  EXPECT_FALSE(std::filesystem::exists(CgroupDir("badmount")));
  EXPECT_FALSE(std::filesystem::exists(Fifo("badmount")));
  EXPECT_TRUE(NoChildrenLeft());

  // A bind source outside the bundle that is missing names the source.
  Spec b = BaseSpec({"true"});
  b.mounts.push_back({"/mnt/y", "bind", "/nonexistent-" + suffix_, {"rbind", "ro"}});
  auto rb = Run(b, "badbind");
  ASSERT_FALSE(rb.ok());
  EXPECT_EQ(rb.error().err(), ENOENT);
  EXPECT_NE(rb.error().ToString().find("/nonexistent-" + suffix_), std::string::npos);
}

TEST_F(ContainerLifecycleTest, ReadonlyBindMountAndSymlinkEscape) {
  std::filesystem::create_directories(dir_ / "shared");
  std::ofstream(dir_ / "shared" / "file") << "from host\n";
  // A symlink in the rootfs pointing at the host's /tmp: the mount lands
  // inside the rootfs, never on the host path.
  std::filesystem::create_symlink("/tmp", bundle_ / "rootfs" / "escape");
  Spec s = BaseSpec({"sh", "-c",
                     "cat /data/file; touch /data/new || echo bind-readonly; ls /escape/"
                     "berth-target-" +
                         suffix_ + "/file"});
  s.mounts.push_back({"/data", "bind", (dir_ / "shared").string(), {"rbind", "ro", "nosuid"}});
  s.mounts.push_back(
      {"/escape/berth-target-" + suffix_, "bind", (dir_ / "shared").string(), {"bind"}});
  auto r = Run(s, "bind");
  ASSERT_OK(r);
  EXPECT_EQ(r->out, "from host\nbind-readonly\n/escape/berth-target-" + suffix_ + "/file\n")
      << r->err;
  EXPECT_FALSE(std::filesystem::exists("/tmp/berth-target-" + suffix_));
  EXPECT_TRUE(std::filesystem::exists(bundle_ / ("rootfs/tmp/berth-target-" + suffix_)));
}

TEST_F(ContainerLifecycleTest, UserNamespaceMapsRootToAnUnprivilegedUid) {
  REQUIRE_FEATURE(berth::testing::Feature::kUserNamespace);
  Spec s = BaseSpec({"sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id"});
  s.linux_spec->namespaces.push_back({NamespaceType::kUser, ""});
  s.linux_spec->uid_mappings = {{0, 200000, 65536}};
  s.linux_spec->gid_mappings = {{0, 200000, 65536}};
  StdioCapture cap;
  auto init = Create(Options(s, "userns"), &cap);
  ASSERT_OK(init);
  // Blocked on the fifo as the container's root: host uid 200000.
  auto status = ReadFile("/proc/" + std::to_string(init->pid) + "/status");
  ASSERT_OK(status);
  EXPECT_NE(status->find("Uid:\t200000\t200000\t200000\t200000"), std::string::npos) << *status;
  EXPECT_NE(status->find("Gid:\t200000\t200000\t200000\t200000"), std::string::npos) << *status;
  ASSERT_OK(StartInit(Fifo("userns"), init->pid));
  Exit e = Wait(init->pid, &cap);
  EXPECT_TRUE(e.Exited(0)) << e.err;
  EXPECT_NE(e.out.find("         0     200000      65536\n         0     200000      65536\n"
                       "uid=0 gid=0"),
            std::string::npos)
      << e.out << e.err;
}

TEST_F(ContainerLifecycleTest, ExecJoinsAUserNamespacedContainer) {
  REQUIRE_FEATURE(berth::testing::Feature::kUserNamespace);
  Spec s = BaseSpec({"sleep", "30"});
  s.linux_spec->namespaces.push_back({NamespaceType::kUser, ""});
  s.linux_spec->uid_mappings = {{0, 200000, 65536}};
  s.linux_spec->gid_mappings = {{0, 200000, 65536}};
  StdioCapture init_cap;
  auto init = Create(Options(s, "usernsexec"), &init_cap);
  ASSERT_OK(init);
  ASSERT_OK(StartInit(Fifo("usernsexec"), init->pid));
  ExecOptions eo;
  eo.init_pid = init->pid;
  eo.cgroup_mount = cgroup_mount_;
  eo.cgroup_path = cgroup_parent_ + "/usernsexec";
  eo.process = *s.process;
  eo.process.user.uid = 1000;
  eo.process.user.gid = 1000;
  eo.process.args = {"sh", "-c", "id; cat /proc/self/uid_map; grep Uid /proc/self/status"};
  StdioCapture cap;
  auto pid = Exec(eo, &cap);
  ASSERT_OK(pid);
  Exit e = Wait(*pid, &cap);
  EXPECT_TRUE(e.Exited(0)) << e.err;
  // Container uid 1000 is host uid 201000; /proc inside shows it mapped.
  EXPECT_EQ(e.out,
            "uid=1000 gid=1000\n         0     200000      65536\nUid:\t1000\t1000\t1000\t1000\n")
      << e.err;
}

TEST_F(ContainerLifecycleTest, JoinsNetworkAndPidNamespacesByPath) {
  // A holder process in a fresh network namespace and, as pid 1 of a fresh
  // pid namespace, a sleeping grandchild; the container joins both.
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  pid_t holder = ::fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    if (::unshare(CLONE_NEWNET | CLONE_NEWPID) < 0) _exit(1);
    pid_t inner = ::fork();
    if (inner == 0) {
      ::close(ready[1]);
      ::pause();
      _exit(0);
    }
    (void)!::write(ready[1], &inner, sizeof(inner));
    int st;
    ::waitpid(inner, &st, 0);
    _exit(0);
  }
  pids_.push_back(holder);
  ::close(ready[1]);
  pid_t inner = -1;
  ASSERT_EQ(::read(ready[0], &inner, sizeof(inner)), static_cast<ssize_t>(sizeof(inner)));
  ::close(ready[0]);
  // fork() in the holder returned the host pid of the new namespace's init:
  // TearDown kills it first, which takes the namespace (and the container
  // joined to it) down.
  pids_.insert(pids_.begin(), inner);
  std::string netns = dir_ / "netns";
  std::ofstream(netns).close();
  ASSERT_EQ(::mount(("/proc/" + std::to_string(holder) + "/ns/net").c_str(), netns.c_str(), nullptr,
                    MS_BIND, nullptr),
            0);
  mounts_.push_back(netns);
  std::string pidns = "/proc/" + std::to_string(holder) + "/ns/pid_for_children";

  Spec s = BaseSpec({"sh", "-c", "echo pid=$$"});
  for (auto& ns : s.linux_spec->namespaces) {
    if (ns.type == NamespaceType::kNetwork) ns.path = netns;
    if (ns.type == NamespaceType::kPid) ns.path = pidns;
  }
  ino_t my_pid_ns = NamespaceInode("/proc/self/ns/pid_for_children");
  StdioCapture cap;
  auto init = Create(Options(s, "joinns"), &cap);
  ASSERT_OK(init);
  // Joining a pid namespace for the init must not leave the caller's
  // children there.
  EXPECT_EQ(NamespaceInode("/proc/self/ns/pid_for_children"), my_pid_ns);
  std::string ns = "/proc/" + std::to_string(init->pid) + "/ns/";
  EXPECT_EQ(NamespaceInode(ns + "net"), NamespaceInode(netns));
  EXPECT_EQ(NamespaceInode(ns + "pid"), NamespaceInode(pidns));
  ASSERT_OK(StartInit(Fifo("joinns"), init->pid));
  Exit e = Wait(init->pid, &cap);
  EXPECT_TRUE(e.Exited(0)) << e.err;
  EXPECT_EQ(e.out, "pid=2\n");  // pid 1 is the holder's sleeping child
}

TEST_F(ContainerLifecycleTest, JoinsUserNamespaceByPathAndOwnsItsNewNamespaces) {
  REQUIRE_FEATURE(berth::testing::Feature::kUserNamespace);
  // A holder in a fresh user namespace (root -> host 300000) whose child is
  // pid 1 of a pid namespace owned by it, like a pod sandbox with a userns.
  int up[2], down[2];
  ASSERT_EQ(::pipe2(up, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(down, O_CLOEXEC), 0);
  pid_t holder = ::fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    char go;
    if (::unshare(CLONE_NEWUSER) < 0) _exit(1);
    if (::write(up[1], "u", 1) != 1 || ::read(down[0], &go, 1) != 1) _exit(1);
    if (::unshare(CLONE_NEWPID) < 0) _exit(1);
    pid_t inner = ::fork();
    if (inner == 0) {
      ::pause();
      _exit(0);
    }
    (void)!::write(up[1], &inner, sizeof(inner));
    int st;
    ::waitpid(inner, &st, 0);
    _exit(0);
  }
  pids_.push_back(holder);
  ::close(up[1]);
  ::close(down[0]);
  char u;
  ASSERT_EQ(::read(up[0], &u, 1), 1);
  std::string h = "/proc/" + std::to_string(holder);
  ASSERT_OK(WriteFile(h + "/uid_map", "0 300000 65536\n"));
  ASSERT_OK(WriteFile(h + "/gid_map", "0 300000 65536\n"));
  ASSERT_EQ(::write(down[1], "g", 1), 1);
  ::close(down[1]);
  pid_t inner = -1;
  ASSERT_EQ(::read(up[0], &inner, sizeof(inner)), static_cast<ssize_t>(sizeof(inner)));
  ::close(up[0]);
  pids_.insert(pids_.begin(), inner);

  Spec s = BaseSpec({"sh", "-c", "id; cat /proc/self/uid_map; echo pid=$$; hostname"});
  s.linux_spec->namespaces.push_back({NamespaceType::kUser, h + "/ns/user"});
  for (auto& ns : s.linux_spec->namespaces) {
    if (ns.type == NamespaceType::kPid) ns.path = h + "/ns/pid_for_children";
  }
  StdioCapture cap;
  auto init = Create(Options(s, "joinuser"), &cap);
  ASSERT_OK(init);
  std::string ns = "/proc/" + std::to_string(init->pid) + "/ns/";
  EXPECT_EQ(NamespaceInode(ns + "user"), NamespaceInode(h + "/ns/user"));
  auto status = ReadFile("/proc/" + std::to_string(init->pid) + "/status");
  ASSERT_OK(status);
  EXPECT_NE(status->find("Uid:\t300000\t300000\t300000\t300000"), std::string::npos) << *status;
  ASSERT_OK(StartInit(Fifo("joinuser"), init->pid));
  Exit e = Wait(init->pid, &cap);
  EXPECT_TRUE(e.Exited(0)) << e.err;
  EXPECT_EQ(e.out, "uid=0 gid=0\n         0     300000      65536\npid=2\nberth-test\n") << e.err;

  // A new pid namespace cannot be made inside a joined user namespace here:
  // refused up front, nothing left behind.
  Spec bad = BaseSpec({"true"});
  bad.linux_spec->namespaces.push_back({NamespaceType::kUser, h + "/ns/user"});
  auto r = Run(bad, "joinuser2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().err(), EINVAL);
  EXPECT_NE(r.error().ToString().find("pid namespace"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(CgroupDir("joinuser2")));
}

TEST_F(ContainerLifecycleTest, TerminalThroughConsoleSocket) {
  std::string path = (dir_ / "console.sock").string();
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener.valid());
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.c_str(), path.size());
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  Spec s = BaseSpec({"sh", "-c", "tty; stty size"});
  s.process->terminal = true;
  s.process->console_size = ConsoleSize{33, 101};
  InitOptions o = Options(s, "tty");
  o.console_socket = path;
  Result<InitProcess> init = Error::Msg("not run");
  std::thread bg([&] { init = SpawnInit(o); });
  struct pollfd pfd {
    listener.get(), POLLIN, 0
  };
  UniqueFd conn;
  if (::poll(&pfd, 1, 10000) == 1) {
    conn.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  }
  UniqueFd master = conn ? berth::testing::ReceiveFd(conn.get()) : UniqueFd();
  bg.join();
  ASSERT_OK(init);
  pids_.push_back(init->pid);
  ASSERT_TRUE(master.valid());
  ASSERT_OK(StartInit(Fifo("tty"), init->pid));
  Exit e = Wait(init->pid, nullptr);  // its stdio is the pty
  EXPECT_TRUE(e.Exited(0)) << e.status;
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(master.get(), buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
  EXPECT_NE(out.find("33 101"), std::string::npos) << out;

  Spec no_socket = BaseSpec({"true"});
  no_socket.process->terminal = true;
  auto r = Run(no_socket, "tty2");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("console"), std::string::npos) << r.error().ToString();
  EXPECT_FALSE(std::filesystem::exists(CgroupDir("tty2")));
}

TEST_F(ContainerLifecycleTest, ExecWithATerminal) {
  StdioCapture init_cap;
  auto init = Create(Options(BaseSpec({"sleep", "30"}), "ttyexec"), &init_cap);
  ASSERT_OK(init);
  ASSERT_OK(StartInit(Fifo("ttyexec"), init->pid));
  std::string path = (dir_ / "exec-console.sock").string();
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener.valid());
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.c_str(), path.size());
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  ExecOptions eo;
  eo.init_pid = init->pid;
  eo.cgroup_mount = cgroup_mount_;
  eo.cgroup_path = cgroup_parent_ + "/ttyexec";
  eo.process = *BaseSpec({}).process;
  eo.process.terminal = true;
  eo.process.console_size = ConsoleSize{20, 70};
  eo.process.args = {"sh", "-c", "tty; stty size"};
  eo.console_socket = path;
  // The master is queued on the connected socket until we accept.
  auto pid = SpawnExec(eo);
  ASSERT_OK(pid);
  pids_.push_back(*pid);
  UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn.valid());
  UniqueFd master = berth::testing::ReceiveFd(conn.get());
  ASSERT_TRUE(master.valid());
  Exit e = Wait(*pid, nullptr);
  EXPECT_TRUE(e.Exited(0)) << e.status;
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(master.get(), buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
  EXPECT_NE(out.find("20 70"), std::string::npos) << out;
}

TEST_F(ContainerLifecycleTest, PreservedFdsStayOpenOthersClose) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  // Make the write end fd 3 in this process for the spawn; the old fd 3 is
  // restored afterwards.
  UniqueFd saved3(::fcntl(3, F_DUPFD_CLOEXEC, 10));
  ASSERT_EQ(::dup3(w.get(), 3, O_CLOEXEC), 3);
  Spec s = BaseSpec({"sh", "-c", "echo through-3 >&3; ls /proc/self/fd"});
  InitOptions o = Options(s, "fds");
  o.preserve_fds = 1;
  StdioCapture cap;
  auto init = Create(o, &cap);
  if (saved3) {
    ::dup3(saved3.get(), 3, O_CLOEXEC);
  } else {
    ::close(3);
  }
  w.reset();
  ASSERT_OK(init);
  ASSERT_OK(StartInit(Fifo("fds"), init->pid));
  Exit e = Wait(init->pid, &cap);
  EXPECT_TRUE(e.Exited(0)) << e.err;
  std::string got;
  char buf[64];
  ssize_t n;
  while ((n = ::read(r.get(), buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(got, "through-3\n");
  // 0, 1, 2, 3 and the fd ls itself opens on /proc/self/fd.
  EXPECT_EQ(e.out, "0\n1\n2\n3\n4\n") << e.err;
}

}  // namespace
}  // namespace berth::runtime::testing
