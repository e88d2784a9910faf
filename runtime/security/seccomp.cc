// OCI linux.seccomp -> libseccomp filter. Names are translated the way runc's
// libcontainer/seccomp/patchbpf and crun's seccomp.c do: actions and
// operators by their SCMP_* names, architectures by libseccomp's own names.
#include "berth/runtime/seccomp.h"

#include <seccomp.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <cctype>
#include <utility>
#include <vector>

#include "berth/common/unique_fd.h"

namespace berth::runtime {
namespace {

Result<uint32_t> ParseAction(const std::string& name, std::optional<unsigned> errno_ret) {
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  // The OCI spec: errnoRet defaults to EPERM.
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") {
    // Needs a listener socket (linux.seccomp.listenerPath), which Berth does not implement.
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

// "SCMP_ARCH_X86_64" -> libseccomp's "x86_64"; see seccomp_arch_resolve_name(3).
Result<uint32_t> ParseArch(const std::string& arch) {
  constexpr std::string_view kPrefix = "SCMP_ARCH_";
  if (arch.rfind(kPrefix, 0) != 0) {
    return Error::Invalid("unknown seccomp architecture \"" + arch + "\"");
  }
  std::string lower = arch.substr(kPrefix.size());
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  uint32_t token = seccomp_arch_resolve_name(lower.c_str());
  if (token == 0) return Error::Invalid("unknown seccomp architecture \"" + arch + "\"");
  return token;
}

Result<scmp_filter_attr> ParseFlag(const std::string& flag) {
  if (flag == "SECCOMP_FILTER_FLAG_LOG") return SCMP_FLTATR_CTL_LOG;
  if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") return SCMP_FLTATR_CTL_SSB;
  if (flag == "SECCOMP_FILTER_FLAG_TSYNC") return SCMP_FLTATR_CTL_TSYNC;
  return Error::Invalid("unknown seccomp flag \"" + flag + "\"");
}

Status AddRules(scmp_filter_ctx ctx, uint32_t default_action, const SeccompSyscall& sc,
                const std::string& where) {
  BERTH_ASSIGN_OR_RETURN(uint32_t action,
                         ParseAction(sc.action, sc.errno_ret).Wrap(where + ".action"));
  std::vector<scmp_arg_cmp> cmps;
  for (size_t i = 0; i < sc.args.size(); ++i) {
    const SeccompArg& a = sc.args[i];
    std::string arg_where = where + ".args[" + std::to_string(i) + "]";
    BERTH_ASSIGN_OR_RETURN(scmp_compare op, ParseOp(a.op).Wrap(arg_where + ".op"));
    if (a.index > 5) return Error::Invalid(arg_where + ".index: must be within [0, 5]");
    cmps.push_back(scmp_arg_cmp{a.index, op, a.value, a.value_two});
  }
  // libseccomp refuses a rule whose action equals the default; it would be a
  // no-op anyway, so runc and crun skip it too.
  if (action == default_action) return Ok();
  for (const std::string& name : sc.names) {
    int nr = seccomp_syscall_resolve_name(name.c_str());
    // Unknown to this libseccomp on every arch: skipped, as runc does.
    if (nr == __NR_SCMP_ERROR) continue;
    int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(cmps.size()),
                                    cmps.empty() ? nullptr : cmps.data());
    if (rc < 0) return Error::Sys(-rc, std::string(where).append(": add rule for ").append(name));
  }
  return Ok();
}

}  // namespace

SeccompFilter::SeccompFilter(SeccompFilter&& other) noexcept
    : ctx_(std::exchange(other.ctx_, nullptr)),
      program_(std::move(other.program_)),
      flags_(other.flags_) {}

SeccompFilter& SeccompFilter::operator=(SeccompFilter&& other) noexcept {
  if (this != &other) {
    if (ctx_ != nullptr) seccomp_release(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
    program_ = std::move(other.program_);
    flags_ = other.flags_;
  }
  return *this;
}

Result<SeccompFilter> SeccompFilter::FromBpf(std::string program, const Seccomp& profile) {
  if (program.empty() || program.size() % sizeof(sock_filter) != 0 ||
      program.size() / sizeof(sock_filter) > BPF_MAXINSNS) {
    return Error::Invalid("precompiled seccomp program: " + std::to_string(program.size()) +
                          " bytes is not a valid BPF program");
  }
  unsigned flags = 0;
  for (size_t i = 0; i < profile.flags.size(); ++i) {
    const std::string& f = profile.flags[i];
    if (f == "SECCOMP_FILTER_FLAG_LOG") {
      flags |= SECCOMP_FILTER_FLAG_LOG;
    } else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    } else if (f == "SECCOMP_FILTER_FLAG_TSYNC") {
      flags |= SECCOMP_FILTER_FLAG_TSYNC;
    } else {
      return Error::Invalid("linux.seccomp.flags[" + std::to_string(i) +
                            "]: unknown seccomp flag \"" + f + "\"");
    }
  }
  SeccompFilter filter(nullptr);
  filter.program_ = std::move(program);
  filter.flags_ = flags;
  return filter;
}

SeccompFilter::~SeccompFilter() {
  if (ctx_ != nullptr) seccomp_release(ctx_);
}

Result<SeccompFilter> SeccompFilter::Build(const Seccomp& profile) {
  const std::string base = "linux.seccomp";
  BERTH_ASSIGN_OR_RETURN(
      uint32_t default_action,
      ParseAction(profile.default_action, profile.default_errno_ret).Wrap(base + ".defaultAction"));
  scmp_filter_ctx raw = seccomp_init(default_action);
  if (raw == nullptr) return Error::Sys(ENOMEM, "seccomp_init");
  SeccompFilter filter(raw);
  // libseccomp sets no_new_privs on load by default; the spec leaves that to
  // process.noNewPrivileges, so turn it off as runc does.
  int rc = seccomp_attr_set(raw, SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) return Error::Sys(-rc, "seccomp_attr_set(SCMP_FLTATR_CTL_NNP)");
  // Without this, libseccomp reports every kernel refusal as ECANCELED;
  // callers need the kernel's errno (EACCES: no no_new_privs, EINVAL, ...).
  rc = seccomp_attr_set(raw, SCMP_FLTATR_API_SYSRAWRC, 1);
  if (rc < 0) return Error::Sys(-rc, "seccomp_attr_set(SCMP_FLTATR_API_SYSRAWRC)");
  for (size_t i = 0; i < profile.architectures.size(); ++i) {
    const std::string& name = profile.architectures[i];
    BERTH_ASSIGN_OR_RETURN(
        uint32_t arch, ParseArch(name).Wrap(base + ".architectures[" + std::to_string(i) + "]"));
    rc = seccomp_arch_add(raw, arch);
    // EEXIST: the native arch, which seccomp_init already added.
    if (rc < 0 && rc != -EEXIST) return Error::Sys(-rc, "seccomp_arch_add " + name);
  }
  for (size_t i = 0; i < profile.flags.size(); ++i) {
    const std::string& flag = profile.flags[i];
    BERTH_ASSIGN_OR_RETURN(scmp_filter_attr attr,
                           ParseFlag(flag).Wrap(base + ".flags[" + std::to_string(i) + "]"));
    rc = seccomp_attr_set(raw, attr, 1);
    if (rc < 0) return Error::Sys(-rc, "seccomp_attr_set for " + flag);
  }
  for (size_t i = 0; i < profile.syscalls.size(); ++i) {
    BERTH_TRY(AddRules(raw, default_action, profile.syscalls[i],
                       base + ".syscalls[" + std::to_string(i) + "]"));
  }
  return filter;
}

Status SeccompFilter::Load() const {
  if (ctx_ == nullptr) {
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(program_.size() / sizeof(sock_filter));
    prog.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(program_.data()));
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags_, &prog) < 0) {
      return Error::FromErrno("seccomp(SECCOMP_SET_MODE_FILTER)");
    }
    return Ok();
  }
  int rc = seccomp_load(ctx_);
  if (rc < 0) return Error::Sys(-rc, "seccomp_load");
  return Ok();
}

Result<std::string> SeccompFilter::ExportBpf() const {
  if (ctx_ == nullptr) return program_;
  UniqueFd fd(memfd_create("berth-seccomp-bpf", MFD_CLOEXEC));
  if (!fd) return Error::FromErrno("memfd_create");
  int rc = seccomp_export_bpf(ctx_, fd.get());
  if (rc < 0) return Error::Sys(-rc, "seccomp_export_bpf");
  off_t size = lseek(fd.get(), 0, SEEK_END);
  if (size < 0) return Error::FromErrno("lseek seccomp bpf memfd");
  std::string out(static_cast<size_t>(size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = pread(fd.get(), out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::FromErrno("read seccomp bpf memfd");
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

}  // namespace berth::runtime
