#include "container_fields.h"

#include <set>

#include "berth/common/quantity.h"

namespace berth::nodeagent::detail {

Result<SecurityContext> ParseSecurityContext(const YamlReader& r, const YAML::Node& n,
                                             const std::string& path) {
  BERTH_TRY(r.Keys(n, path,
                   {"runAsUser", "runAsGroup", "readOnlyRootFilesystem", "privileged",
                    "allowPrivilegeEscalation", "capabilities", "seccompProfile"}));
  SecurityContext sc;
  if (n["runAsUser"]) {
    BERTH_ASSIGN_OR_RETURN(sc.run_as_user, r.Int(n["runAsUser"], path + ".runAsUser"));
    if (*sc.run_as_user < 0) return r.Fail(path + ".runAsUser", "must be >= 0");
  }
  if (n["runAsGroup"]) {
    BERTH_ASSIGN_OR_RETURN(sc.run_as_group, r.Int(n["runAsGroup"], path + ".runAsGroup"));
    if (*sc.run_as_group < 0) return r.Fail(path + ".runAsGroup", "must be >= 0");
  }
  if (n["readOnlyRootFilesystem"]) {
    BERTH_ASSIGN_OR_RETURN(sc.read_only_root_filesystem,
                           r.Bool(n["readOnlyRootFilesystem"], path + ".readOnlyRootFilesystem"));
  }
  if (n["privileged"]) {
    BERTH_ASSIGN_OR_RETURN(sc.privileged, r.Bool(n["privileged"], path + ".privileged"));
  }
  if (n["allowPrivilegeEscalation"]) {
    BERTH_ASSIGN_OR_RETURN(
        sc.allow_privilege_escalation,
        r.Bool(n["allowPrivilegeEscalation"], path + ".allowPrivilegeEscalation"));
    if (!*sc.allow_privilege_escalation && sc.privileged) {
      return r.Fail(path,
                    "cannot set `allowPrivilegeEscalation` to false and `privileged` to true");
    }
  }
  if (const YAML::Node caps = n["capabilities"]) {
    BERTH_TRY(r.Keys(caps, path + ".capabilities", {"add", "drop"}));
    if (caps["add"]) {
      BERTH_ASSIGN_OR_RETURN(sc.capabilities_add,
                             r.Strings(caps["add"], path + ".capabilities.add"));
    }
    if (caps["drop"]) {
      BERTH_ASSIGN_OR_RETURN(sc.capabilities_drop,
                             r.Strings(caps["drop"], path + ".capabilities.drop"));
    }
  }
  if (const YAML::Node sp = n["seccompProfile"]) {
    BERTH_TRY(r.Keys(sp, path + ".seccompProfile", {"type"}));
    BERTH_ASSIGN_OR_RETURN(sc.seccomp_profile, r.String(sp["type"], path + ".seccompProfile.type"));
    if (sc.seccomp_profile != "RuntimeDefault" && sc.seccomp_profile != "Unconfined") {
      return r.Fail(path + ".seccompProfile.type",
                    "Unsupported value: \"" + sc.seccomp_profile +
                        "\": supported values: \"RuntimeDefault\", \"Unconfined\"");
    }
  }
  return sc;
}

namespace {

Result<int> ProbePort(const YamlReader& r, const YAML::Node& n, const std::string& path,
                      const std::vector<ContainerPort>& ports) {
  if (!n) return r.Fail(path, "Required value");
  BERTH_ASSIGN_OR_RETURN(std::string text, r.String(n, path));
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    BERTH_ASSIGN_OR_RETURN(int64_t p, r.Int(n, path));
    if (p < 1 || p > 65535) return r.Fail(path, "must be between 1 and 65535, inclusive");
    return static_cast<int>(p);
  }
  for (const ContainerPort& cp : ports) {
    if (cp.name == text) return cp.container_port;
  }
  return r.Fail(path, "no container port named \"" + text + "\"");
}

}  // namespace

Result<Probe> ParseProbe(const YamlReader& r, const YAML::Node& n, const std::string& path,
                         const std::vector<ContainerPort>& ports) {
  BERTH_TRY(r.Keys(n, path,
                   {"exec", "httpGet", "tcpSocket", "initialDelaySeconds", "periodSeconds",
                    "timeoutSeconds", "successThreshold", "failureThreshold"}));
  Probe p;
  int handlers = 0;
  if (const YAML::Node e = n["exec"]) {
    ++handlers;
    BERTH_TRY(r.Keys(e, path + ".exec", {"command"}));
    BERTH_ASSIGN_OR_RETURN(p.command, r.Strings(e["command"], path + ".exec.command"));
    if (p.command.empty()) return r.Fail(path + ".exec.command", "Required value");
  }
  if (const YAML::Node h = n["httpGet"]) {
    ++handlers;
    p.kind = ProbeKind::kHttpGet;
    BERTH_TRY(r.Keys(h, path + ".httpGet", {"path", "port", "scheme"}));
    if (h["path"]) {
      BERTH_ASSIGN_OR_RETURN(p.path, r.String(h["path"], path + ".httpGet.path"));
    }
    if (h["scheme"]) {
      BERTH_ASSIGN_OR_RETURN(std::string scheme, r.String(h["scheme"], path + ".httpGet.scheme"));
      if (scheme != "HTTP") return r.Fail(path + ".httpGet.scheme", "only HTTP is supported");
    }
    BERTH_ASSIGN_OR_RETURN(p.port, ProbePort(r, h["port"], path + ".httpGet.port", ports));
  }
  if (const YAML::Node t = n["tcpSocket"]) {
    ++handlers;
    p.kind = ProbeKind::kTcpSocket;
    BERTH_TRY(r.Keys(t, path + ".tcpSocket", {"port"}));
    BERTH_ASSIGN_OR_RETURN(p.port, ProbePort(r, t["port"], path + ".tcpSocket.port", ports));
  }
  if (handlers != 1) return r.Fail(path, "must specify exactly one handler type");
  struct Field {
    const char* key;
    int64_t* out;
    int64_t min;
  };
  for (const Field& f : {Field{"initialDelaySeconds", &p.initial_delay_seconds, 0},
                         Field{"periodSeconds", &p.period_seconds, 1},
                         Field{"timeoutSeconds", &p.timeout_seconds, 1},
                         Field{"successThreshold", &p.success_threshold, 1},
                         Field{"failureThreshold", &p.failure_threshold, 1}}) {
    if (!n[f.key]) continue;
    const std::string fp = path + "." + f.key;
    BERTH_ASSIGN_OR_RETURN(*f.out, r.Int(n[f.key], fp));
    if (*f.out < f.min) return r.Fail(fp, "must be >= " + std::to_string(f.min));
  }
  return p;
}

Result<std::vector<VolumeMount>> ParseVolumeMounts(const YamlReader& r, const YAML::Node& n,
                                                   const std::string& path) {
  if (!n.IsSequence()) return r.Fail(path, "expected a list");
  std::vector<VolumeMount> out;
  std::set<std::string> paths;
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    BERTH_TRY(r.Keys(n[i], p, {"name", "mountPath", "readOnly"}));
    VolumeMount m;
    BERTH_ASSIGN_OR_RETURN(m.name, r.String(n[i]["name"], p + ".name"));
    BERTH_ASSIGN_OR_RETURN(m.mount_path, r.String(n[i]["mountPath"], p + ".mountPath"));
    if (m.mount_path.empty() || m.mount_path[0] != '/') {
      return r.Fail(p + ".mountPath", "must be an absolute path");
    }
    if (!paths.insert(m.mount_path).second) {
      return r.Fail(p + ".mountPath", "must be unique: \"" + m.mount_path + "\"");
    }
    if (n[i]["readOnly"]) {
      BERTH_ASSIGN_OR_RETURN(m.read_only, r.Bool(n[i]["readOnly"], p + ".readOnly"));
    }
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<Volume>> ParseVolumes(const YamlReader& r, const YAML::Node& n,
                                         const std::string& path) {
  if (!n.IsSequence()) return r.Fail(path, "expected a list");
  std::vector<Volume> out;
  std::set<std::string> names;
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    BERTH_TRY(r.Keys(n[i], p, {"name", "emptyDir", "hostPath", "configMap", "secret"}));
    Volume v;
    BERTH_ASSIGN_OR_RETURN(v.name, r.String(n[i]["name"], p + ".name"));
    if (!names.insert(v.name).second)
      return r.Fail(p + ".name", "Duplicate value: \"" + v.name + "\"");
    int sources = 0;
    if (const YAML::Node e = n[i]["emptyDir"]) {
      ++sources;
      v.kind = VolumeKind::kEmptyDir;
      if (!e.IsNull()) {
        BERTH_TRY(r.Keys(e, p + ".emptyDir", {"medium", "sizeLimit"}));
        if (e["medium"]) {
          BERTH_ASSIGN_OR_RETURN(std::string medium, r.String(e["medium"], p + ".emptyDir.medium"));
          if (medium != "" && medium != "Memory") {
            return r.Fail(p + ".emptyDir.medium", "Unsupported value: \"" + medium + "\"");
          }
          v.memory = medium == "Memory";
        }
        if (e["sizeLimit"]) {
          BERTH_ASSIGN_OR_RETURN(std::string q,
                                 r.String(e["sizeLimit"], p + ".emptyDir.sizeLimit"));
          auto bytes = ParseBytes(q);
          if (!bytes.ok()) return r.Fail(p + ".emptyDir.sizeLimit", bytes.error().message());
          v.size_limit = *bytes;
        }
      }
    }
    if (const YAML::Node h = n[i]["hostPath"]) {
      ++sources;
      v.kind = VolumeKind::kHostPath;
      BERTH_TRY(r.Keys(h, p + ".hostPath", {"path", "type"}));
      BERTH_ASSIGN_OR_RETURN(v.source, r.String(h["path"], p + ".hostPath.path"));
      if (v.source.empty() || v.source[0] != '/') {
        return r.Fail(p + ".hostPath.path", "must be an absolute path");
      }
    }
    if (const YAML::Node c = n[i]["configMap"]) {
      ++sources;
      v.kind = VolumeKind::kConfigMap;
      BERTH_TRY(r.Keys(c, p + ".configMap", {"name", "defaultMode"}));
      BERTH_ASSIGN_OR_RETURN(v.source, r.String(c["name"], p + ".configMap.name"));
      if (c["defaultMode"]) {
        BERTH_ASSIGN_OR_RETURN(int64_t m, r.Int(c["defaultMode"], p + ".configMap.defaultMode"));
        if (m < 0 || m > 0777)
          return r.Fail(p + ".configMap.defaultMode", "must be a number between 0 and 0777");
        v.default_mode = static_cast<int>(m);
      }
    }
    if (const YAML::Node s = n[i]["secret"]) {
      ++sources;
      v.kind = VolumeKind::kSecret;
      v.default_mode = 0400;
      BERTH_TRY(r.Keys(s, p + ".secret", {"secretName", "defaultMode"}));
      BERTH_ASSIGN_OR_RETURN(v.source, r.String(s["secretName"], p + ".secret.secretName"));
      if (s["defaultMode"]) {
        BERTH_ASSIGN_OR_RETURN(int64_t m, r.Int(s["defaultMode"], p + ".secret.defaultMode"));
        if (m < 0 || m > 0777)
          return r.Fail(p + ".secret.defaultMode", "must be a number between 0 and 0777");
        v.default_mode = static_cast<int>(m);
      }
    }
    if (sources != 1) return r.Fail(p, "must specify exactly one volume source");
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace berth::nodeagent::detail
