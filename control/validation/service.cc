// Service and Endpoints, after Kubernetes' ValidateService,
// ValidateServiceUpdate and ValidateEndpoints. Node-port ranges and
// cluster-IP ranges are the allocator's business, not checked here.
#include <set>

#include "validation_internal.h"

namespace berth::control::internal {
namespace {

constexpr std::string_view kIpRule =
    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
// Kubernetes' MaxClientIPServiceAffinitySeconds (one day).
constexpr int32_t kMaxAffinitySeconds = 86400;

void ValidateProtocol(const std::string& path, const std::string& protocol, ErrorList& errs) {
  if (protocol.empty()) {
    errs.Required(path);
  } else if (protocol != "TCP" && protocol != "UDP" && protocol != "SCTP") {
    errs.Unsupported(path, protocol, {"SCTP", "TCP", "UDP"});
  }
}

void ValidatePortNumber(const std::string& path, int64_t port, ErrorList& errs) {
  if (port < 1 || port > 65535) errs.InvalidInt(path, port, InclusiveRange(1, 65535));
}

void ValidateServicePorts(const v1::ServiceSpec& spec, ErrorList& errs) {
  const std::string path = "spec.ports";
  const bool require_name = spec.ports_size() > 1;
  std::set<std::string> names;
  std::set<std::string> port_keys;
  std::set<std::string> node_port_keys;
  for (int i = 0; i < spec.ports_size(); ++i) {
    const v1::ServicePort& p = spec.ports(i);
    const std::string at = Index(path, i);
    if (p.name().empty()) {
      if (require_name) errs.Required(Child(at, "name"));
    } else {
      ValidateDns1123Label(Child(at, "name"), p.name(), errs);
      if (!names.insert(p.name()).second) errs.Duplicate(Child(at, "name"), Quote(p.name()));
    }
    ValidatePortNumber(Child(at, "port"), p.port(), errs);
    ValidateProtocol(Child(at, "protocol"), p.protocol(), errs);
    ValidatePortNumOrName(p.target_port(), Child(at, "targetPort"), errs);
    if (p.node_port() != 0) {
      if (spec.type() != "NodePort") {
        errs.Forbidden(Child(at, "nodePort"),
                       "may not be used when `type` is '" + spec.type() + "'");
      }
      ValidatePortNumber(Child(at, "nodePort"), p.node_port(), errs);
      const std::string key = std::to_string(p.node_port()) + "/" + p.protocol();
      if (!node_port_keys.insert(key).second) {
        errs.Duplicate(Child(at, "nodePort"), std::to_string(p.node_port()));
      }
    }
    const std::string key = std::to_string(p.port()) + "/" + p.protocol();
    if (!port_keys.insert(key).second) errs.Duplicate(at, Quote(key));
  }
}

void ValidateClusterIp(const v1::ServiceSpec& spec, ErrorList& errs) {
  const std::string& ip = spec.cluster_ip();
  if (spec.type() == "ExternalName") {
    if (!ip.empty()) errs.Forbidden("spec.clusterIP", "may not be set for ExternalName services");
    return;
  }
  if (!ip.empty() && ip != "None" && !IsIp(ip)) {
    errs.InvalidString("spec.clusterIP", ip, "must be empty, 'None', or a valid IP address");
  }
  if (ip == "None" && spec.type() == "NodePort") {
    errs.InvalidString("spec.clusterIP", ip, "may not be set to 'None' for NodePort services");
  }
  const auto& ips = spec.cluster_ips();
  if (ips.size() > 2) {
    errs.InvalidOmitted("spec.clusterIPs", "may only hold up to 2 values");
  }
  for (int i = 0; i < ips.size(); ++i) {
    const std::string at = Index("spec.clusterIPs", i);
    if (i == 0 && ips.Get(0) != ip) {
      errs.InvalidString(at, ips.Get(0), "must match `clusterIP`");
    } else if (i > 0 && !IsIp(ips.Get(i))) {
      errs.InvalidString(at, ips.Get(i), kIpRule);
    }
  }
}

void ValidateSessionAffinity(const v1::ServiceSpec& spec, ErrorList& errs) {
  const std::string path = "spec.sessionAffinity";
  const std::string config = "spec.sessionAffinityConfig";
  if (spec.session_affinity().empty()) {
    errs.Required(path);
  } else if (spec.session_affinity() != "None" && spec.session_affinity() != "ClientIP") {
    errs.Unsupported(path, spec.session_affinity(), {"ClientIP", "None"});
  }
  if (spec.session_affinity() == "ClientIP") {
    const std::string why = "when session affinity type is ClientIP";
    if (!spec.has_session_affinity_config()) {
      errs.Required(config, why);
    } else if (!spec.session_affinity_config().has_client_ip()) {
      errs.Required(Child(config, "clientIP"), why);
    } else if (!spec.session_affinity_config().client_ip().has_timeout_seconds()) {
      errs.Required(Child(config, "clientIP.timeoutSeconds"), why);
    } else {
      const int32_t t = spec.session_affinity_config().client_ip().timeout_seconds();
      if (t <= 0 || t > kMaxAffinitySeconds) {
        errs.InvalidInt(
            Child(config, "clientIP.timeoutSeconds"), t,
            "must be greater than 0 and less than " + std::to_string(kMaxAffinitySeconds));
      }
    }
  } else if (spec.session_affinity() == "None" && spec.has_session_affinity_config()) {
    errs.InvalidOmitted(config, "must not be set when session affinity is None");
  }
}

}  // namespace

void ValidateKind(const v1::Service& svc, ErrorList& errs) {
  const v1::ServiceSpec& spec = svc.spec();
  const std::string& type = spec.type();
  if (type != "ClusterIP" && type != "NodePort" && type != "ExternalName") {
    // LoadBalancer needs a cloud provider: Berth has none.
    errs.Unsupported("spec.type", type, {"ClusterIP", "ExternalName", "NodePort"});
  }
  const bool headless = spec.cluster_ip() == "None";
  if (spec.ports().empty() && !headless && type != "ExternalName") errs.Required("spec.ports");
  if (type == "ExternalName") {
    std::string name = spec.external_name();
    if (!name.empty() && name.back() == '.') name.pop_back();  // a fully-qualified name
    if (name.empty()) {
      errs.Required("spec.externalName");
    } else {
      ValidateDns1123Subdomain("spec.externalName", name, errs);
    }
  }
  ValidateServicePorts(spec, errs);
  ValidateLabels(spec.selector(), "spec.selector", errs);
  ValidateClusterIp(spec, errs);
  ValidateSessionAffinity(spec, errs);
}

void ValidateKindUpdate(const v1::Service& updated, const v1::Service& old, ErrorList& errs) {
  // The allocated cluster IP stays for the Service's life, unless it turns
  // into (or comes from) an ExternalName, which has none. Callers carry an
  // omitted clusterIP over from the stored object before validating, as the
  // apiserver's PrepareForUpdate does.
  if (updated.spec().type() == "ExternalName" || old.spec().type() == "ExternalName") return;
  if (!old.spec().cluster_ip().empty() && updated.spec().cluster_ip() != old.spec().cluster_ip()) {
    errs.InvalidString("spec.clusterIP", updated.spec().cluster_ip(), kImmutable);
  }
}

void ValidateKind(const v1::Endpoints& ep, ErrorList& errs) {
  for (int i = 0; i < ep.subsets_size(); ++i) {
    const v1::EndpointSubset& s = ep.subsets(i);
    const std::string at = Index("subsets", i);
    if (s.addresses().empty() && s.not_ready_addresses().empty()) {
      errs.Required(at, "must specify `addresses` or `notReadyAddresses`");
    }
    for (const bool ready : {true, false}) {
      const auto& list = ready ? s.addresses() : s.not_ready_addresses();
      const std::string list_path = Child(at, ready ? "addresses" : "notReadyAddresses");
      for (int j = 0; j < list.size(); ++j) {
        const v1::EndpointAddress& a = list.Get(j);
        const std::string ap = Index(list_path, j);
        if (!IsIp(a.ip())) errs.InvalidString(Child(ap, "ip"), a.ip(), kIpRule);
        if (!a.hostname().empty()) ValidateDns1123Label(Child(ap, "hostname"), a.hostname(), errs);
        if (!a.node_name().empty()) {
          ValidateDns1123Subdomain(Child(ap, "nodeName"), a.node_name(), errs);
        }
      }
    }
    std::set<std::string> names;
    for (int j = 0; j < s.ports_size(); ++j) {
      const v1::EndpointPort& p = s.ports(j);
      const std::string pp = Index(Child(at, "ports"), j);
      if (p.name().empty()) {
        if (s.ports_size() > 1) errs.Required(Child(pp, "name"));
      } else {
        ValidateDns1123Label(Child(pp, "name"), p.name(), errs);
        if (!names.insert(p.name()).second) errs.Duplicate(Child(pp, "name"), Quote(p.name()));
      }
      ValidatePortNumber(Child(pp, "port"), p.port(), errs);
      ValidateProtocol(Child(pp, "protocol"), p.protocol(), errs);
    }
  }
}

}  // namespace berth::control::internal
