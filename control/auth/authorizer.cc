#include <cctype>
#include <cerrno>

#include "berth/api/kinds.h"
#include "berth/control/auth.h"

namespace berth::control {
namespace {

constexpr std::string_view kLeaseNamespace = "berth-node-lease";

bool IsRead(const std::string& verb) { return verb == "get" || verb == "list" || verb == "watch"; }

// The field selector pins spec.nodeName to `node` ("spec.nodeName=n1" or
// "spec.nodeName==n1" among comma-separated terms).
bool SelectsNode(const std::string& selector, const std::string& node) {
  size_t start = 0;
  while (start <= selector.size()) {
    size_t end = selector.find(',', start);
    if (end == std::string::npos) end = selector.size();
    const std::string term = selector.substr(start, end - start);
    if (term == "spec.nodeName=" + node || term == "spec.nodeName==" + node) return true;
    start = end + 1;
  }
  return false;
}

bool PodUses(const v1::Pod& pod, const std::string& kind, const std::string& name) {
  const bool secret = kind == "Secret";
  for (const auto& v : pod.spec().volumes()) {
    if (secret && v.has_secret() && v.secret().secret_name() == name) return true;
    if (!secret && v.has_config_map() && v.config_map().name() == name) return true;
  }
  for (const auto* list : {&pod.spec().containers(), &pod.spec().init_containers()}) {
    for (const auto& c : *list) {
      for (const auto& e : c.env()) {
        const auto& from = e.value_from();
        if (secret && from.has_secret_key_ref() && from.secret_key_ref().name() == name)
          return true;
        if (!secret && from.has_config_map_key_ref() && from.config_map_key_ref().name() == name) {
          return true;
        }
      }
      for (const auto& ef : c.env_from()) {
        if (secret && ef.has_secret_ref() && ef.secret_ref().name() == name) return true;
        if (!secret && ef.has_config_map_ref() && ef.config_map_ref().name() == name) return true;
      }
    }
  }
  return false;
}

Error Denied(const Principal& who, const Attributes& what, const std::string& why) {
  std::string msg = "User \"" + who.user + "\" cannot " + what.verb + " resource \"" +
                    ResourceOf(what.kind) + (what.status ? "/status" : "") + "\"";
  if (!what.namespace_.empty()) msg += " in namespace \"" + what.namespace_ + "\"";
  if (!why.empty()) msg += ": " + why;
  msg += " (missing permission: " + what.verb + " " + ResourceOf(what.kind) +
         (what.status ? "/status" : "") + ")";
  return Error::Sys(EACCES, msg);
}

}  // namespace

std::string ResourceOf(std::string_view kind) {
  // The usage berth-control keeps in memory (GetMetrics): metrics.k8s.io's.
  if (kind == "NodeMetrics") return "nodes.metrics.k8s.io";
  if (kind == "PodMetrics") return "pods.metrics.k8s.io";
  const api::KindInfo* info = api::FindKind(kind);
  if (info == nullptr) return std::string(kind);
  std::string out(info->plural);
  const auto slash = info->api_version.find('/');
  if (slash != std::string_view::npos) out += "." + std::string(info->api_version.substr(0, slash));
  return out;
}

Status Authorizer::Authorize(const Principal& who, const Attributes& what) const {
  if (who.InGroup(kMastersGroup)) return {};
  if (what.verb == "join") {
    if (who.InGroup(kBootstrappersGroup)) return {};
    return Denied(who, what, "only a bootstrap token may join");
  }
  if (who.InGroup(kViewGroup) && IsRead(what.verb) && what.kind != "Secret") return {};
  if (const std::string node = who.NodeName(); !node.empty()) {
    return AuthorizeNode(who, node, what);
  }
  return Denied(who, what, "");
}

Status Authorizer::AuthorizeNode(const Principal& who, const std::string& node,
                                 const Attributes& what) const {
  const std::string& kind = what.kind;
  if (kind == "Pod") {
    if (what.verb == "list" || what.verb == "watch") {
      if (SelectsNode(what.field_selector, node)) return {};
      return Denied(who, what,
                    "a node lists only its own pods (fieldSelector spec.nodeName=" + node + ")");
    }
    if (what.verb == "get" || what.verb == "delete" || (what.verb == "update" && what.status)) {
      auto pod = registry_.Get({"Pod", what.namespace_, what.name});
      if (!pod.ok()) {
        // Not found: saying so leaks nothing a node may not know.
        if (pod.error().err() == ENOENT) return pod.error();
        return pod.error();
      }
      if (pod->pod().spec().node_name() == node) return {};
      return Denied(who, what, "the pod is not bound to node " + node);
    }
    return Denied(who, what, "");
  }
  if (kind == "Node") {
    if (IsRead(what.verb)) return {};
    if ((what.verb == "create" || what.verb == "update") && what.name == node) return {};
    return Denied(who, what, "a node writes only its own Node object");
  }
  if (kind == "Lease") {
    if (what.namespace_ == kLeaseNamespace && what.name == node &&
        (what.verb == "get" || what.verb == "create" || what.verb == "update")) {
      return {};
    }
    return Denied(who, what, "a node renews only its own lease");
  }
  if (kind == "Secret" || kind == "ConfigMap") {
    if (what.verb == "get" && NodeUses(node, what)) return {};
    std::string lower = kind == "Secret" ? "secret" : "configmap";
    return Denied(who, what,
                  "no pod on node " + node + " uses " + lower + " \"" + what.name + "\"");
  }
  if ((kind == "Service" || kind == "Endpoints") && IsRead(what.verb)) return {};
  if (kind == "NodeMetrics" && what.verb == "create") {
    if (what.name == node) return {};
    return Denied(who, what, "a node reports only its own usage");
  }
  // Events: create, and update to count a repeat (kubelet's rights too).
  if (kind == "Event" && (what.verb == "create" || what.verb == "update")) return {};
  return Denied(who, what, "");
}

bool Authorizer::NodeUses(const std::string& node, const Attributes& what) const {
  auto pods = registry_.List(
      {.kind = "Pod", .namespace_ = what.namespace_, .field_selector = "spec.nodeName=" + node});
  if (!pods.ok()) return false;
  for (const auto& o : pods->items) {
    if (PodUses(o.pod(), what.kind, what.name)) return true;
  }
  return false;
}

}  // namespace berth::control
