// Docker's default seccomp profile (docker_profile.h) resolved for a
// capability set the way moby's setupSeccomp() does it: caps are matched
// against the bounding set, arches against the native architecture, and
// minKernel against the running kernel, so the result equals the profile
// Docker hands to runc for the same capabilities.
#include <sys/utsname.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "docker_profile.h"

#include "berth/runtime/capabilities.h"
#include "berth/runtime/seccomp.h"

namespace berth::runtime {
namespace {

using security_internal::ArchEntry;
using security_internal::Condition;
using security_internal::ProfileRule;

// The native architecture under moby's names: the arch of profile entries
// ("amd64") and of the archMap (SCMP_ARCH_X86_64).
#if defined(__x86_64__) && defined(__ILP32__)
constexpr const char* kNativeArch = "x32";
constexpr const char* kNativeScmpArch = "SCMP_ARCH_X32";
#elif defined(__x86_64__)
constexpr const char* kNativeArch = "amd64";
constexpr const char* kNativeScmpArch = "SCMP_ARCH_X86_64";
#elif defined(__i386__)
constexpr const char* kNativeArch = "x86";
constexpr const char* kNativeScmpArch = "SCMP_ARCH_X86";
#elif defined(__aarch64__)
constexpr const char* kNativeArch = "arm64";
constexpr const char* kNativeScmpArch = "SCMP_ARCH_AARCH64";
#elif defined(__arm__)
constexpr const char* kNativeArch = "arm";
constexpr const char* kNativeScmpArch = "SCMP_ARCH_ARM";
#elif defined(__s390x__)
constexpr const char* kNativeArch = "s390x";
constexpr const char* kNativeScmpArch = "SCMP_ARCH_S390X";
#elif defined(__riscv) && __riscv_xlen == 64
constexpr const char* kNativeArch = "riscv64";
constexpr const char* kNativeScmpArch = "SCMP_ARCH_RISCV64";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr const char* kNativeArch = "ppc64le";
constexpr const char* kNativeScmpArch = "SCMP_ARCH_PPC64LE";
#else
// Unknown here: no arch-specific entries, and only the native arch, which
// libseccomp adds by itself.
constexpr const char* kNativeArch = "";
constexpr const char* kNativeScmpArch = "";
#endif

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v) {
    if (x == s) return true;
  }
  return false;
}

// uname(2) release "6.18.0-1-amd64" against "4.8". An unreadable release
// counts as new enough: the only minKernel entry (4.8) predates every kernel
// Berth supports.
bool KernelAtLeast(const char* min) {
  int want_major = 0, want_minor = 0;
  if (std::sscanf(min, "%d.%d", &want_major, &want_minor) != 2) return false;
  struct utsname u {};
  int major = 0, minor = 0;
  if (uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return true;
  return major > want_major || (major == want_major && minor >= want_minor);
}

// moby profiles/seccomp/seccomp_linux.go setupSeccomp(): an entry is skipped
// when an excluded condition holds or an included one does not.
bool Applies(const ProfileRule& rule, const std::vector<std::string>& bounding) {
  const Condition& ex = rule.excludes;
  if (Contains(ex.arches, kNativeArch)) return false;
  for (const auto& cap : ex.caps) {
    if (Contains(bounding, cap)) return false;
  }
  if (ex.min_kernel != nullptr && KernelAtLeast(ex.min_kernel)) return false;
  const Condition& in = rule.includes;
  if (!in.arches.empty() && !Contains(in.arches, kNativeArch)) return false;
  for (const auto& cap : in.caps) {
    if (!Contains(bounding, cap)) return false;
  }
  if (in.min_kernel != nullptr && !KernelAtLeast(in.min_kernel)) return false;
  return true;
}

}  // namespace

Seccomp SeccompProfileFor(const Capabilities& caps) {
  Seccomp s;
  s.default_action = "SCMP_ACT_ERRNO";
  s.default_errno_ret = EPERM;
  for (const ArchEntry& a : security_internal::DockerArchMap()) {
    if (std::string(a.arch) != kNativeScmpArch) continue;
    s.architectures.emplace_back(a.arch);
    s.architectures.insert(s.architectures.end(), a.sub_arches.begin(), a.sub_arches.end());
  }
  for (const ProfileRule& rule : security_internal::DockerProfileRules()) {
    if (!Applies(rule, caps.bounding)) continue;
    s.syscalls.push_back({rule.names, rule.action, rule.errno_ret, rule.args});
  }
  return s;
}

const Seccomp& DefaultSeccompProfile() {
  static const Seccomp kProfile = [] {
    Capabilities caps;
    caps.bounding = DefaultCapabilities();
    return SeccompProfileFor(caps);
  }();
  return kProfile;
}

}  // namespace berth::runtime
