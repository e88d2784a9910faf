// Capability sets through libcap (cap_t) and prctl(2); see man 7 capabilities.
#include "berth/runtime/capabilities.h"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <utility>

#include "berth/common/file.h"

namespace berth::runtime {
namespace {

// Owns one libcap cap_t; freed with cap_free(3). Move-only.
class CapState {
 public:
  // The calling process's sets (cap_get_proc(3)).
  static Result<CapState> OfProcess() {
    cap_t c = cap_get_proc();
    if (c == nullptr) return Error::FromErrno("cap_get_proc");
    return CapState(c);
  }
  // All sets empty (cap_init(3)).
  static Result<CapState> Empty() {
    cap_t c = cap_init();
    if (c == nullptr) return Error::FromErrno("cap_init");
    return CapState(c);
  }

  CapState(CapState&& other) noexcept : cap_(std::exchange(other.cap_, nullptr)) {}
  CapState& operator=(CapState&& other) noexcept {
    if (this != &other) {
      Reset();
      cap_ = std::exchange(other.cap_, nullptr);
    }
    return *this;
  }
  CapState(const CapState&) = delete;
  CapState& operator=(const CapState&) = delete;
  ~CapState() { Reset(); }

  Status Set(cap_flag_t flag, const std::vector<cap_value_t>& values, const char* set_name) {
    if (values.empty()) return Ok();
    if (cap_set_flag(cap_, flag, static_cast<int>(values.size()), values.data(), CAP_SET) < 0) {
      return Error::FromErrno(std::string("cap_set_flag ") + set_name);
    }
    return Ok();
  }
  bool Has(cap_flag_t flag, cap_value_t value) const {
    cap_flag_value_t v = CAP_CLEAR;
    return cap_get_flag(cap_, value, flag, &v) == 0 && v == CAP_SET;
  }
  Status ApplyToProcess(const char* what) const {
    if (cap_set_proc(cap_) < 0) return Error::FromErrno(std::string("cap_set_proc: ") + what);
    return Ok();
  }

 private:
  explicit CapState(cap_t c) : cap_(c) {}
  void Reset() {
    if (cap_ != nullptr) cap_free(cap_);
    cap_ = nullptr;
  }
  cap_t cap_ = nullptr;
};

// The highest capability the running kernel knows. Falls back to libcap's
// compile-time CAP_LAST_CAP when procfs is not readable (no /proc yet).
int KernelLastCap(const std::string& proc_dir) {
  auto text = ReadFile(proc_dir + "/sys/kernel/cap_last_cap");
  if (!text.ok()) return CAP_LAST_CAP;
  std::string s(Trim(*text));
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (end == s.c_str() || *end != '\0' || v < 0 || v > 63) return CAP_LAST_CAP;
  return static_cast<int>(v);
}

Status ToValues(const std::vector<std::string>& names, const char* set_name, int last,
                std::vector<cap_value_t>* out, std::vector<std::string>* warnings) {
  for (const auto& n : names) {
    auto v = ParseCapability(n);
    if (!v.ok()) return std::move(v).error().Wrap(set_name);
    if (*v > last) {
      warnings->push_back(std::string(set_name) + ": " + n +
                          " is unknown to the running kernel (cap_last_cap " +
                          std::to_string(last) + "); skipped");
      continue;
    }
    out->push_back(*v);
  }
  return Ok();
}

std::string CapName(cap_value_t v) {
  char* name = cap_to_name(v);
  if (name == nullptr) return std::to_string(v);
  std::string out(name);
  cap_free(name);
  return out;
}

}  // namespace

Result<int> ParseCapability(std::string_view name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  cap_value_t v = 0;
  // cap_from_name also accepts bare numbers; the spec names capabilities only.
  if (lower.rfind("cap_", 0) != 0 || cap_from_name(lower.c_str(), &v) < 0) {
    return Error::Invalid("unknown capability \"" + std::string(name) + "\"");
  }
  return static_cast<int>(v);
}

const std::vector<std::string>& DefaultCapabilities() {
  // moby daemon/pkg/oci/caps/defaults.go DefaultCapabilities().
  static const std::vector<std::string> kCaps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  return kCaps;
}

Capabilities DefaultCapabilitySets() {
  Capabilities c;
  c.bounding = c.effective = c.permitted = DefaultCapabilities();
  return c;
}

Status KeepCapsAcrossSetuid() {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return Error::FromErrno("prctl(PR_SET_KEEPCAPS)");
  return Ok();
}

Result<std::vector<std::string>> ApplyCapabilities(const Capabilities& caps,
                                                   const std::string& proc_dir) {
  std::vector<std::string> warnings;
  const int last = KernelLastCap(proc_dir);
  std::vector<cap_value_t> bounding, effective, permitted, inheritable, ambient;
  BERTH_TRY(ToValues(caps.bounding, "bounding", last, &bounding, &warnings));
  BERTH_TRY(ToValues(caps.effective, "effective", last, &effective, &warnings));
  BERTH_TRY(ToValues(caps.permitted, "permitted", last, &permitted, &warnings));
  BERTH_TRY(ToValues(caps.inheritable, "inheritable", last, &inheritable, &warnings));
  BERTH_TRY(ToValues(caps.ambient, "ambient", last, &ambient, &warnings));

  // Dropping from the bounding set needs CAP_SETPCAP in the effective set,
  // which setuid(2) to a non-zero uid has cleared: raise effective to the
  // current permitted set first.
  {
    BERTH_ASSIGN_OR_RETURN(CapState current, CapState::OfProcess());
    std::vector<cap_value_t> held;
    for (cap_value_t c = 0; c <= last; ++c) {
      if (current.Has(CAP_PERMITTED, c)) held.push_back(c);
    }
    BERTH_TRY(current.Set(CAP_EFFECTIVE, held, "effective"));
    BERTH_TRY(current.ApplyToProcess("raise effective to permitted"));
  }
  for (cap_value_t c = 0; c <= last; ++c) {
    if (std::find(bounding.begin(), bounding.end(), c) != bounding.end()) continue;
    // EINVAL: the kernel does not know this capability; nothing to drop.
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) {
      return Error::FromErrno("drop " + CapName(c) + " from the bounding set");
    }
  }
  BERTH_ASSIGN_OR_RETURN(CapState target, CapState::Empty());
  BERTH_TRY(target.Set(CAP_EFFECTIVE, effective, "effective"));
  BERTH_TRY(target.Set(CAP_PERMITTED, permitted, "permitted"));
  BERTH_TRY(target.Set(CAP_INHERITABLE, inheritable, "inheritable"));
  BERTH_TRY(target.ApplyToProcess("set effective, permitted and inheritable"));

  // An ambient capability must also be permitted and inheritable; the
  // kernel answers EPERM otherwise (see man 2 prctl, PR_CAP_AMBIENT_RAISE).
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
    return Error::FromErrno("clear the ambient set");
  }
  // runc's default spec lists ambient capabilities but no inheritable ones;
  // like runc, a capability the kernel refuses to raise (EPERM) is a warning.
  for (cap_value_t a : ambient) {
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, a, 0, 0) == 0) continue;
    if (errno != EPERM) return Error::FromErrno("raise ambient " + CapName(a));
    warnings.push_back("ambient: " + CapName(a) +
                       " not raised: it must be permitted and inheritable");
  }
  return warnings;
}

}  // namespace berth::runtime
