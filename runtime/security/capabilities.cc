#include "berth/runtime/capabilities.h"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <memory>

#include "berth/common/file.h"

namespace berth::runtime {
namespace {

// One RAII type per C handle: cap_t is freed with cap_free.
struct CapFree {
  void operator()(void* p) const { cap_free(p); }
};
using CapState = std::unique_ptr<struct _cap_struct, CapFree>;

int LastCap() {
  auto text = ReadFile("/proc/sys/kernel/cap_last_cap");
  if (!text.ok()) return CAP_LAST_CAP;
  return std::atoi(std::string(Trim(*text)).c_str());
}

Status ToValues(const std::vector<std::string>& names, int last, std::vector<cap_value_t>* out,
                std::vector<std::string>* warnings) {
  for (const auto& n : names) {
    BERTH_ASSIGN_OR_RETURN(int v, ParseCapability(n));
    if (v > last) {
      warnings->push_back(n + " is unknown to the running kernel; skipped");
      continue;
    }
    out->push_back(v);
  }
  return Ok();
}

}  // namespace

Result<int> ParseCapability(std::string_view name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  cap_value_t v = 0;
  if (lower.rfind("cap_", 0) != 0 || cap_from_name(lower.c_str(), &v) < 0) {
    return Error::Invalid("unknown capability \"" + std::string(name) + "\"");
  }
  return static_cast<int>(v);
}

const std::vector<std::string>& DefaultCapabilities() {
  // moby's oci/caps/defaults.go DefaultCapabilities().
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

Result<std::vector<std::string>> ApplyCapabilities(const Capabilities& caps) {
  std::vector<std::string> warnings;
  int last = LastCap();
  std::vector<cap_value_t> bounding, effective, permitted, inheritable, ambient;
  BERTH_TRY(ToValues(caps.bounding, last, &bounding, &warnings).Wrap("bounding"));
  BERTH_TRY(ToValues(caps.effective, last, &effective, &warnings).Wrap("effective"));
  BERTH_TRY(ToValues(caps.permitted, last, &permitted, &warnings).Wrap("permitted"));
  BERTH_TRY(ToValues(caps.inheritable, last, &inheritable, &warnings).Wrap("inheritable"));
  BERTH_TRY(ToValues(caps.ambient, last, &ambient, &warnings).Wrap("ambient"));

  for (int c = 0; c <= last; ++c) {
    bool keep = false;
    for (cap_value_t b : bounding) keep |= (b == c);
    if (!keep && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) {
      return Error::FromErrno("drop capability " + std::to_string(c) + " from the bounding set");
    }
  }
  CapState state(cap_init());
  if (!state) return Error::FromErrno("cap_init");
  auto set = [&](cap_flag_t flag, std::vector<cap_value_t>& v, const char* what) -> Status {
    if (v.empty()) return Ok();
    if (cap_set_flag(state.get(), flag, static_cast<int>(v.size()), v.data(), CAP_SET) < 0) {
      return Error::FromErrno(std::string("cap_set_flag ") + what);
    }
    return Ok();
  };
  BERTH_TRY(set(CAP_EFFECTIVE, effective, "effective"));
  BERTH_TRY(set(CAP_PERMITTED, permitted, "permitted"));
  BERTH_TRY(set(CAP_INHERITABLE, inheritable, "inheritable"));
  if (cap_set_proc(state.get()) < 0) return Error::FromErrno("cap_set_proc");
  for (cap_value_t a : ambient) {
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, a, 0, 0) < 0) {
      return Error::FromErrno("raise ambient capability " + std::to_string(a));
    }
  }
  return warnings;
}

}  // namespace berth::runtime
