// config.json -> Spec. One function per spec section; each takes a
// JsonReader positioned on that section so errors carry the JSON path.
#include "berth/runtime/spec.h"

#include <cctype>
#include <climits>
#include <utility>

#include <nlohmann/json.hpp>

#include "json_reader.h"
#include "resources_json.h"

#include "berth/common/file.h"

namespace berth::runtime {
namespace {

using spec_internal::JsonReader;
constexpr uint64_t kU32Max = UINT32_MAX;

// The resources setrlimit(2) knows; see man 2 getrlimit.
bool IsRlimitType(const std::string& type) {
  static const char* const kTypes[] = {
      "RLIMIT_AS",     "RLIMIT_CORE",   "RLIMIT_CPU",        "RLIMIT_DATA",
      "RLIMIT_FSIZE",  "RLIMIT_LOCKS",  "RLIMIT_MEMLOCK",    "RLIMIT_MSGQUEUE",
      "RLIMIT_NICE",   "RLIMIT_NOFILE", "RLIMIT_NPROC",      "RLIMIT_RSS",
      "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"};
  for (const char* t : kTypes) {
    if (type == t) return true;
  }
  return false;
}

// Values that are modelled but not implemented by Berth: reported like
// unknown keys when set, so the caller warns about them.
void ReportUnimplemented(const Process& p, const std::string& base,
                         std::vector<std::string>* unsupported) {
  if (!p.apparmor_profile.empty()) unsupported->push_back(base + ".apparmorProfile");
  if (!p.selinux_label.empty()) unsupported->push_back(base + ".selinuxLabel");
}

Status ParseUser(JsonReader& r, User* u) {
  uint64_t v = 0;
  BERTH_TRY(r.Uint("uid", kU32Max, &v));
  u->uid = static_cast<uid_t>(v);
  v = 0;
  BERTH_TRY(r.Uint("gid", kU32Max, &v));
  u->gid = static_cast<gid_t>(v);
  BERTH_TRY(r.OptUint("umask", 07777, &u->umask));
  if (r.Has("additionalGids")) {
    const auto& a = r.Raw("additionalGids");
    if (!a.is_array()) return JsonReader::TypeError(r.Path("additionalGids"), "an array", a);
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_number_unsigned() || a[i].get<uint64_t>() > kU32Max) {
        return JsonReader::TypeError(r.Path("additionalGids") + "[" + std::to_string(i) + "]",
                                     "an unsigned 32-bit integer", a[i]);
      }
      u->additional_gids.push_back(static_cast<gid_t>(a[i].get<uint64_t>()));
    }
  }
  // username (Windows only) is not read, so it is reported as unsupported.
  return Ok();
}

Status ParseCapabilities(JsonReader& r, Capabilities* c) {
  BERTH_TRY(r.StringList("bounding", &c->bounding));
  BERTH_TRY(r.StringList("effective", &c->effective));
  BERTH_TRY(r.StringList("inheritable", &c->inheritable));
  BERTH_TRY(r.StringList("permitted", &c->permitted));
  return r.StringList("ambient", &c->ambient);
}

Status ParseProcessObject(JsonReader& r, Process* p) {
  BERTH_TRY(r.Bool("terminal", &p->terminal));
  BERTH_TRY(r.Object("consoleSize", [&](JsonReader& cs) -> Status {
    ConsoleSize size;
    uint64_t h = 0, w = 0;
    BERTH_TRY(cs.Uint("height", UINT16_MAX, &h, true));
    BERTH_TRY(cs.Uint("width", UINT16_MAX, &w, true));
    size.height = static_cast<unsigned>(h);
    size.width = static_cast<unsigned>(w);
    p->console_size = size;
    return Ok();
  }));
  BERTH_TRY(r.Object("user", [&](JsonReader& u) { return ParseUser(u, &p->user); }));
  BERTH_TRY(r.StringList("args", &p->args));
  BERTH_TRY(r.StringList("env", &p->env));
  BERTH_TRY(r.String("cwd", &p->cwd, true));
  if (p->cwd.empty() || p->cwd[0] != '/') {
    return Error::Invalid(r.Path("cwd") + ": must be an absolute path, got \"" + p->cwd + "\"");
  }
  if (p->args.empty()) return Error::Invalid(r.Path("args") + ": must not be empty");
  BERTH_TRY(r.Object("capabilities", [&](JsonReader& c) {
    p->capabilities.emplace();
    return ParseCapabilities(c, &*p->capabilities);
  }));
  BERTH_TRY(r.Array("rlimits", [&](JsonReader& rl) -> Status {
    Rlimit limit;
    BERTH_TRY(rl.String("type", &limit.type, true));
    if (!IsRlimitType(limit.type)) {
      return Error::Invalid(rl.Path("type") + ": unknown rlimit \"" + limit.type + "\"");
    }
    for (const Rlimit& seen : p->rlimits) {
      // The spec: a type listed twice MUST be an error.
      if (seen.type == limit.type) {
        return Error::Invalid(rl.Path("type") + ": \"" + limit.type + "\" listed twice");
      }
    }
    BERTH_TRY(rl.Uint("hard", UINT64_MAX, &limit.hard, true));
    BERTH_TRY(rl.Uint("soft", UINT64_MAX, &limit.soft, true));
    p->rlimits.push_back(std::move(limit));
    return Ok();
  }));
  BERTH_TRY(r.Bool("noNewPrivileges", &p->no_new_privileges));
  BERTH_TRY(r.String("apparmorProfile", &p->apparmor_profile));
  BERTH_TRY(r.String("selinuxLabel", &p->selinux_label));
  if (r.Has("oomScoreAdj")) {
    int64_t v = 0;
    BERTH_TRY(r.Int("oomScoreAdj", &v));
    if (v < -1000 || v > 1000) {
      return Error::Invalid(r.Path("oomScoreAdj") + ": must be within [-1000, 1000]");
    }
    p->oom_score_adj = static_cast<int>(v);
  }
  return Ok();
}

Status ParseMount(JsonReader& r, Mount* m) {
  BERTH_TRY(r.String("destination", &m->destination, true));
  if (m->destination.empty() || m->destination[0] != '/') {
    return Error::Invalid(r.Path("destination") + ": must be an absolute path, got \"" +
                          m->destination + "\"");
  }
  BERTH_TRY(r.String("type", &m->type));
  BERTH_TRY(r.String("source", &m->source));
  return r.StringList("options", &m->options);
}

Status ParseIdMappings(JsonReader& r, const char* key, std::vector<IdMapping>* out) {
  return r.Array(key, [&](JsonReader& m) -> Status {
    uint64_t c = 0, h = 0, s = 0;
    BERTH_TRY(m.Uint("containerID", kU32Max, &c, true));
    BERTH_TRY(m.Uint("hostID", kU32Max, &h, true));
    BERTH_TRY(m.Uint("size", kU32Max, &s, true));
    out->push_back({static_cast<uint32_t>(c), static_cast<uint32_t>(h), static_cast<uint32_t>(s)});
    return Ok();
  });
}

Status ParseSeccomp(JsonReader& r, Seccomp* s) {
  BERTH_TRY(r.String("defaultAction", &s->default_action, true));
  BERTH_TRY(r.OptUint("defaultErrnoRet", 4095, &s->default_errno_ret));
  BERTH_TRY(r.StringList("architectures", &s->architectures));
  BERTH_TRY(r.StringList("flags", &s->flags));
  return r.Array("syscalls", [&](JsonReader& sc) -> Status {
    SeccompSyscall call;
    BERTH_TRY(sc.StringList("names", &call.names));
    BERTH_TRY(sc.String("action", &call.action, true));
    BERTH_TRY(sc.OptUint("errnoRet", 4095, &call.errno_ret));
    BERTH_TRY(sc.Array("args", [&](JsonReader& a) -> Status {
      SeccompArg arg;
      uint64_t index = 0;
      BERTH_TRY(a.Uint("index", 5, &index, true));
      arg.index = static_cast<unsigned>(index);
      BERTH_TRY(a.Uint("value", UINT64_MAX, &arg.value, true));
      BERTH_TRY(a.Uint("valueTwo", UINT64_MAX, &arg.value_two));
      BERTH_TRY(a.String("op", &arg.op, true));
      call.args.push_back(std::move(arg));
      return Ok();
    }));
    s->syscalls.push_back(std::move(call));
    return Ok();
  });
}

Status ParseLinux(JsonReader& r, Linux* l) {
  BERTH_TRY(r.Array("namespaces", [&](JsonReader& n) -> Status {
    std::string type;
    Namespace ns{};
    BERTH_TRY(n.String("type", &type, true));
    auto t = ParseNamespaceType(type);
    if (!t.ok()) return std::move(t).error().Wrap(n.Path("type"));
    if (l->HasNamespace(*t)) {
      return Error::Invalid(n.Path("type") + ": namespace \"" + type + "\" listed twice");
    }
    ns.type = *t;
    BERTH_TRY(n.String("path", &ns.path));
    l->namespaces.push_back(std::move(ns));
    return Ok();
  }));
  BERTH_TRY(ParseIdMappings(r, "uidMappings", &l->uid_mappings));
  BERTH_TRY(ParseIdMappings(r, "gidMappings", &l->gid_mappings));
  BERTH_TRY(r.Array("devices", [&](JsonReader& d) -> Status {
    Device dev;
    BERTH_TRY(d.String("path", &dev.path, true));
    BERTH_TRY(d.String("type", &dev.type, true));
    if (dev.type != "c" && dev.type != "b" && dev.type != "u" && dev.type != "p") {
      return Error::Invalid(d.Path("type") + ": must be c, b, u or p, got \"" + dev.type + "\"");
    }
    BERTH_TRY(d.Int("major", &dev.major));
    BERTH_TRY(d.Int("minor", &dev.minor));
    BERTH_TRY(d.OptUint("fileMode", 07777, &dev.file_mode));
    BERTH_TRY(d.OptUint("uid", kU32Max, &dev.uid));
    BERTH_TRY(d.OptUint("gid", kU32Max, &dev.gid));
    l->devices.push_back(std::move(dev));
    return Ok();
  }));
  BERTH_TRY(r.String("cgroupsPath", &l->cgroups_path));
  BERTH_TRY(r.Object("resources", [&](JsonReader& res) {
    l->resources.emplace();
    return spec_internal::ParseResources(res, &*l->resources);
  }));
  BERTH_TRY(r.StringMap("sysctl", &l->sysctl));
  BERTH_TRY(r.Object("seccomp", [&](JsonReader& s) {
    l->seccomp.emplace();
    return ParseSeccomp(s, &*l->seccomp);
  }));
  BERTH_TRY(r.String("rootfsPropagation", &l->rootfs_propagation));
  BERTH_TRY(r.StringList("maskedPaths", &l->masked_paths));
  BERTH_TRY(r.StringList("readonlyPaths", &l->readonly_paths));
  return r.String("mountLabel", &l->mount_label);
}

Status ParseHookList(JsonReader& r, const char* key, std::vector<Hook>* out) {
  return r.Array(key, [&](JsonReader& h) -> Status {
    Hook hook;
    BERTH_TRY(h.String("path", &hook.path, true));
    BERTH_TRY(h.StringList("args", &hook.args));
    BERTH_TRY(h.StringList("env", &hook.env));
    if (h.Has("timeout")) {
      int64_t t = 0;
      BERTH_TRY(h.Int("timeout", &t));
      // The spec: timeout, in seconds, MUST be greater than zero.
      if (t <= 0 || t > INT_MAX) {
        return Error::Invalid(h.Path("timeout") + ": must be within [1, " +
                              std::to_string(INT_MAX) + "] seconds");
      }
      hook.timeout = static_cast<int>(t);
    }
    out->push_back(std::move(hook));
    return Ok();
  });
}

Status ParseHooks(JsonReader& r, Hooks* h) {
  BERTH_TRY(ParseHookList(r, "prestart", &h->prestart));
  BERTH_TRY(ParseHookList(r, "createRuntime", &h->create_runtime));
  BERTH_TRY(ParseHookList(r, "createContainer", &h->create_container));
  BERTH_TRY(ParseHookList(r, "startContainer", &h->start_container));
  BERTH_TRY(ParseHookList(r, "poststart", &h->poststart));
  return ParseHookList(r, "poststop", &h->poststop);
}

Result<nlohmann::json> ParseJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Re-parse with exceptions only to learn where it broke.
    try {
      (void)nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      return Error::Invalid(std::string("invalid JSON: ") + e.what());
    }
    return Error::Invalid("invalid JSON");
  }
  if (!j.is_object())
    return Error::Invalid(std::string("expected a JSON object, got ") + j.type_name());
  return j;
}

Result<ParseResult> ParseSpecJson(std::string_view json) {
  BERTH_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(json));
  ParseResult out;
  Spec& s = out.spec;
  {
    JsonReader r(j, "", &out.unsupported);
    BERTH_TRY(r.String("ociVersion", &s.oci_version, true));
    // Semantic versioning: only 1.x shares this layout.
    if (s.oci_version.rfind("1.", 0) != 0 || s.oci_version.size() < 3 ||
        !std::isdigit(static_cast<unsigned char>(s.oci_version[2]))) {
      return Error::Invalid("ociVersion: \"" + s.oci_version +
                            "\" is not supported (Berth implements runtime-spec 1.x)");
    }
    BERTH_TRY(r.Object("root", [&](JsonReader& root) -> Status {
      BERTH_TRY(root.String("path", &s.root.path, true));
      if (s.root.path.empty()) return Error::Invalid("root.path: must not be empty");
      return root.Bool("readonly", &s.root.readonly);
    }));
    if (s.root.path.empty()) return Error::Invalid("root: required");
    BERTH_TRY(r.Object("process", [&](JsonReader& p) {
      s.process.emplace();
      return ParseProcessObject(p, &*s.process);
    }));
    BERTH_TRY(r.String("hostname", &s.hostname));
    BERTH_TRY(r.String("domainname", &s.domainname));
    BERTH_TRY(r.Array("mounts", [&](JsonReader& m) -> Status {
      Mount mount;
      BERTH_TRY(ParseMount(m, &mount));
      s.mounts.push_back(std::move(mount));
      return Ok();
    }));
    BERTH_TRY(r.Object("linux", [&](JsonReader& l) {
      s.linux_spec.emplace();
      return ParseLinux(l, &*s.linux_spec);
    }));
    BERTH_TRY(r.Object("hooks", [&](JsonReader& h) {
      s.hooks.emplace();
      return ParseHooks(h, &*s.hooks);
    }));
    BERTH_TRY(r.StringMap("annotations", &s.annotations));
  }
  // Set-but-unimplemented values are unsupported too, not only unknown keys.
  if (s.process) ReportUnimplemented(*s.process, "process", &out.unsupported);
  if (s.linux_spec && !s.linux_spec->mount_label.empty()) {
    out.unsupported.push_back("linux.mountLabel");
  }
  // Hooks are modelled so they are carried and written back, but the
  // runtime does not run them.
  if (s.hooks) {
    const std::pair<const char*, const std::vector<Hook>*> kLists[] = {
        {"prestart", &s.hooks->prestart},
        {"createRuntime", &s.hooks->create_runtime},
        {"createContainer", &s.hooks->create_container},
        {"startContainer", &s.hooks->start_container},
        {"poststart", &s.hooks->poststart},
        {"poststop", &s.hooks->poststop}};
    for (const auto& [name, list] : kLists) {
      if (!list->empty()) out.unsupported.push_back(std::string("hooks.") + name);
    }
  }
  return out;
}

}  // namespace

bool Linux::HasNamespace(NamespaceType t) const { return FindNamespace(t) != nullptr; }

const Namespace* Linux::FindNamespace(NamespaceType t) const {
  for (const auto& ns : namespaces) {
    if (ns.type == t) return &ns;
  }
  return nullptr;
}

Result<NamespaceType> ParseNamespaceType(std::string_view name) {
  static const std::pair<const char*, NamespaceType> kNames[] = {
      {"pid", NamespaceType::kPid},       {"network", NamespaceType::kNetwork},
      {"mount", NamespaceType::kMount},   {"ipc", NamespaceType::kIpc},
      {"uts", NamespaceType::kUts},       {"user", NamespaceType::kUser},
      {"cgroup", NamespaceType::kCgroup}, {"time", NamespaceType::kTime}};
  for (const auto& [n, t] : kNames) {
    if (name == n) return t;
  }
  return Error::Invalid("unknown namespace type \"" + std::string(name) + "\"");
}

const char* NamespaceTypeName(NamespaceType t) {
  switch (t) {
    case NamespaceType::kPid:
      return "pid";
    case NamespaceType::kNetwork:
      return "network";
    case NamespaceType::kMount:
      return "mount";
    case NamespaceType::kIpc:
      return "ipc";
    case NamespaceType::kUts:
      return "uts";
    case NamespaceType::kUser:
      return "user";
    case NamespaceType::kCgroup:
      return "cgroup";
    case NamespaceType::kTime:
      return "time";
  }
  return "?";
}

// nlohmann::json reports misuse by throwing; none is expected past the type
// checks above, but no exception may leave the module.
Result<ParseResult> ParseSpec(std::string_view json) {
  try {
    return ParseSpecJson(json);
  } catch (const nlohmann::json::exception& e) {
    return Error::Invalid(std::string("config.json: ") + e.what());
  }
}

Result<ParseResult> LoadSpec(const std::string& bundle_dir) {
  std::string path = bundle_dir + "/config.json";
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseSpec(text).Wrap("load " + path);
}

Result<Process> ParseProcess(std::string_view json, std::vector<std::string>* unsupported) {
  try {
    BERTH_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(json));
    Process p;
    {
      JsonReader r(j, "process", unsupported);
      BERTH_TRY(ParseProcessObject(r, &p));
    }
    ReportUnimplemented(p, "process", unsupported);
    return p;
  } catch (const nlohmann::json::exception& e) {
    return Error::Invalid(std::string("process: ") + e.what());
  }
}

Result<Process> ParseProcess(std::string_view json) {
  std::vector<std::string> unsupported;
  BERTH_ASSIGN_OR_RETURN(Process p, ParseProcess(json, &unsupported));
  if (!unsupported.empty()) return Error::Invalid(unsupported.front() + ": not supported");
  return p;
}

}  // namespace berth::runtime
