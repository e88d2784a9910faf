// Seccomp filters from OCI linux.seccomp through libseccomp, and a built-in
// default profile equal in effect to Docker's default.
//
// Owns: SeccompFilter owns one scmp_filter_ctx (RAII, move-only); Load()
// runs in the container child. Profiles are plain data (see spec.h).
// Thread-safety: DefaultSeccompProfile() is safe to call from any thread; a
// SeccompFilter must not be used from two threads at once.
// Errors: EINVAL naming the bad action, operator, architecture or flag and
// the profile path ("linux.seccomp.syscalls[3]: unknown seccomp action
// \"SCMP_ACT_FOO\""); ENOTSUP for SCMP_ACT_NOTIFY; libseccomp's errno for
// the rest.
#pragma once

#include <string>

#include "berth/common/error.h"
#include "berth/runtime/spec.h"

namespace berth::runtime {

// Docker's default profile (moby profiles/seccomp/default.json) resolved the
// way Docker resolves it for a container with `caps.bounding`, on the
// architecture Berth is built for: default action ERRNO(EPERM); the plain
// allow list; personality only with Linux's personas; socket except AF_ALG
// and AF_VSOCK; and, without CAP_SYS_ADMIN, clone without namespace flags and
// clone3 refused with ENOSYS (so libc falls back to clone). Entries that
// need a capability (mount with CAP_SYS_ADMIN, ptrace with CAP_SYS_PTRACE,
// ...) are included exactly when the bounding set holds it.
Seccomp SeccompProfileFor(const Capabilities& caps);

// SeccompProfileFor(Docker's 14 default capabilities), computed once.
const Seccomp& DefaultSeccompProfile();

class SeccompFilter {
 public:
  // Syscall names this libseccomp does not know are skipped (like runc);
  // unknown action, operator, architecture or flag names are EINVAL errors.
  // The filter leaves no_new_privs alone (process.noNewPrivileges decides).
  static Result<SeccompFilter> Build(const Seccomp& profile);
  // A filter already compiled (ExportBpf of Build(profile)), loaded as is
  // with the kernel flags of profile.flags: compiling a large profile costs
  // milliseconds, so a caller starting many containers compiles it once.
  // EINVAL when `program` is not a whole number of BPF instructions.
  static Result<SeccompFilter> FromBpf(std::string program, const Seccomp& profile);

  SeccompFilter(SeccompFilter&& other) noexcept;
  SeccompFilter& operator=(SeccompFilter&& other) noexcept;
  SeccompFilter(const SeccompFilter&) = delete;
  SeccompFilter& operator=(const SeccompFilter&) = delete;
  ~SeccompFilter();

  // Installs the filter on the calling thread (all threads with
  // SECCOMP_FILTER_FLAG_TSYNC). The caller must have set no_new_privs or
  // hold CAP_SYS_ADMIN; see man 2 seccomp.
  Status Load() const;

  // The classic BPF program Load() would install (seccomp_export_bpf), for
  // inspection and tests: an array of struct sock_filter.
  Result<std::string> ExportBpf() const;

 private:
  explicit SeccompFilter(void* ctx) : ctx_(ctx) {}
  void* ctx_ = nullptr;  // scmp_filter_ctx; nullptr for a precompiled program
  std::string program_;  // struct sock_filter[], when precompiled
  unsigned flags_ = 0;   // SECCOMP_FILTER_FLAG_*, when precompiled
};

}  // namespace berth::runtime
