#include "manifest.h"

#include <regex>
#include <set>

#include <yaml-cpp/yaml.h>

#include "container_fields.h"
#include "yaml_reader.h"

#include "berth/common/quantity.h"

namespace berth::nodeagent {
namespace {

using detail::Join;

class Parser : public detail::YamlReader {
 public:
  using YamlReader::YamlReader;

  Result<Resources> ParseResources(const YAML::Node& n, const std::string& path) const {
    BERTH_TRY(Keys(n, path, {"requests", "limits"}));
    Resources r;
    for (const char* kind : {"requests", "limits"}) {
      const YAML::Node list = n[kind];
      if (!list) continue;
      const std::string p = path + "." + kind;
      BERTH_TRY(Keys(list, p, {"cpu", "memory"}));
      const bool req = std::string(kind) == "requests";
      if (list["cpu"]) {
        BERTH_ASSIGN_OR_RETURN(std::string q, String(list["cpu"], p + ".cpu"));
        auto v = ParseMilliCpu(q);
        if (!v.ok()) return Fail(p + ".cpu", v.error().message());
        (req ? r.cpu_request_milli : r.cpu_limit_milli) = *v;
      }
      if (list["memory"]) {
        BERTH_ASSIGN_OR_RETURN(std::string q, String(list["memory"], p + ".memory"));
        auto v = ParseBytes(q);
        if (!v.ok()) return Fail(p + ".memory", v.error().message());
        (req ? r.memory_request_bytes : r.memory_limit_bytes) = *v;
      }
    }
    if (r.cpu_request_milli && r.cpu_limit_milli && *r.cpu_request_milli > *r.cpu_limit_milli) {
      return Fail(path + ".requests.cpu", "must be less than or equal to cpu limit");
    }
    if (r.memory_request_bytes && r.memory_limit_bytes &&
        *r.memory_request_bytes > *r.memory_limit_bytes) {
      return Fail(path + ".requests.memory", "must be less than or equal to memory limit");
    }
    return r;
  }

  // env[i]: a literal value, or valueFrom a key of a ConfigMap or Secret
  // (files the agent reads at container start).
  Result<EnvVar> ParseEnvVar(const YAML::Node& n, const std::string& p) const {
    BERTH_TRY(Keys(n, p, {"name", "value", "valueFrom"}));
    EnvVar v;
    if (!n["name"]) return Fail(p + ".name", "Required value");
    BERTH_ASSIGN_OR_RETURN(v.name, String(n["name"], p + ".name"));
    if (v.name.empty() || v.name.find('=') != std::string::npos) {
      return Fail(p + ".name", "\"" + v.name + "\" must be a non-empty name without '='");
    }
    if (n["value"] && n["valueFrom"]) {
      return Fail(p + ".valueFrom", "may not be specified when `value` is not empty");
    }
    if (n["value"]) {
      BERTH_ASSIGN_OR_RETURN(v.value, String(n["value"], p + ".value"));
    }
    if (const YAML::Node from = n["valueFrom"]) {
      const std::string fp = p + ".valueFrom";
      BERTH_TRY(Keys(from, fp, {"configMapKeyRef", "secretKeyRef"}));
      if (from.size() != 1)
        return Fail(fp, "must specify exactly one of configMapKeyRef, secretKeyRef");
      const bool cm = static_cast<bool>(from["configMapKeyRef"]);
      const std::string rp = fp + (cm ? ".configMapKeyRef" : ".secretKeyRef");
      const YAML::Node ref = cm ? from["configMapKeyRef"] : from["secretKeyRef"];
      BERTH_TRY(Keys(ref, rp, {"name", "key", "optional"}));
      KeyRef k;
      k.source = cm ? ConfigSource::kConfigMap : ConfigSource::kSecret;
      if (!ref["name"]) return Fail(rp + ".name", "Required value");
      if (!ref["key"]) return Fail(rp + ".key", "Required value");
      BERTH_ASSIGN_OR_RETURN(k.name, String(ref["name"], rp + ".name"));
      BERTH_ASSIGN_OR_RETURN(k.key, String(ref["key"], rp + ".key"));
      if (ref["optional"]) {
        BERTH_ASSIGN_OR_RETURN(k.optional, Bool(ref["optional"], rp + ".optional"));
      }
      v.value_from = std::move(k);
    }
    return v;
  }

  Result<EnvFromSource> ParseEnvFrom(const YAML::Node& n, const std::string& p) const {
    BERTH_TRY(Keys(n, p, {"configMapRef", "secretRef", "prefix"}));
    EnvFromSource e;
    if (n["prefix"]) {
      BERTH_ASSIGN_OR_RETURN(e.prefix, String(n["prefix"], p + ".prefix"));
    }
    const bool cm = static_cast<bool>(n["configMapRef"]);
    if (cm == static_cast<bool>(n["secretRef"])) {
      return Fail(p, "must specify exactly one of configMapRef, secretRef");
    }
    const std::string rp = p + (cm ? ".configMapRef" : ".secretRef");
    const YAML::Node ref = cm ? n["configMapRef"] : n["secretRef"];
    BERTH_TRY(Keys(ref, rp, {"name", "optional"}));
    e.source = cm ? ConfigSource::kConfigMap : ConfigSource::kSecret;
    if (!ref["name"]) return Fail(rp + ".name", "Required value");
    BERTH_ASSIGN_OR_RETURN(e.name, String(ref["name"], rp + ".name"));
    if (ref["optional"]) {
      BERTH_ASSIGN_OR_RETURN(e.optional, Bool(ref["optional"], rp + ".optional"));
    }
    return e;
  }

  Result<ContainerSpec> ParseContainer(const YAML::Node& n, const std::string& path) const {
    BERTH_TRY(Keys(n, path,
                   {"name", "image", "command", "args", "env", "envFrom", "workingDir", "ports",
                    "resources", "securityContext", "livenessProbe", "readinessProbe",
                    "startupProbe", "lifecycle", "volumeMounts"}));
    ContainerSpec c;
    if (!n["name"]) return Fail(path + ".name", "Required value");
    BERTH_ASSIGN_OR_RETURN(c.name, String(n["name"], path + ".name"));
    static const std::regex kDns1123(R"([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)");
    if (!std::regex_match(c.name, kDns1123)) {
      return Fail(path + ".name", "\"" + c.name + "\" must be a DNS-1123 label");
    }
    if (!n["image"]) return Fail(path + ".image", "Required value");
    BERTH_ASSIGN_OR_RETURN(c.image, String(n["image"], path + ".image"));
    if (c.image.empty()) return Fail(path + ".image", "Required value");
    if (n["command"]) {
      BERTH_ASSIGN_OR_RETURN(c.command, Strings(n["command"], path + ".command"));
    }
    if (n["args"]) {
      BERTH_ASSIGN_OR_RETURN(c.args, Strings(n["args"], path + ".args"));
    }
    if (n["workingDir"]) {
      BERTH_ASSIGN_OR_RETURN(c.working_dir, String(n["workingDir"], path + ".workingDir"));
    }
    if (const YAML::Node env = n["env"]) {
      if (!env.IsSequence()) return Fail(path + ".env", "expected a list");
      for (size_t i = 0; i < env.size(); ++i) {
        BERTH_ASSIGN_OR_RETURN(EnvVar v,
                               ParseEnvVar(env[i], path + ".env[" + std::to_string(i) + "]"));
        c.env.push_back(std::move(v));
      }
    }
    if (const YAML::Node from = n["envFrom"]) {
      if (!from.IsSequence()) return Fail(path + ".envFrom", "expected a list");
      for (size_t i = 0; i < from.size(); ++i) {
        BERTH_ASSIGN_OR_RETURN(EnvFromSource e,
                               ParseEnvFrom(from[i], path + ".envFrom[" + std::to_string(i) + "]"));
        c.env_from.push_back(std::move(e));
      }
    }
    if (const YAML::Node ports = n["ports"]) {
      if (!ports.IsSequence()) return Fail(path + ".ports", "expected a list");
      for (size_t i = 0; i < ports.size(); ++i) {
        const std::string p = path + ".ports[" + std::to_string(i) + "]";
        BERTH_TRY(Keys(ports[i], p, {"name", "containerPort", "protocol"}));
        ContainerPort port;
        if (!ports[i]["containerPort"]) return Fail(p + ".containerPort", "Required value");
        BERTH_ASSIGN_OR_RETURN(int64_t num, Int(ports[i]["containerPort"], p + ".containerPort"));
        if (num < 1 || num > 65535) {
          return Fail(p + ".containerPort", "must be between 1 and 65535, inclusive");
        }
        port.container_port = static_cast<int>(num);
        if (ports[i]["name"]) {
          BERTH_ASSIGN_OR_RETURN(port.name, String(ports[i]["name"], p + ".name"));
        }
        if (ports[i]["protocol"]) {
          BERTH_ASSIGN_OR_RETURN(port.protocol, String(ports[i]["protocol"], p + ".protocol"));
          if (port.protocol != "TCP" && port.protocol != "UDP" && port.protocol != "SCTP") {
            return Fail(p + ".protocol", "Unsupported value: \"" + port.protocol +
                                             "\": supported values: \"SCTP\", \"TCP\", \"UDP\"");
          }
        }
        c.ports.push_back(std::move(port));
      }
    }
    if (n["resources"]) {
      BERTH_ASSIGN_OR_RETURN(c.resources, ParseResources(n["resources"], path + ".resources"));
    }
    if (n["securityContext"]) {
      BERTH_ASSIGN_OR_RETURN(c.security, detail::ParseSecurityContext(*this, n["securityContext"],
                                                                      path + ".securityContext"));
    }
    for (auto [key, out] :
         {std::pair{"livenessProbe", &c.liveness}, std::pair{"readinessProbe", &c.readiness},
          std::pair{"startupProbe", &c.startup}}) {
      if (!n[key]) continue;
      BERTH_ASSIGN_OR_RETURN(*out, detail::ParseProbe(*this, n[key], Join(path, key), c.ports));
    }
    if (const YAML::Node lc = n["lifecycle"]) {
      BERTH_TRY(Keys(lc, path + ".lifecycle", {"preStop"}));
      if (const YAML::Node ps = lc["preStop"]) {
        BERTH_TRY(Keys(ps, path + ".lifecycle.preStop", {"exec"}));
        BERTH_TRY(Keys(ps["exec"], path + ".lifecycle.preStop.exec", {"command"}));
        BERTH_ASSIGN_OR_RETURN(c.pre_stop_exec, Strings(ps["exec"]["command"],
                                                        path + ".lifecycle.preStop.exec.command"));
      }
    }
    if (n["volumeMounts"]) {
      BERTH_ASSIGN_OR_RETURN(c.volume_mounts, detail::ParseVolumeMounts(*this, n["volumeMounts"],
                                                                        path + ".volumeMounts"));
    }
    return c;
  }

  Result<std::vector<ContainerSpec>> ParseContainers(const YAML::Node& n,
                                                     const std::string& path) const {
    if (!n.IsSequence()) return Fail(path, "expected a list");
    std::vector<ContainerSpec> out;
    std::set<std::string> names;
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string p = path + "[" + std::to_string(i) + "]";
      BERTH_ASSIGN_OR_RETURN(ContainerSpec c, ParseContainer(n[i], p));
      if (!names.insert(c.name).second)
        return Fail(p + ".name", "Duplicate value: \"" + c.name + "\"");
      out.push_back(std::move(c));
    }
    return out;
  }

  Result<PodManifest> ParsePod(const YAML::Node& doc) const {
    BERTH_TRY(Keys(doc, "", {"apiVersion", "kind", "metadata", "spec"}));
    BERTH_ASSIGN_OR_RETURN(std::string api, String(doc["apiVersion"], "apiVersion"));
    BERTH_ASSIGN_OR_RETURN(std::string kind, String(doc["kind"], "kind"));
    if (api != "v1" || kind != "Pod") {
      return Fail("kind", "expected apiVersion v1, kind Pod; got " + api + " " + kind);
    }
    PodManifest pod;
    const YAML::Node meta = doc["metadata"];
    if (!meta) return Fail("metadata", "Required value");
    BERTH_TRY(Keys(meta, "metadata", {"name", "namespace", "uid", "labels", "annotations"}));
    if (!meta["name"]) return Fail("metadata.name", "Required value");
    BERTH_ASSIGN_OR_RETURN(pod.name, String(meta["name"], "metadata.name"));
    static const std::regex kDns1123Sub(R"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)");
    if (!std::regex_match(pod.name, kDns1123Sub)) {
      return Fail("metadata.name", "\"" + pod.name + "\" must be a DNS-1123 subdomain");
    }
    if (meta["namespace"]) {
      BERTH_ASSIGN_OR_RETURN(pod.namespace_, String(meta["namespace"], "metadata.namespace"));
    }
    if (meta["uid"]) {
      BERTH_ASSIGN_OR_RETURN(pod.uid, String(meta["uid"], "metadata.uid"));
    }
    if (meta["labels"]) {
      BERTH_ASSIGN_OR_RETURN(pod.labels, StringMap(meta["labels"], "metadata.labels"));
    }
    if (meta["annotations"]) {
      BERTH_ASSIGN_OR_RETURN(pod.annotations,
                             StringMap(meta["annotations"], "metadata.annotations"));
    }
    const YAML::Node spec = doc["spec"];
    if (!spec) return Fail("spec", "Required value");
    BERTH_TRY(Keys(spec, "spec",
                   {"containers", "initContainers", "restartPolicy",
                    "terminationGracePeriodSeconds", "shareProcessNamespace", "volumes"}));
    if (!spec["containers"]) return Fail("spec.containers", "Required value");
    BERTH_ASSIGN_OR_RETURN(pod.containers, ParseContainers(spec["containers"], "spec.containers"));
    if (pod.containers.empty()) return Fail("spec.containers", "Required value");
    if (spec["initContainers"]) {
      BERTH_ASSIGN_OR_RETURN(pod.init_containers,
                             ParseContainers(spec["initContainers"], "spec.initContainers"));
      for (size_t i = 0; i < pod.init_containers.size(); ++i) {
        for (const auto& c : pod.containers) {
          if (c.name == pod.init_containers[i].name) {
            return Fail("spec.initContainers[" + std::to_string(i) + "].name",
                        "Duplicate value: \"" + c.name + "\"");
          }
        }
      }
    }
    if (spec["restartPolicy"]) {
      BERTH_ASSIGN_OR_RETURN(std::string p, String(spec["restartPolicy"], "spec.restartPolicy"));
      if (p == "Always") {
        pod.restart_policy = RestartPolicy::kAlways;
      } else if (p == "OnFailure") {
        pod.restart_policy = RestartPolicy::kOnFailure;
      } else if (p == "Never") {
        pod.restart_policy = RestartPolicy::kNever;
      } else {
        return Fail("spec.restartPolicy",
                    "Unsupported value: \"" + p +
                        "\": supported values: \"Always\", \"OnFailure\", \"Never\"");
      }
    }
    if (spec["terminationGracePeriodSeconds"]) {
      BERTH_ASSIGN_OR_RETURN(
          pod.termination_grace_period_seconds,
          Int(spec["terminationGracePeriodSeconds"], "spec.terminationGracePeriodSeconds"));
      if (pod.termination_grace_period_seconds < 0) {
        return Fail("spec.terminationGracePeriodSeconds", "must be >= 0");
      }
    }
    if (spec["shareProcessNamespace"]) {
      BERTH_ASSIGN_OR_RETURN(pod.share_process_namespace,
                             Bool(spec["shareProcessNamespace"], "spec.shareProcessNamespace"));
    }
    if (spec["volumes"]) {
      BERTH_ASSIGN_OR_RETURN(pod.volumes,
                             detail::ParseVolumes(*this, spec["volumes"], "spec.volumes"));
    }
    // Every mount names a volume of the pod.
    for (const auto* list : {&pod.init_containers, &pod.containers}) {
      const std::string field = list == &pod.containers ? "spec.containers" : "spec.initContainers";
      for (size_t i = 0; i < list->size(); ++i) {
        const auto& mounts = (*list)[i].volume_mounts;
        for (size_t m = 0; m < mounts.size(); ++m) {
          bool found = false;
          for (const Volume& v : pod.volumes) found = found || v.name == mounts[m].name;
          if (!found) {
            return Fail(
                field + "[" + std::to_string(i) + "].volumeMounts[" + std::to_string(m) + "].name",
                "Not found: \"" + mounts[m].name + "\"");
          }
        }
      }
    }
    return pod;
  }
};

}  // namespace

Result<PodManifest> ParsePodManifest(std::string_view yaml, std::string_view what) {
  Parser p{std::string(what)};
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Error::Invalid(std::string(what) + ": YAML: " + e.what());
  }
  if (!doc || doc.IsNull()) return Error::Invalid(std::string(what) + ": empty document");
  try {
    return p.ParsePod(doc);
  } catch (const YAML::Exception& e) {
    // Malformed structure yaml-cpp noticed while we walked it.
    return Error::Invalid(std::string(what) + ": " + e.what());
  }
}

}  // namespace berth::nodeagent
