// Compiled seccomp programs by profile: compiling the default profile with
// libseccomp takes milliseconds, and nearly every container of a node uses
// one of a handful of profiles, so the agent compiles each once and hands
// berth-shim the program (runtime::InitOptions::seccomp_bpf). Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "berth/common/error.h"
#include "berth/runtime/spec.h"

namespace berth::nodeagent {

class SeccompCache {
 public:
  // The classic BPF program of `profile`; errors of SeccompFilter::Build.
  Result<std::string> Program(const runtime::Seccomp& profile);

 private:
  std::mutex mu_;
  std::map<std::string, std::string> programs_;  // profile JSON -> program
};

}  // namespace berth::nodeagent
