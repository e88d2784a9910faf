// The container child: everything between clone3 and execve, in order.
// Runs single-threaded in the new process; reports failures over the sync
// socket and exits, never returns.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "berth/runtime/container.h"
#include "berth/runtime/seccomp.h"

namespace berth::runtime::container_internal {

struct ChildConfig {
  const InitOptions* options = nullptr;  // init: spec, bundle, fifo, console
  std::string rootfs;                    // absolute
  int sync_fd = -1;
  int fifo_path_fd = -1;  // O_PATH to the exec fifo, opened before pivot_root
  bool new_user_namespace = false;
  // CLONE_NEW* flags to unshare right after joining the user namespace
  // given by path, so the new namespaces belong to it.
  uint64_t unshare_flags = 0;
  int console_fd = -1;  // connected console socket when process.terminal
};

[[noreturn]] void RunInitChild(const ChildConfig& config);

// Shared by init and exec: identity, capabilities, no_new_privs, seccomp
// ordering, environment and the PATH lookup of args[0].
struct ProcessPlan {
  const Process* process = nullptr;
  const Seccomp* seccomp = nullptr;          // nullptr: none
  const std::string* seccomp_bpf = nullptr;  // precompiled `seccomp`, if non-empty
};

// The filter of a plan: the precompiled program when there is one.
Result<SeccompFilter> FilterFor(const ProcessPlan& plan);

// Switches to the process's user and groups, applies capabilities and
// no_new_privs; loads seccomp early when no_new_privs is off (it then needs
// the CAP_SYS_ADMIN it still has). Returns whether seccomp is still to load.
Result<bool> ApplyIdentity(const ProcessPlan& plan);
// Resolves args[0] against PATH from the process env (execvp semantics) and
// checks that it is executable, so "not found" is reported before start.
Result<std::string> ResolveExecutable(const Process& process);
// Builds envp; adds a default PATH when the spec has none, as runc does.
std::vector<std::string> BuildEnv(const Process& process);
// Connects to the console socket; done before pivot_root or setns(mnt),
// while the host path still resolves.
Result<UniqueFd> ConnectConsoleSocket(const std::string& console_socket);
// Opens a pty, sends its master over the connected console socket
// (SCM_RIGHTS) and makes the slave the controlling terminal and stdio.
Status SetUpTerminal(int console_fd, const std::optional<ConsoleSize>& size);
// Clears FD_CLOEXEC on fds 3..3+n-1 and closes every other fd above 2 except `keep`.
Status PrepareFds(int preserve_fds, std::initializer_list<int> keep);
[[noreturn]] void ExecProcess(const std::string& path, const Process& process,
                              const std::optional<SeccompFilter>* late_seccomp);

}  // namespace berth::runtime::container_internal
