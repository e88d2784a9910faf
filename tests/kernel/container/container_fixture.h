// Fixture for the container library's kernel tests: calls SpawnInit,
// StartInit and SpawnExec directly (no CLI) on a busybox rootfs in a temp
// dir, with a per-run cgroup parent under the cgroup2 mount. The container's
// stdout and stderr are pipes the test reads. TearDown kills every process a
// test started (by pid), removes the cgroups, unmounts what the test mounted
// and removes the temp dir, also when an assertion failed.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"
#include "berth/runtime/container.h"
#include "berth/runtime/spec.h"

namespace berth::runtime::testing {

// The caller's fds 0 (from /dev/null), 1 and 2 (pipes) while a container
// process is being spawned; the read ends stay here.
class StdioCapture {
 public:
  StdioCapture();
  // Makes fds 0, 1, 2 of this process the capture's; Restore() undoes it.
  // Nothing may print between the two (gtest writes to fd 1).
  void Redirect();
  void Restore();
  // Reads both pipes to EOF (every writer must be gone).
  void Drain(std::string* out, std::string* err);

 private:
  UniqueFd out_r_, out_w_, err_r_, err_w_, null_;
  UniqueFd saved_[3];
};

struct Exit {
  int status = -1;  // raw waitpid status
  std::string out, err;
  bool Exited(int code) const { return WIFEXITED(status) && WEXITSTATUS(status) == code; }
};

class ContainerTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // `runc spec`-like: DefaultSpec() without a terminal, without the device
  // cgroup (not enforced on this host anyway), running `args`.
  Spec BaseSpec(std::vector<std::string> args) const;
  InitOptions Options(const Spec& spec, const std::string& id) const;

  // SpawnInit with the given stdio capture; the pid is tracked for TearDown.
  Result<InitProcess> Create(const InitOptions& options, StdioCapture* capture);
  // SpawnExec likewise.
  Result<pid_t> Exec(const ExecOptions& options, StdioCapture* capture);
  // Waits (10 s at most, then SIGKILL) and collects the output of
  // `capture` (nullptr: a process whose stdio is not captured).
  Exit Wait(pid_t pid, StdioCapture* capture);
  // Create + StartInit + Wait. A failed create is returned as the Error.
  Result<Exit> Run(const Spec& spec, const std::string& id);

  std::string CgroupDir(const std::string& id) const;  // host path
  std::string Fifo(const std::string& id) const;

  std::filesystem::path dir_;     // temp dir (0755: user-ns roots traverse it)
  std::filesystem::path bundle_;  // dir_/bundle, rootfs in bundle_/rootfs
  std::filesystem::path cgroup_mount_;
  std::string cgroup_parent_;        // "/berth-test-<pid>-<rand>"
  std::string suffix_;               // "<pid>-<rand>" for other per-run names
  std::vector<pid_t> pids_;          // every process the test started
  std::vector<std::string> mounts_;  // host mounts to detach in TearDown
};

// Inode of a namespace file ("/proc/<pid>/ns/net"), 0 when unreadable.
ino_t NamespaceInode(const std::string& path);

}  // namespace berth::runtime::testing
