// Container process creation: turns a parsed OCI spec into an isolated
// process (the container's init) or joins a running container (exec).
//
// SpawnInit clone3()s the init into new namespaces (or joins the ones the
// spec names by path), puts it into its cgroup before it runs user code, sets
// up the rootfs (pivot_root, mounts, devices, masked/readonly paths), hostname,
// rlimits, sysctls, user and groups, capabilities, no_new_privs and seccomp,
// and returns once the init is fully set up and blocked opening the exec fifo
// for writing. `berth-runtime start` opens the fifo for reading; the init then
// execs process.args. Any failure inside the child (a failed mount, a missing
// binary) comes back as an Error with the child's message and errno, and
// everything made so far (process, cgroup, mounts) is gone by the time
// SpawnInit returns.
//
// Functions here are not thread-safe with respect to each other: they fork.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"
#include "berth/runtime/spec.h"

namespace berth::runtime {

struct InitOptions {
  std::string id;
  std::filesystem::path bundle;  // absolute; spec.root.path is relative to it
  Spec spec;                     // must have process and linux_spec
  // cgroup2 mount and the absolute path of the container's cgroup inside it
  // (already resolved from linux.cgroupsPath by the caller). SpawnInit
  // creates it, applies linux.resources and removes it on failure.
  std::filesystem::path cgroup_mount;
  std::string cgroup_path;
  bool strict_resources = false;
  // Where the init blocks until start: a FIFO SpawnInit creates (mkfifo).
  std::filesystem::path exec_fifo;
  // process.terminal: the pty master is sent over this unix socket
  // (SCM_RIGHTS), as runc's console socket protocol does.
  std::string console_socket;
  // Fds 3 .. 3+preserve_fds-1 of the caller stay open in the container.
  int preserve_fds = 0;
  // Without a terminal, the init's stdio are the caller's fds 0, 1, 2.
  // linux.seccomp already compiled (SeccompFilter::ExportBpf); empty: the
  // child compiles the profile itself.
  std::string seccomp_bpf;
};

struct InitProcess {
  pid_t pid = -1;
  // Start time of the pid (field 22 of /proc/<pid>/stat), to tell the
  // container's init from a later process reusing its pid.
  uint64_t start_time = 0;
  // Warnings for what was skipped (unavailable controllers, unsupported
  // fields), already logged; the CLI may print them.
  std::vector<std::string> warnings;
};

Result<InitProcess> SpawnInit(const InitOptions& options);

// Releases a created init: opens the exec fifo for reading, which unblocks
// the init's open for writing; it then execs. Removes the fifo.
Status StartInit(const std::filesystem::path& exec_fifo);
// Same, but never blocks on an init that died after SpawnInit returned (the
// plain form waits forever for a writer then): polls the fifo and checks
// every 100 ms that `init_pid` still lives, as runc's start does. ECHILD
// when the init is gone without having opened the fifo.
Status StartInit(const std::filesystem::path& exec_fifo, pid_t init_pid);

struct ExecOptions {
  pid_t init_pid = -1;  // namespaces are joined through /proc/<pid>/ns
  std::filesystem::path cgroup_mount;
  std::string cgroup_path;
  Process process;                 // process.json or the CLI's args
  std::optional<Seccomp> seccomp;  // the container's, from its spec
  std::string seccomp_bpf;         // `seccomp` precompiled (see InitOptions)
  std::string console_socket;
  int preserve_fds = 0;
  // Without a terminal the process gets these as fds 0, 1, 2 (dup2'd in the
  // forked helper, so a multi-threaded caller's own stdio is untouched);
  // -1 keeps the caller's.
  int stdio[3] = {-1, -1, -1};
};

// Starts a process inside a running container; returns its pid (a child of
// the caller) once it has exec'd, or the error it hit before exec.
Result<pid_t> SpawnExec(const ExecOptions& options);

// Field 22 of /proc/<pid>/stat; ESRCH when the pid is gone.
Result<uint64_t> ProcessStartTime(pid_t pid, const std::filesystem::path& proc = "/proc");

}  // namespace berth::runtime
