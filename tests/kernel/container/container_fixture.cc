#include "container_fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <random>
#include <thread>

#include "test_support.h"

#include "berth/cgroups/cgroup.h"

namespace berth::runtime::testing {
namespace {

UniqueFd DupCloexec(int fd) { return UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 3)); }

void ReadAvailable(int fd, std::string* into) {
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) into->append(buf, static_cast<size_t>(n));
}

}  // namespace

StdioCapture::StdioCapture() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) == 0) {
    out_r_.reset(p[0]);
    out_w_.reset(p[1]);
  }
  if (::pipe2(p, O_CLOEXEC) == 0) {
    err_r_.reset(p[0]);
    err_w_.reset(p[1]);
  }
  null_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

void StdioCapture::Redirect() {
  for (int fd = 0; fd < 3; ++fd) saved_[fd] = DupCloexec(fd);
  ::dup2(null_.get(), 0);
  ::dup2(out_w_.get(), 1);
  ::dup2(err_w_.get(), 2);
}

void StdioCapture::Restore() {
  for (int fd = 0; fd < 3; ++fd) {
    if (saved_[fd]) ::dup2(saved_[fd].get(), fd);
    saved_[fd].reset();
  }
  // Only the container holds the write ends now: EOF once it is gone.
  out_w_.reset();
  err_w_.reset();
}

void StdioCapture::Drain(std::string* out, std::string* err) {
  if (out_r_) ReadAvailable(out_r_.get(), out);
  if (err_r_) ReadAvailable(err_r_.get(), err);
}

ino_t NamespaceInode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) return 0;
  return st.st_ino;
}

void ContainerTest::SetUp() {
  REQUIRE_ROOT();
  REQUIRE_FEATURE(berth::testing::Feature::kBusybox);
  REQUIRE_FEATURE(berth::testing::Feature::kCgroup2);
  char tmpl[] = "/tmp/berth-container-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  bundle_ = dir_ / "bundle";
  std::filesystem::path rootfs = bundle_ / "rootfs";
  for (const char* d : {"bin", "proc", "sys", "dev", "tmp", "etc", "root", "mnt"}) {
    std::filesystem::create_directories(rootfs / d);
  }
  std::filesystem::copy_file("/bin/busybox", rootfs / "bin/busybox");
  for (const char* applet :
       {"sh",      "cat",   "echo",  "id",    "hostname", "ls",       "mount", "grep",
        "sleep",   "true",  "false", "mkdir", "ps",       "readlink", "stat",  "pwd",
        "unshare", "touch", "env",   "kill",  "tty",      "stty",     "wc",    "head"}) {
    std::filesystem::create_symlink("busybox", rootfs / "bin" / applet);
  }
  auto h = cgroups::Discover();
  ASSERT_TRUE(h.ok()) << h.error().ToString();
  cgroup_mount_ = h->mount;
  std::random_device rd;
  suffix_ = std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
  cgroup_parent_ = "/berth-test-" + suffix_;
}

void ContainerTest::TearDown() {
  for (pid_t pid : pids_) {
    if (::kill(pid, SIGKILL) == 0 || errno != ESRCH) {
      int status;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  if (!cgroup_parent_.empty()) {
    cgroups::Cgroup parent(cgroup_mount_, cgroup_parent_);
    IgnoreError(parent.Kill(), "ENOENT: no container was created");
    IgnoreError(parent.WaitEmpty(std::chrono::seconds(5)), "ENOENT: already gone");
    IgnoreError(parent.Remove(), "ENOENT: already gone");
  }
  for (const auto& m : mounts_) ::umount2(m.c_str(), MNT_DETACH);
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

Spec ContainerTest::BaseSpec(std::vector<std::string> args) const {
  Spec s = DefaultSpec();
  s.process->terminal = false;
  s.process->args = std::move(args);
  s.process->env = {"PATH=/bin", "TERM=xterm"};
  s.hostname = "berth-test";
  s.linux_spec->resources.reset();
  // `runc spec` grants no ambient capabilities (runc's specconv/example.go);
  // an ambient one also needs the inheritable set, which it leaves empty.
  s.process->capabilities->ambient.clear();
  return s;
}

InitOptions ContainerTest::Options(const Spec& spec, const std::string& id) const {
  InitOptions o;
  o.id = id;
  o.bundle = bundle_;
  o.spec = spec;
  o.cgroup_mount = cgroup_mount_;
  o.cgroup_path = cgroup_parent_ + "/" + id;
  o.exec_fifo = Fifo(id);
  return o;
}

Result<InitProcess> ContainerTest::Create(const InitOptions& options, StdioCapture* capture) {
  capture->Redirect();
  Result<InitProcess> r = SpawnInit(options);
  capture->Restore();
  if (r.ok()) pids_.push_back(r->pid);
  return r;
}

Result<pid_t> ContainerTest::Exec(const ExecOptions& options, StdioCapture* capture) {
  capture->Redirect();
  Result<pid_t> r = SpawnExec(options);
  capture->Restore();
  if (r.ok()) pids_.push_back(*r);
  return r;
}

Exit ContainerTest::Wait(pid_t pid, StdioCapture* capture) {
  Exit e;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    pid_t w = ::waitpid(pid, &e.status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) {
      ADD_FAILURE() << "waitpid " << pid << ": " << strerror(errno);
      return e;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "process " << pid << " still running after 10 s; killing it";
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &e.status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (capture != nullptr) capture->Drain(&e.out, &e.err);
  return e;
}

Result<Exit> ContainerTest::Run(const Spec& spec, const std::string& id) {
  StdioCapture capture;
  BERTH_ASSIGN_OR_RETURN(InitProcess init, Create(Options(spec, id), &capture));
  Status started = StartInit(Fifo(id), init.pid);
  Exit e = Wait(init.pid, &capture);
  if (!started.ok()) return std::move(started).error().Wrap("stderr: " + e.err);
  return e;
}

std::string ContainerTest::CgroupDir(const std::string& id) const {
  return cgroup_mount_.string() + cgroup_parent_ + "/" + id;
}

std::string ContainerTest::Fifo(const std::string& id) const {
  return (dir_ / ("exec-" + id + ".fifo")).string();
}

}  // namespace berth::runtime::testing
