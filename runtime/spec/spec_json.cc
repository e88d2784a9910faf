// Spec -> config.json text, the inverse of the parser in spec.cc. Keys come
// out in the order runc writes them; optional fields only when set, so a
// parsed config written back matches its input.
#include <nlohmann/json.hpp>

#include "resources_json.h"

#include "berth/runtime/spec.h"

namespace berth::runtime {
namespace {

using Json = nlohmann::ordered_json;

void PutString(Json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

void PutList(Json& j, const char* key, const std::vector<std::string>& v) {
  if (!v.empty()) j[key] = v;
}

Json ProcessToJson(const Process& p) {
  Json j = Json::object();
  j["terminal"] = p.terminal;
  if (p.console_size) {
    j["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
  }
  Json user = {{"uid", p.user.uid}, {"gid", p.user.gid}};
  if (p.user.umask) user["umask"] = *p.user.umask;
  if (!p.user.additional_gids.empty()) user["additionalGids"] = p.user.additional_gids;
  j["user"] = std::move(user);
  j["args"] = p.args;
  PutList(j, "env", p.env);
  j["cwd"] = p.cwd;
  if (p.capabilities) {
    Json caps = Json::object();
    PutList(caps, "bounding", p.capabilities->bounding);
    PutList(caps, "effective", p.capabilities->effective);
    PutList(caps, "inheritable", p.capabilities->inheritable);
    PutList(caps, "permitted", p.capabilities->permitted);
    PutList(caps, "ambient", p.capabilities->ambient);
    j["capabilities"] = std::move(caps);
  }
  if (!p.rlimits.empty()) {
    Json limits = Json::array();
    for (const auto& r : p.rlimits) {
      limits.push_back(Json{{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}});
    }
    j["rlimits"] = std::move(limits);
  }
  if (p.no_new_privileges) j["noNewPrivileges"] = true;
  PutString(j, "apparmorProfile", p.apparmor_profile);
  if (p.oom_score_adj) j["oomScoreAdj"] = *p.oom_score_adj;
  PutString(j, "selinuxLabel", p.selinux_label);
  return j;
}

Json MountToJson(const Mount& m) {
  Json j = {{"destination", m.destination}};
  PutString(j, "type", m.type);
  PutString(j, "source", m.source);
  PutList(j, "options", m.options);
  return j;
}

Json IdMappingsToJson(const std::vector<IdMapping>& mappings) {
  Json out = Json::array();
  for (const auto& m : mappings) {
    out.push_back(Json{{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
  }
  return out;
}

Json SeccompToJson(const Seccomp& s) {
  Json j = {{"defaultAction", s.default_action}};
  if (s.default_errno_ret) j["defaultErrnoRet"] = *s.default_errno_ret;
  PutList(j, "architectures", s.architectures);
  PutList(j, "flags", s.flags);
  if (!s.syscalls.empty()) {
    Json calls = Json::array();
    for (const auto& sc : s.syscalls) {
      Json c = {{"names", sc.names}, {"action", sc.action}};
      if (sc.errno_ret) c["errnoRet"] = *sc.errno_ret;
      if (!sc.args.empty()) {
        Json args = Json::array();
        for (const auto& a : sc.args) {
          Json arg = {{"index", a.index}, {"value", a.value}};
          if (a.value_two != 0) arg["valueTwo"] = a.value_two;
          arg["op"] = a.op;
          args.push_back(std::move(arg));
        }
        c["args"] = std::move(args);
      }
      calls.push_back(std::move(c));
    }
    j["syscalls"] = std::move(calls);
  }
  return j;
}

Json LinuxToJson(const Linux& l) {
  Json j = Json::object();
  if (l.resources) j["resources"] = spec_internal::ResourcesToJson(*l.resources);
  PutString(j, "cgroupsPath", l.cgroups_path);
  if (!l.namespaces.empty()) {
    Json namespaces = Json::array();
    for (const auto& ns : l.namespaces) {
      Json n = {{"type", NamespaceTypeName(ns.type)}};
      PutString(n, "path", ns.path);
      namespaces.push_back(std::move(n));
    }
    j["namespaces"] = std::move(namespaces);
  }
  if (!l.uid_mappings.empty()) j["uidMappings"] = IdMappingsToJson(l.uid_mappings);
  if (!l.gid_mappings.empty()) j["gidMappings"] = IdMappingsToJson(l.gid_mappings);
  if (!l.devices.empty()) {
    Json devices = Json::array();
    for (const auto& d : l.devices) {
      Json dev = {{"path", d.path}, {"type", d.type}, {"major", d.major}, {"minor", d.minor}};
      if (d.file_mode) dev["fileMode"] = *d.file_mode;
      if (d.uid) dev["uid"] = *d.uid;
      if (d.gid) dev["gid"] = *d.gid;
      devices.push_back(std::move(dev));
    }
    j["devices"] = std::move(devices);
  }
  if (!l.sysctl.empty()) j["sysctl"] = l.sysctl;
  if (l.seccomp) j["seccomp"] = SeccompToJson(*l.seccomp);
  PutString(j, "rootfsPropagation", l.rootfs_propagation);
  PutList(j, "maskedPaths", l.masked_paths);
  PutList(j, "readonlyPaths", l.readonly_paths);
  PutString(j, "mountLabel", l.mount_label);
  return j;
}

Json HooksToJson(const Hooks& h) {
  Json j = Json::object();
  const std::pair<const char*, const std::vector<Hook>*> kLists[] = {
      {"prestart", &h.prestart},
      {"createRuntime", &h.create_runtime},
      {"createContainer", &h.create_container},
      {"startContainer", &h.start_container},
      {"poststart", &h.poststart},
      {"poststop", &h.poststop}};
  for (const auto& [key, list] : kLists) {
    if (list->empty()) continue;
    Json hooks = Json::array();
    for (const auto& hook : *list) {
      Json e = {{"path", hook.path}};
      PutList(e, "args", hook.args);
      PutList(e, "env", hook.env);
      if (hook.timeout) e["timeout"] = *hook.timeout;
      hooks.push_back(std::move(e));
    }
    j[key] = std::move(hooks);
  }
  return j;
}

}  // namespace

std::string SpecToJson(const Spec& spec) {
  Json j = {{"ociVersion", spec.oci_version}};
  if (spec.process) j["process"] = ProcessToJson(*spec.process);
  Json root = {{"path", spec.root.path}};
  if (spec.root.readonly) root["readonly"] = true;
  j["root"] = std::move(root);
  PutString(j, "hostname", spec.hostname);
  PutString(j, "domainname", spec.domainname);
  if (!spec.mounts.empty()) {
    Json mounts = Json::array();
    for (const auto& m : spec.mounts) mounts.push_back(MountToJson(m));
    j["mounts"] = std::move(mounts);
  }
  if (spec.hooks) j["hooks"] = HooksToJson(*spec.hooks);
  if (spec.linux_spec) j["linux"] = LinuxToJson(*spec.linux_spec);
  if (!spec.annotations.empty()) j["annotations"] = spec.annotations;
  // replace: a std::string that is not UTF-8 must not make dump() throw.
  return j.dump(1, '\t', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace berth::runtime
