// Docker's default seccomp profile, transcribed as data: moby/profiles
// seccomp v0.2.3 default.json (vendored in moby/moby at
// vendor/github.com/moby/profiles/seccomp/default.json), entry by entry and
// in the same order: the syscall names, the argument filters, and the
// includes/excludes conditions. default_seccomp.cc resolves it. Private to
// runtime/security; the data is immutable and thread-safe to read.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "berth/runtime/spec.h"

namespace berth::runtime::security_internal {

// moby's Filter: a condition on the container, not on the syscall.
struct Condition {
  std::vector<std::string> caps;     // all in the bounding set
  std::vector<std::string> arches;   // any is the native arch ("amd64", "x32", "arm64")
  const char* min_kernel = nullptr;  // running kernel >= "4.8"
};

struct ProfileRule {
  std::vector<std::string> names;
  const char* action = nullptr;
  std::optional<unsigned> errno_ret;
  std::vector<SeccompArg> args;
  Condition includes;  // the entry applies only if all of these hold
  Condition excludes;  // the entry is dropped if any of these holds
};

struct ArchEntry {
  const char* arch;  // "SCMP_ARCH_X86_64"
  std::vector<std::string> sub_arches;
};

// default.json "archMap".
const std::vector<ArchEntry>& DockerArchMap();
// default.json "syscalls".
const std::vector<ProfileRule>& DockerProfileRules();

}  // namespace berth::runtime::security_internal
