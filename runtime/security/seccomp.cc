#include "berth/runtime/seccomp.h"

#include <seccomp.h>

#include <cstring>
#include <utility>

namespace berth::runtime {
namespace {

Result<uint32_t> ParseAction(const std::string& name, std::optional<unsigned> errno_ret) {
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") {
    return Error::Sys(ENOTSUP, "seccomp action SCMP_ACT_NOTIFY is not supported");
  }
  return Error::Invalid("unknown seccomp action \"" + name + "\"");
}

Result<scmp_compare> ParseOp(const std::string& op) {
  static const std::pair<const char*, scmp_compare> kOps[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  for (const auto& [n, v] : kOps) {
    if (op == n) return v;
  }
  return Error::Invalid("unknown seccomp operator \"" + op + "\"");
}

Result<uint32_t> ParseArch(const std::string& arch) {
  std::string lower = arch;
  if (lower.rfind("SCMP_ARCH_", 0) == 0) lower = lower.substr(10);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "x86_64") lower = "x86_64";
  uint32_t token = seccomp_arch_resolve_name(lower.c_str());
  if (token == 0) return Error::Invalid("unknown seccomp architecture \"" + arch + "\"");
  return token;
}

}  // namespace

SeccompFilter::SeccompFilter(SeccompFilter&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
SeccompFilter& SeccompFilter::operator=(SeccompFilter&& o) noexcept {
  if (this != &o) {
    if (ctx_ != nullptr) seccomp_release(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
  }
  return *this;
}
SeccompFilter::~SeccompFilter() {
  if (ctx_ != nullptr) seccomp_release(ctx_);
}

Result<SeccompFilter> SeccompFilter::Build(const Seccomp& profile) {
  BERTH_ASSIGN_OR_RETURN(uint32_t def,
                         ParseAction(profile.default_action, profile.default_errno_ret));
  scmp_filter_ctx raw = seccomp_init(def);
  if (raw == nullptr) return Error::Sys(ENOMEM, "seccomp_init");
  SeccompFilter filter(raw);
  for (const std::string& a : profile.architectures) {
    BERTH_ASSIGN_OR_RETURN(uint32_t arch, ParseArch(a));
    int rc = seccomp_arch_add(raw, arch);
    if (rc < 0 && rc != -EEXIST) return Error::Sys(-rc, "seccomp_arch_add " + a);
  }
  for (const std::string& f : profile.flags) {
    int rc = 0;
    if (f == "SECCOMP_FILTER_FLAG_LOG") {
      rc = seccomp_attr_set(raw, SCMP_FLTATR_CTL_LOG, 1);
    } else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      rc = seccomp_attr_set(raw, SCMP_FLTATR_CTL_SSB, 1);
    } else if (f == "SECCOMP_FILTER_FLAG_TSYNC") {
      rc = seccomp_attr_set(raw, SCMP_FLTATR_CTL_TSYNC, 1);
    } else {
      return Error::Invalid("unknown seccomp flag \"" + f + "\"");
    }
    if (rc < 0) return Error::Sys(-rc, "seccomp flag " + f);
  }
  for (size_t i = 0; i < profile.syscalls.size(); ++i) {
    const SeccompSyscall& sc = profile.syscalls[i];
    std::string where = "linux.seccomp.syscalls[" + std::to_string(i) + "]";
    BERTH_ASSIGN_OR_RETURN(uint32_t action, ParseAction(sc.action, sc.errno_ret).Wrap(where));
    if (action == def) continue;  // libseccomp refuses rules equal to the default
    std::vector<scmp_arg_cmp> cmps;
    for (const SeccompArg& a : sc.args) {
      BERTH_ASSIGN_OR_RETURN(scmp_compare op, ParseOp(a.op).Wrap(where));
      cmps.push_back(scmp_arg_cmp{a.index, op, a.value, a.value_two});
    }
    for (const std::string& name : sc.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // unknown here: skipped, as runc does
      int rc = seccomp_rule_add_array(raw, action, nr, static_cast<unsigned>(cmps.size()),
                                      cmps.empty() ? nullptr : cmps.data());
      if (rc < 0) return Error::Sys(-rc, where + ": add rule for " + name);
    }
  }
  return filter;
}

Status SeccompFilter::Load() const {
  int rc = seccomp_load(ctx_);
  if (rc < 0) return Error::Sys(-rc, "seccomp_load");
  return Ok();
}

}  // namespace berth::runtime
