#include "describe.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include <google/protobuf/util/message_differencer.h>
#include <nlohmann/json.hpp>

#include "describe_internal.h"

#include "berth/api/codec.h"
#include "berth/api/kinds.h"
#include "berth/common/quantity.h"

namespace berth::cli {
namespace {

using namespace describe_internal;  // NOLINT(google-build-using-namespace): describe's own parts

// --- core kinds ---------------------------------------------------------------------

void DescribeService(Writer& w, const v1::Service& svc, const DescribeContext& ctx) {
  const v1::ServiceSpec& spec = svc.spec();
  MetadataBlock(w, svc.metadata());
  LabelsMultiline(w, "Labels", svc.metadata().labels());
  AnnotationsMultiline(w, "Annotations", svc.metadata().annotations());
  Field(w, 0, "Selector", FormatLabels(spec.selector()));
  Field(w, 0, "Type", spec.type());
  // Berth services carry no ipFamilies / ipFamilyPolicy.
  w.Write(0, "IP Families:\t<none>\n");
  Field(w, 0, "IP", spec.cluster_ip());
  std::vector<std::string> ips(spec.cluster_ips().begin(), spec.cluster_ips().end());
  Field(w, 0, "IPs", OrNone(Join(ips, ",")));
  if (!spec.external_name().empty()) {
    Field(w, 0, "External Name", spec.external_name());
  }
  const v1::Endpoints endpoints = ctx.endpoints.value_or(v1::Endpoints());
  for (const v1::ServicePort& p : spec.ports()) {
    const std::string name = p.name().empty() ? "<unset>" : p.name();
    const std::string proto = p.protocol().empty() ? "TCP" : p.protocol();
    w.Write(0, "Port:\t" + name + "\t" + Str(p.port()) + "/" + proto + "\n");
    Field(w, 0, "TargetPort", IntOrString(p.target_port()) + "/" + proto);
    if (p.node_port() != 0) {
      w.Write(0, "NodePort:\t" + name + "\t" + Str(p.node_port()) + "/" + proto + "\n");
    }
    Field(w, 0, "Endpoints", FormatEndpoints(endpoints, p.name()));
  }
  Field(w, 0, "Session Affinity", spec.session_affinity());
}

void DescribeEndpoints(Writer& w, const v1::Endpoints& ep) {
  MetadataBlock(w, ep.metadata());
  LabelsMultiline(w, "Labels", ep.metadata().labels());
  AnnotationsMultiline(w, "Annotations", ep.metadata().annotations());
  w.Write(0, "Subsets:\n");
  for (const v1::EndpointSubset& s : ep.subsets()) {
    std::vector<std::string> ready, not_ready;
    for (const v1::EndpointAddress& a : s.addresses()) ready.push_back(a.ip());
    for (const v1::EndpointAddress& a : s.not_ready_addresses()) not_ready.push_back(a.ip());
    Field(w, 1, "Addresses", OrNone(Join(ready, ",")));
    Field(w, 1, "NotReadyAddresses", OrNone(Join(not_ready, ",")));
    if (!s.ports().empty()) {
      w.Write(1, "Ports:\n");
      w.Write(2, "Name\tPort\tProtocol\n");
      w.Write(2, "----\t----\t--------\n");
      for (const v1::EndpointPort& p : s.ports()) {
        w.Write(2, (p.name().empty() ? "<unset>" : p.name()) + "\t" + Str(p.port()) + "\t" +
                       p.protocol() + "\n");
      }
    }
    w.Write(0, "\n");
  }
}

// A Node's resources as the ResourceList kubectl sorts and prints.
std::map<std::string, std::string> NodeResources(const v1::NodeResources& r) {
  std::map<std::string, std::string> out;
  if (r.cpu_milli() != 0) out["cpu"] = CpuQuantity(r.cpu_milli());
  if (r.memory_bytes() != 0) out["memory"] = ByteQuantity(r.memory_bytes(), true);
  if (r.pods() != 0) out["pods"] = Str(r.pods());
  return out;
}

struct PodResources {
  int64_t cpu_milli = 0;
  int64_t memory = 0;
  bool memory_binary = true;  // how a memory quantity was written: "64Mi" vs "64M"
};

// resourcehelper.PodRequestsAndLimits: the containers' sum, or an init
// container's amount when larger.
void PodTotals(const v1::Pod& pod, bool limits, PodResources* out) {
  auto amounts = [&](const v1::Container& c, int64_t* cpu, int64_t* mem) {
    const StringMap& list = limits ? c.resources().limits() : c.resources().requests();
    if (auto it = list.find("cpu"); it != list.end()) {
      if (auto v = ParseMilliCpu(it->second); v.ok()) *cpu = *v;
    }
    if (auto it = list.find("memory"); it != list.end()) {
      if (auto v = ParseBytes(it->second); v.ok()) *mem = *v;
      out->memory_binary = !it->second.empty() && it->second.back() == 'i';
    }
  };
  int64_t cpu = 0, mem = 0;
  for (const v1::Container& c : pod.spec().containers()) {
    int64_t x = 0, y = 0;
    amounts(c, &x, &y);
    cpu += x;
    mem += y;
  }
  for (const v1::Container& c : pod.spec().init_containers()) {
    int64_t x = 0, y = 0;
    amounts(c, &x, &y);
    cpu = std::max(cpu, x);
    mem = std::max(mem, y);
  }
  out->cpu_milli += cpu;
  out->memory += mem;
}

std::string Percent(int64_t part, int64_t whole) {
  return "(" + Str(whole == 0 ? 0 : static_cast<int64_t>(static_cast<double>(part) / whole * 100)) +
         "%)";
}

void NodePods(Writer& w, const v1::Node& node, const std::vector<v1::Pod>& all,
              Clock::time_point now) {
  std::vector<const v1::Pod*> pods;
  for (const v1::Pod& p : all) {
    const std::string& phase = p.status().phase();
    if (p.spec().node_name() == node.metadata().name() && phase != "Succeeded" &&
        phase != "Failed") {
      pods.push_back(&p);
    }
  }
  const v1::NodeResources& alloc =
      node.status().has_allocatable() ? node.status().allocatable() : node.status().capacity();
  w.Write(0, "Non-terminated Pods:\t(" + Str(static_cast<int64_t>(pods.size())) + " in total)\n");
  w.Write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n");
  w.Write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n");
  PodResources req_total, lim_total;
  for (const v1::Pod* pod : pods) {
    PodResources req, lim;
    PodTotals(*pod, false, &req);
    PodTotals(*pod, true, &lim);
    PodTotals(*pod, false, &req_total);
    PodTotals(*pod, true, &lim_total);
    w.Write(1, pod->metadata().namespace_() + "\t" + pod->metadata().name() + "\t\t" +
                   CpuQuantity(req.cpu_milli) + " " + Percent(req.cpu_milli, alloc.cpu_milli()) +
                   "\t" + CpuQuantity(lim.cpu_milli) + " " +
                   Percent(lim.cpu_milli, alloc.cpu_milli()) + "\t" +
                   ByteQuantity(req.memory, req.memory_binary) + " " +
                   Percent(req.memory, alloc.memory_bytes()) + "\t" +
                   ByteQuantity(lim.memory, lim.memory_binary) + " " +
                   Percent(lim.memory, alloc.memory_bytes()) + "\t" +
                   HumanAge(pod->metadata().creation_timestamp(),
                            pod->metadata().has_creation_timestamp(), now) +
                   "\n");
  }
  w.Write(0,
          "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n");
  w.Write(1, "Resource\tRequests\tLimits\n");
  w.Write(1, "--------\t--------\t------\n");
  w.Write(1, "cpu\t" + CpuQuantity(req_total.cpu_milli) + " " +
                 Percent(req_total.cpu_milli, alloc.cpu_milli()) + "\t" +
                 CpuQuantity(lim_total.cpu_milli) + " " +
                 Percent(lim_total.cpu_milli, alloc.cpu_milli()) + "\n");
  w.Write(1, "memory\t" + ByteQuantity(req_total.memory, req_total.memory_binary) + " " +
                 Percent(req_total.memory, alloc.memory_bytes()) + "\t" +
                 ByteQuantity(lim_total.memory, lim_total.memory_binary) + " " +
                 Percent(lim_total.memory, alloc.memory_bytes()) + "\n");
  w.Write(1, "ephemeral-storage\t0 (0%)\t0 (0%)\n");
}

void DescribeNode(Writer& w, const v1::Node& node, const DescribeContext& ctx,
                  Clock::time_point now) {
  const v1::ObjectMeta& m = node.metadata();
  Field(w, 0, "Name", m.name());
  std::vector<std::string> roles;
  for (const auto& [key, value] : m.labels()) {
    constexpr std::string_view kPrefix = "node-role.kubernetes.io/";
    if (key.size() > kPrefix.size() && key.compare(0, kPrefix.size(), kPrefix) == 0) {
      roles.push_back(key.substr(kPrefix.size()));
    } else if (key == "kubernetes.io/role" && !value.empty()) {
      roles.push_back(value);
    }
  }
  std::sort(roles.begin(), roles.end());
  roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  Field(w, 0, "Roles", OrNone(Join(roles, ",")));
  LabelsMultiline(w, "Labels", m.labels());
  AnnotationsMultiline(w, "Annotations", m.annotations());
  Field(w, 0, "CreationTimestamp", Rfc1123z(m.creation_timestamp(), m.has_creation_timestamp()));
  w.Write(0, "Taints:\t");
  std::vector<const v1::Taint*> taints;
  for (const v1::Taint& t : node.spec().taints()) taints.push_back(&t);
  std::stable_sort(taints.begin(), taints.end(), [](const auto* a, const auto* b) {
    return a->effect() + "," + a->key() < b->effect() + "," + b->key();
  });
  if (taints.empty()) w.Write(0, "<none>\n");
  for (size_t i = 0; i < taints.size(); ++i) {
    // Taint.ToString: key=value:effect, key:effect without a value.
    const v1::Taint& t = *taints[i];
    w.Write(0, std::string(i == 0 ? "" : "\t") + t.key() +
                   (t.value().empty() ? "" : "=" + t.value()) + ":" + t.effect() + "\n");
  }
  Field(w, 0, "Unschedulable", Bool(node.spec().unschedulable()));
  if (ctx.node_lease.has_value()) {
    const v1::LeaseSpec& l = ctx.node_lease->spec();
    w.Write(0, "Lease:\n");
    Field(w, 1, "HolderIdentity", (l.holder_identity().empty() ? "<unset>" : l.holder_identity()));
    Field(w, 1, "AcquireTime",
          (l.has_acquire_time() ? Rfc1123z(l.acquire_time(), true) : "<unset>"));
    Field(w, 1, "RenewTime", (l.has_renew_time() ? Rfc1123z(l.renew_time(), true) : "<unset>"));
  }
  if (!node.status().conditions().empty()) {
    w.Write(
        0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n");
    w.Write(1, "----\t------\t-----------------\t------------------\t------\t-------\n");
    for (const v1::NodeCondition& c : node.status().conditions()) {
      w.Write(1, c.type() + " \t" + c.status() + " \t" +
                     Rfc1123z(c.last_heartbeat_time(), c.has_last_heartbeat_time()) + " \t" +
                     Rfc1123z(c.last_transition_time(), c.has_last_transition_time()) + " \t" +
                     c.reason() + " \t" + c.message() + "\n");
    }
  }
  w.Write(0, "Addresses:\n");
  for (const v1::NodeAddress& a : node.status().addresses()) {
    w.Write(1, a.type() + ":\t" + a.address() + "\n");
  }
  for (const auto& [title, list] :
       {std::pair{"Capacity", NodeResources(node.status().capacity())},
        std::pair{"Allocatable", NodeResources(node.status().allocatable())}}) {
    if (list.empty()) continue;
    w.Write(0, std::string(title) + ":\n");
    for (const auto& [name, value] : list) w.Write(0, "  " + name + ":\t" + value + "\n");
  }
  // Berth's Node has no nodeInfo; only the agent version is known.
  w.Write(0, "System Info:\n");
  for (const char* field : {"Machine ID", "System UUID", "Boot ID", "Kernel Version", "OS Image",
                            "Operating System", "Architecture", "Container Runtime Version"}) {
    w.Write(0, std::string("  ") + field + ":\t\n");
  }
  Field(w, 0, "  Kubelet Version", std::string(kNodeVersion));
  w.Write(0, "  Kube-Proxy Version:\t\n");
  if (!node.spec().pod_cidr().empty()) Field(w, 0, "PodCIDR", node.spec().pod_cidr());
  if (!node.spec().pod_cidrs().empty()) {
    std::vector<std::string> cidrs(node.spec().pod_cidrs().begin(), node.spec().pod_cidrs().end());
    Field(w, 0, "PodCIDRs", Join(cidrs, ","));
  }
  if (ctx.pods.has_value()) NodePods(w, node, *ctx.pods, now);
}

void ResourceQuotas(Writer& w, std::vector<v1::ResourceQuota> quotas) {
  if (quotas.empty()) {
    w.Write(0, "No resource quota.\n");
    return;
  }
  std::stable_sort(quotas.begin(), quotas.end(), [](const auto& a, const auto& b) {
    return a.metadata().name() < b.metadata().name();
  });
  w.Write(0, "Resource Quotas\n");
  for (const v1::ResourceQuota& q : quotas) {
    Field(w, 1, "Name", q.metadata().name());
    w.Write(1, "Resource\tUsed\tHard\n");
    w.Write(1, "--------\t---\t---\n");
    for (const std::string& name : SortedKeys(q.status().hard())) {
      const auto used = q.status().used().find(name);
      w.Write(1, name + "\t" + (used == q.status().used().end() ? "0" : used->second) + "\t" +
                     q.status().hard().at(name) + "\n");
    }
  }
}

void LimitRangeItems(Writer& w, const v1::LimitRange& lr, std::string_view prefix) {
  for (const v1::LimitRangeItem& item : lr.spec().limits()) {
    std::set<std::string> names;
    for (const StringMap* m :
         {&item.max(), &item.min(), &item.default_(), &item.default_request()}) {
      for (const auto& [k, v] : *m) names.insert(k);
    }
    auto value = [](const StringMap& m, const std::string& k) {
      const auto it = m.find(k);
      return it == m.end() ? std::string("-") : it->second;
    };
    for (const std::string& k : names) {
      // Berth's LimitRangeItem has no maxLimitRequestRatio.
      w.Write(0, std::string(prefix) + item.type() + "\t" + k + "\t" + value(item.min(), k) + "\t" +
                     value(item.max(), k) + "\t" + value(item.default_request(), k) + "\t" +
                     value(item.default_(), k) + "\t-\n");
    }
  }
}

void DescribeNamespace(Writer& w, const v1::Namespace& ns, const DescribeContext& ctx) {
  Field(w, 0, "Name", ns.metadata().name());
  LabelsMultiline(w, "Labels", ns.metadata().labels());
  AnnotationsMultiline(w, "Annotations", ns.metadata().annotations());
  Field(w, 0, "Status", ns.status().phase());
  if (ctx.resource_quotas.has_value()) {
    w.Write(0, "\n");
    ResourceQuotas(w, *ctx.resource_quotas);
  }
  if (ctx.limit_ranges.has_value()) {
    w.Write(0, "\n");
    if (ctx.limit_ranges->empty()) {
      w.Write(0, "No LimitRange resource.\n");
    } else {
      w.Write(0,
              "Resource Limits\n Type\tResource\tMin\tMax\tDefault Request\tDefault "
              "Limit\tMax Limit/Request Ratio\n");
      w.Write(0,
              " ----\t--------\t---\t---\t---------------\t-------------\t---------------------"
              "--\n");
      for (const v1::LimitRange& lr : *ctx.limit_ranges) LimitRangeItems(w, lr, " ");
    }
  }
}

void DescribeConfigMap(Writer& w, const v1::ConfigMap& cm) {
  MetadataBlock(w, cm.metadata());
  LabelsMultiline(w, "Labels", cm.metadata().labels());
  AnnotationsMultiline(w, "Annotations", cm.metadata().annotations());
  w.Write(0, "\nData\n====\n");
  for (const std::string& key : SortedKeys(cm.data())) {
    w.Write(0, key + ":\n----\n");
    w.Write(0, cm.data().at(key) + "\n");
  }
  w.Write(0, "\nBinaryData\n====\n");
  std::vector<std::string> binary;
  for (const auto& [key, value] : cm.binary_data()) binary.push_back(key);
  std::sort(binary.begin(), binary.end());
  for (const std::string& key : binary) {
    w.Write(0,
            key + ": " + Str(static_cast<int64_t>(cm.binary_data().at(key).size())) + " bytes\n");
  }
  w.Write(0, "\n");
}

void DescribeSecret(Writer& w, const v1::Secret& secret) {
  MetadataBlock(w, secret.metadata());
  LabelsMultiline(w, "Labels", secret.metadata().labels());
  AnnotationsMultiline(w, "Annotations", secret.metadata().annotations());
  w.Write(0, "\nType:\t" + (secret.type().empty() ? "Opaque" : secret.type()) + "\n");
  w.Write(0, "\nData\n====\n");
  // Sizes only, never values; stringData counts as the data it becomes.
  std::map<std::string, size_t> sizes;
  for (const auto& [key, value] : secret.data()) sizes[key] = value.size();
  for (const auto& [key, value] : secret.string_data()) sizes.emplace(key, value.size());
  for (const auto& [key, size] : sizes) {
    w.Write(0, key + ":\t" + Str(static_cast<int64_t>(size)) + " bytes\n");
  }
}

void DescribeQuota(Writer& w, const v1::ResourceQuota& q) {
  MetadataBlock(w, q.metadata());
  w.Write(0, "Resource\tUsed\tHard\n");
  w.Write(0, "--------\t----\t----\n");
  for (const std::string& name : SortedKeys(q.status().hard())) {
    const auto used = q.status().used().find(name);
    w.Write(0, name + "\t" + (used == q.status().used().end() ? "0" : used->second) + "\t" +
                   q.status().hard().at(name) + "\n");
  }
}

void DescribeLimitRange(Writer& w, const v1::LimitRange& lr) {
  MetadataBlock(w, lr.metadata());
  w.Write(0, "Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n");
  w.Write(0, "----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n");
  LimitRangeItems(w, lr, "");
}

void DescribePriorityClass(Writer& w, const v1::PriorityClass& pc) {
  Field(w, 0, "Name", pc.metadata().name());
  Field(w, 0, "Value", Str(pc.value()));
  Field(w, 0, "GlobalDefault", Bool(pc.global_default()));
  Field(w, 0, "PreemptionPolicy", pc.preemption_policy());
  Field(w, 0, "Description", pc.description());
  Field(w, 0, "Annotations", FormatLabels(pc.metadata().annotations()));
}

// --- the generic describer --------------------------------------------------------------

// github.com/fatih/camelcase.Split: runs of one character class (lower,
// upper, digit, other), an upper run's last letter moved to a lower run
// that follows ("APIVersion" -> "API", "Version").
std::vector<std::string> CamelCaseSplit(const std::string& s) {
  auto cls = [](char c) {
    const unsigned char u = static_cast<unsigned char>(c);
    return std::islower(u) ? 1 : std::isupper(u) ? 2 : std::isdigit(u) ? 3 : 4;
  };
  std::vector<std::string> runs;
  int last = 0;
  for (char c : s) {
    if (cls(c) == last) {
      runs.back() += c;
    } else {
      runs.emplace_back(1, c);
    }
    last = cls(c);
  }
  for (size_t i = 0; i + 1 < runs.size(); ++i) {
    if (cls(runs[i][0]) == 2 && cls(runs[i + 1][0]) == 1) {
      runs[i + 1].insert(runs[i + 1].begin(), runs[i].back());
      runs[i].pop_back();
    }
  }
  std::vector<std::string> out;
  for (std::string& r : runs) {
    if (!r.empty()) out.push_back(std::move(r));
  }
  return out;
}

// smartLabelFor: "holderIdentity" -> "Holder Identity", "apiVersion" ->
// "API Version"; a name with other than letters and '-' stays as it is.
std::string SmartLabel(const std::string& field) {
  for (char c : field) {
    if (!std::isalpha(static_cast<unsigned char>(c)) && c != '-') return field;
  }
  std::vector<std::string> parts;
  for (std::string part : CamelCaseSplit(field)) {
    if (part == "_") continue;
    std::string upper = part;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper == "API" || upper == "URL" || upper == "UID" || upper == "OSB" || upper == "GUID") {
      part = upper;
    } else if (std::islower(static_cast<unsigned char>(part[0]))) {
      part[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(part[0])));
    }
    parts.push_back(part);
  }
  return Join(parts, " ");
}

std::string ScalarText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "<nil>";
  return v.dump();
}

void Unstructured(Writer& w, int level, const nlohmann::json& content, const std::string& prefix) {
  static const std::set<std::string> kSkip = {".metadata.managedFields", ".metadata.name",
                                              ".metadata.namespace", ".metadata.labels",
                                              ".metadata.annotations"};
  for (const auto& [field, value] : content.items()) {  // nlohmann objects are key-sorted
    const std::string path = prefix + "." + field;
    if (kSkip.count(path) != 0) continue;
    if (value.is_object()) {
      w.Write(level, SmartLabel(field) + ":\n");
      Unstructured(w, level + 1, value, path);
    } else if (value.is_array()) {
      w.Write(level, SmartLabel(field) + ":\n");
      for (const nlohmann::json& child : value) {
        if (child.is_object()) {
          Unstructured(w, level + 1, child, path);
        } else {
          w.Write(level + 1, ScalarText(child) + "\n");
        }
      }
    } else {
      w.Write(level, SmartLabel(field) + ":\t" + ScalarText(value) + "\n");
    }
  }
}

void DescribeGeneric(Writer& w, const v1::Object& object) {
  const v1::ObjectMeta& m = api::MetaOf(object);
  MetadataBlock(w, m);
  LabelsMultiline(w, "Labels", m.labels());
  AnnotationsMultiline(w, "Annotations", m.annotations());
  Unstructured(w, 0, api::ToJson(object), "");
}

}  // namespace

std::string Describe(const v1::Object& object, const DescribeContext& ctx, Clock::time_point now) {
  using OC = v1::Object::ObjectCase;
  Writer w;
  bool events = true;
  switch (object.object_case()) {
    case OC::kPod:
      DescribePod(w, object.pod(), now);
      break;
    case OC::kDeployment:
      DescribeDeployment(w, object.deployment(), ctx);
      break;
    case OC::kReplicaSet:
      DescribeReplicaSet(w, object.replica_set(), ctx);
      break;
    case OC::kDaemonSet:
      DescribeDaemonSet(w, object.daemon_set(), ctx);
      break;
    case OC::kJob:
      DescribeJob(w, object.job());
      break;
    case OC::kService:
      DescribeService(w, object.service(), ctx);
      break;
    case OC::kEndpoints:
      DescribeEndpoints(w, object.endpoints());
      break;
    case OC::kNode:
      DescribeNode(w, object.node(), ctx, now);
      break;
    case OC::kConfigMap:
      DescribeConfigMap(w, object.config_map());
      break;
    case OC::kPriorityClass:
      DescribePriorityClass(w, object.priority_class());
      break;
    // kubectl shows no events for these.
    case OC::kNamespace:
      DescribeNamespace(w, object.namespace_(), ctx);
      events = false;
      break;
    case OC::kSecret:
      DescribeSecret(w, object.secret());
      events = false;
      break;
    case OC::kResourceQuota:
      DescribeQuota(w, object.resource_quota());
      events = false;
      break;
    case OC::kLimitRange:
      DescribeLimitRange(w, object.limit_range());
      events = false;
      break;
    case OC::OBJECT_NOT_SET:
      return "";
    default:
      DescribeGeneric(w, object);
      break;
  }
  if (events) Events(w, ctx, object, now);
  return w.Done();
}

std::string Describe(const v1::Object& object, const std::vector<v1::Event>& events,
                     Clock::time_point now) {
  DescribeContext ctx;
  ctx.events = events;
  return Describe(object, ctx, now);
}

}  // namespace berth::cli
