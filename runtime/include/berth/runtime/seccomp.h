// Seccomp filters from OCI linux.seccomp through libseccomp, and a built-in
// default profile equal in effect to Docker's default. SeccompFilter owns a
// scmp_filter_ctx (RAII, move-only); Load() runs in the container child.
// Errors name the bad action, operator, architecture or syscall entry.
#pragma once

#include <memory>

#include "berth/common/error.h"
#include "berth/runtime/spec.h"

namespace berth::runtime {

// Docker's default profile (moby profiles/seccomp/default.json) resolved for
// Docker's default capability set on x86_64: refuses with EPERM everything
// not listed, clone with namespace flags, clone3 (ENOSYS, so libc falls back
// to clone), socket(AF_VSOCK), and personality values other than Linux's.
const Seccomp& DefaultSeccompProfile();

class SeccompFilter {
 public:
  // Syscall names this libseccomp does not know are skipped (like runc);
  // unknown action, operator, architecture or flag names are EINVAL errors.
  static Result<SeccompFilter> Build(const Seccomp& profile);

  SeccompFilter(SeccompFilter&&) noexcept;
  SeccompFilter& operator=(SeccompFilter&&) noexcept;
  ~SeccompFilter();

  // Installs the filter on the calling thread (needs no_new_privs or
  // CAP_SYS_ADMIN).
  Status Load() const;

 private:
  explicit SeccompFilter(void* ctx) : ctx_(ctx) {}
  void* ctx_ = nullptr;  // scmp_filter_ctx
};

}  // namespace berth::runtime
