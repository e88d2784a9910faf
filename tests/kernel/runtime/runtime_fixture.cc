#include "runtime_fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <random>

#include "test_support.h"

#include "berth/cgroups/cgroup.h"

namespace berth::runtime::testing {
namespace {

std::string Drain(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv) {
  CommandResult r;
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0) return r;
  pid_t pid = ::fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  // Read both pipes until the command exits. A detached container keeps
  // copies of the pipes open, so EOF cannot be the signal to stop.
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  char buf[4096];
  int status = 0;
  for (;;) {
    int ready = ::poll(fds, 2, 20);
    for (int i = 0; ready > 0 && i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        fds[i].fd = -1;
        continue;
      }
      (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
    }
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
  }
  for (int fd : {out[0], err[0]}) {
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    (fd == out[0] ? r.out : r.err) += Drain(fd);
    ::close(fd);
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

void RuntimeTest::SetUp() {
  REQUIRE_ROOT();
  REQUIRE_FEATURE(berth::testing::Feature::kBusybox);
  REQUIRE_FEATURE(berth::testing::Feature::kCgroup2);
  char tmpl[] = "/tmp/berth-rt-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  bundle_ = dir_ / "bundle";
  root_ = dir_ / "state";
  std::filesystem::path rootfs = bundle_ / "rootfs";
  for (const char* d : {"bin", "proc", "sys", "dev", "tmp", "etc", "root"}) {
    std::filesystem::create_directories(rootfs / d);
  }
  std::filesystem::copy_file("/bin/busybox", rootfs / "bin/busybox");
  for (const char* applet :
       {"sh", "cat", "echo", "id", "hostname", "ls", "grep", "sleep", "true", "false", "mkdir",
        "ps", "readlink", "stat", "pwd", "unshare", "touch"}) {
    std::filesystem::create_symlink("busybox", rootfs / "bin" / applet);
  }
  auto h = cgroups::Discover();
  ASSERT_TRUE(h.ok()) << h.error().ToString();
  cgroup_mount_ = h->mount;
  std::random_device rd;
  cgroup_parent_ =
      "/berth-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
}

void RuntimeTest::TearDown() {
  if (dir_.empty()) return;
  // Kill whatever a failed test left running, then remove every cgroup.
  auto list = RunCommand({BERTH_RUNTIME_BIN, "--root", root_.string(), "list", "-q"});
  std::istringstream ids(list.out);
  std::string id;
  while (std::getline(ids, id)) {
    if (!id.empty()) RunCommand({BERTH_RUNTIME_BIN, "--root", root_.string(), "delete", "-f", id});
  }
  cgroups::Cgroup parent(cgroup_mount_, cgroup_parent_);
  IgnoreError(parent.Kill(), "ENOENT: no container was created");
  IgnoreError(parent.WaitEmpty(std::chrono::seconds(5)), "ENOENT: already gone");
  IgnoreError(parent.Remove(), "ENOENT: already gone");
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

nlohmann::json RuntimeTest::BaseConfig(const std::vector<std::string>& args,
                                       const std::string& id) {
  return {{"ociVersion", "1.0.2"},
          {"process",
           {{"terminal", false},
            {"user", {{"uid", 0}, {"gid", 0}}},
            {"args", args},
            {"env", {"PATH=/bin", "TERM=xterm"}},
            {"cwd", "/"},
            {"noNewPrivileges", true}}},
          {"root", {{"path", "rootfs"}, {"readonly", true}}},
          {"hostname", "berth-test"},
          {"mounts",
           {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
            {{"destination", "/dev"},
             {"type", "tmpfs"},
             {"source", "tmpfs"},
             {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
            {{"destination", "/dev/pts"},
             {"type", "devpts"},
             {"source", "devpts"},
             {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
            {{"destination", "/sys"},
             {"type", "sysfs"},
             {"source", "sysfs"},
             {"options", {"nosuid", "noexec", "nodev", "ro"}}},
            {{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}}}},
          {"linux",
           {{"namespaces",
             {{{"type", "pid"}},
              {{"type", "network"}},
              {{"type", "ipc"}},
              {{"type", "uts"}},
              {{"type", "mount"}},
              {{"type", "cgroup"}}}},
            {"cgroupsPath", cgroup_parent_ + "/" + id},
            {"maskedPaths", {"/proc/kcore", "/proc/keys", "/sys/firmware"}},
            {"readonlyPaths", {"/proc/sys", "/proc/sysrq-trigger"}}}}};
}

void RuntimeTest::WriteConfig(const nlohmann::json& config) {
  std::ofstream(bundle_ / "config.json") << config.dump(2);
}

CommandResult RuntimeTest::Runtime(std::vector<std::string> args) {
  std::vector<std::string> argv = {BERTH_RUNTIME_BIN, "--root", root_.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv);
}

std::string RuntimeTest::CgroupDir(const std::string& id) const {
  return cgroup_mount_ + cgroup_parent_ + "/" + id;
}

}  // namespace berth::runtime::testing
