#include "agent_config.h"

#include <unistd.h>

#include <climits>

#include <yaml-cpp/yaml.h>

#include "yaml_reader.h"

#include "berth/common/file.h"
#include "berth/common/quantity.h"

namespace berth::nodeagent {
namespace {

// "10s", "5m", "250ms", "1h".
Result<std::chrono::milliseconds> ParseDuration(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) != 0)) ++i;
  if (i == 0) return Error::Invalid("\"" + s + "\": expected a duration like 10s or 5m");
  const int64_t n = std::stoll(s.substr(0, i));
  const std::string unit = s.substr(i);
  if (unit == "ms") return std::chrono::milliseconds(n);
  if (unit == "s") return std::chrono::milliseconds(n * 1000);
  if (unit == "m") return std::chrono::milliseconds(n * 60000);
  if (unit == "h") return std::chrono::milliseconds(n * 3600000);
  return Error::Invalid("\"" + s + "\": unknown unit (ms, s, m, h)");
}

class ConfigParser : public detail::YamlReader {
 public:
  using YamlReader::YamlReader;

  Status Path(const YAML::Node& n, const char* key, std::filesystem::path* out) const {
    if (!n[key]) return Ok();
    BERTH_ASSIGN_OR_RETURN(std::string s, String(n[key], key));
    *out = s;
    return Ok();
  }

  Result<AgentConfig> Parse(const YAML::Node& root) const {
    AgentConfig c;
    if (!root || root.IsNull()) return c;
    BERTH_TRY(Keys(root, "",
                   {"nodeName",
                    "manifestDir",
                    "stateDir",
                    "runDir",
                    "configDir",
                    "logDir",
                    "imageStore",
                    "registriesConfig",
                    "cgroupRoot",
                    "socket",
                    "httpListen",
                    "shim",
                    "network",
                    "reserved",
                    "maxPods",
                    "restartBackoff",
                    "logs",
                    "nodeIP",
                    "bpfPinDir",
                    "serviceCgroup",
                    "nodePortInterface",
                    "clusterDNS",
                    "clusterDomain",
                    "usageReportSeconds"}));
    if (root["nodeName"]) {
      BERTH_ASSIGN_OR_RETURN(c.node_name, String(root["nodeName"], "nodeName"));
    }
    BERTH_TRY(Path(root, "manifestDir", &c.manifest_dir));
    BERTH_TRY(Path(root, "stateDir", &c.state_dir));
    BERTH_TRY(Path(root, "runDir", &c.run_dir));
    BERTH_TRY(Path(root, "configDir", &c.config_dir));
    BERTH_TRY(Path(root, "logDir", &c.log_dir));
    BERTH_TRY(Path(root, "imageStore", &c.image_store));
    BERTH_TRY(Path(root, "registriesConfig", &c.registries_config));
    BERTH_TRY(Path(root, "socket", &c.socket));
    BERTH_TRY(Path(root, "shim", &c.shim_binary));
    if (root["cgroupRoot"]) {
      BERTH_ASSIGN_OR_RETURN(c.cgroup_root, String(root["cgroupRoot"], "cgroupRoot"));
    }
    if (root["httpListen"]) {
      BERTH_ASSIGN_OR_RETURN(c.http_listen, String(root["httpListen"], "httpListen"));
    }
    for (auto [key, out] :
         {std::pair{"nodeIP", &c.node_ip}, std::pair{"serviceCgroup", &c.service_cgroup},
          std::pair{"nodePortInterface", &c.node_port_interface},
          std::pair{"clusterDNS", &c.cluster_dns}, std::pair{"clusterDomain", &c.cluster_domain}}) {
      if (root[key]) {
        BERTH_ASSIGN_OR_RETURN(*out, String(root[key], key));
      }
    }
    if (!c.node_ip.empty()) {
      if (auto ip = IpAddress::Parse(c.node_ip); !ip.ok())
        return Fail("nodeIP", ip.error().message());
    }
    if (!c.cluster_dns.empty()) {
      if (auto ip = IpAddress::Parse(c.cluster_dns); !ip.ok()) {
        return Fail("clusterDNS", ip.error().message());
      }
    }
    BERTH_TRY(Path(root, "bpfPinDir", &c.bpf_pin_dir));
    if (root["maxPods"]) {
      BERTH_ASSIGN_OR_RETURN(c.max_pods, Int(root["maxPods"], "maxPods"));
    }
    if (root["usageReportSeconds"]) {
      BERTH_ASSIGN_OR_RETURN(int64_t s, Int(root["usageReportSeconds"], "usageReportSeconds"));
      if (s < 1 || s > 3600) {
        return Fail("usageReportSeconds",
                    "Invalid value: " + std::to_string(s) + ": must be between 1 and 3600");
      }
      c.usage_report_interval = std::chrono::seconds(s);
    }
    if (const YAML::Node net = root["network"]) {
      BERTH_TRY(Keys(
          net, "network",
          {"mode", "bridge", "podCIDR", "podCIDRv6", "nodeNetns", "mtu", "stateDir", "netnsDir"}));
      if (net["mode"]) {
        BERTH_ASSIGN_OR_RETURN(std::string mode, String(net["mode"], "network.mode"));
        if (mode != "bridge" && mode != "routed") {
          return Fail("network.mode", "Unsupported value: \"" + mode + "\": bridge, routed");
        }
        c.network.mode = mode == "bridge" ? netns::NodeMode::kBridge : netns::NodeMode::kRouted;
      }
      if (net["bridge"]) {
        BERTH_ASSIGN_OR_RETURN(c.network.bridge, String(net["bridge"], "network.bridge"));
      }
      for (const char* key : {"podCIDR", "podCIDRv6"}) {
        if (!net[key]) continue;
        const std::string p = std::string("network.") + key;
        BERTH_ASSIGN_OR_RETURN(std::string text, String(net[key], p));
        auto prefix = IpPrefix::Parse(text);
        if (!prefix.ok()) return Fail(p, prefix.error().message());
        (std::string(key) == "podCIDR" ? c.network.pod_cidr_v4 : c.network.pod_cidr_v6) = *prefix;
      }
      BERTH_TRY(Path(net, "nodeNetns", &c.network.node_netns));
      BERTH_TRY(Path(net, "stateDir", &c.network.state_dir));
      BERTH_TRY(Path(net, "netnsDir", &c.network.netns_dir));
      if (net["mtu"]) {
        BERTH_ASSIGN_OR_RETURN(int64_t mtu, Int(net["mtu"], "network.mtu"));
        c.network.mtu = static_cast<int>(mtu);
      }
    }
    if (const YAML::Node r = root["reserved"]) {
      BERTH_TRY(Keys(r, "reserved", {"cpu", "memory"}));
      if (r["cpu"]) {
        BERTH_ASSIGN_OR_RETURN(std::string q, String(r["cpu"], "reserved.cpu"));
        auto v = ParseMilliCpu(q);
        if (!v.ok()) return Fail("reserved.cpu", v.error().message());
        c.reserved_cpu_milli = *v;
      }
      if (r["memory"]) {
        BERTH_ASSIGN_OR_RETURN(std::string q, String(r["memory"], "reserved.memory"));
        auto v = ParseBytes(q);
        if (!v.ok()) return Fail("reserved.memory", v.error().message());
        c.reserved_memory_bytes = *v;
      }
    }
    if (const YAML::Node b = root["restartBackoff"]) {
      BERTH_TRY(Keys(b, "restartBackoff", {"base", "max", "reset"}));
      for (auto [key, out] : {std::pair{"base", &c.backoff.base}, std::pair{"max", &c.backoff.max},
                              std::pair{"reset", &c.backoff.reset}}) {
        if (!b[key]) continue;
        const std::string p = std::string("restartBackoff.") + key;
        BERTH_ASSIGN_OR_RETURN(std::string text, String(b[key], p));
        auto d = ParseDuration(text);
        if (!d.ok()) return Fail(p, d.error().message());
        *out = *d;
      }
    }
    if (const YAML::Node l = root["logs"]) {
      BERTH_TRY(Keys(l, "logs", {"maxSize", "maxFiles"}));
      if (l["maxSize"]) {
        BERTH_ASSIGN_OR_RETURN(std::string q, String(l["maxSize"], "logs.maxSize"));
        auto v = ParseBytes(q);
        if (!v.ok() || *v <= 0) return Fail("logs.maxSize", "must be a positive quantity");
        c.log_max_bytes = static_cast<uint64_t>(*v);
      }
      if (l["maxFiles"]) {
        BERTH_ASSIGN_OR_RETURN(int64_t n, Int(l["maxFiles"], "logs.maxFiles"));
        if (n < 1) return Fail("logs.maxFiles", "must be at least 1");
        c.log_max_files = static_cast<int>(n);
      }
    }
    return c;
  }
};

}  // namespace

Result<AgentConfig> ParseAgentConfig(std::string_view yaml, std::string_view what) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Error::Invalid(std::string(what) + ": " + e.what());
  }
  return ConfigParser(std::string(what)).Parse(root);
}

Result<AgentConfig> LoadAgentConfig(const std::filesystem::path& path) {
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseAgentConfig(text, path.string());
}

Status FinishAgentConfig(AgentConfig* c, const std::filesystem::path& self_exe) {
  if (c->node_name.empty()) {
    char host[HOST_NAME_MAX + 1] = {};
    if (::gethostname(host, sizeof(host) - 1) < 0) return Error::FromErrno("gethostname");
    c->node_name = host;
  }
  if (c->shim_binary.empty()) c->shim_binary = self_exe.parent_path() / "berth-shim";
  if (c->bpf_pin_dir.empty()) c->bpf_pin_dir = "/sys/fs/bpf/berth/" + c->node_name;
  // A cluster member gets its pod CIDR from berth-control.
  if (!c->cluster && !c->network.pod_cidr_v4 && !c->network.pod_cidr_v6) {
    return Error::Invalid("network.podCIDR: Required value (the node's pod address range)");
  }
  if (::access(c->shim_binary.c_str(), X_OK) < 0) {
    return Error::FromErrno("shim " + c->shim_binary.string());
  }
  return Ok();
}

}  // namespace berth::nodeagent
