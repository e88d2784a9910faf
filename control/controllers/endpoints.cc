#include "berth/control/controllers/endpoints.h"

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>
#include <tuple>

#include <google/protobuf/util/message_differencer.h>

#include "berth/control/controllers/pods.h"
#include "berth/control/controllers/resource_list.h"

namespace berth::control {
namespace {

using google::protobuf::util::MessageDifferencer;
using ProtoLabels = google::protobuf::Map<std::string, std::string>;

// A Service selector (matchLabels only) against a label set.
bool Selects(const ProtoLabels& selector, const ProtoLabels& labels) {
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

std::string ProtocolOf(const std::string& protocol) { return protocol.empty() ? "TCP" : protocol; }

// podutil.FindPort: a number as is; a name among the container ports with
// that name and the Service port's protocol.
std::optional<int32_t> TargetPort(const v1::ServicePort& sp, const v1::Pod& pod) {
  const google::protobuf::Value& target = sp.target_port();
  if (target.has_number_value()) return static_cast<int32_t>(target.number_value());
  if (!target.has_string_value() || target.string_value().empty()) return sp.port();
  for (const v1::Container& c : pod.spec().containers()) {
    for (const v1::ContainerPort& p : c.ports()) {
      if (p.name() == target.string_value() &&
          ProtocolOf(p.protocol()) == ProtocolOf(sp.protocol())) {
        return p.container_port();
      }
    }
  }
  return std::nullopt;
}

std::tuple<const std::string&, int32_t, const std::string&> PortOrder(const v1::EndpointPort& p) {
  return {p.name(), p.port(), p.protocol()};
}

auto AddressOrder(const v1::EndpointAddress& a) {
  return std::tie(a.ip(), a.target_ref().namespace_(), a.target_ref().name());
}

void SortAddresses(google::protobuf::RepeatedPtrField<v1::EndpointAddress>& list) {
  std::sort(list.begin(), list.end(),
            [](const auto& a, const auto& b) { return AddressOrder(a) < AddressOrder(b); });
}

bool SameSubsets(const google::protobuf::RepeatedPtrField<v1::EndpointSubset>& current,
                 const std::vector<v1::EndpointSubset>& desired) {
  if (current.size() != static_cast<int>(desired.size())) return false;
  for (size_t i = 0; i < desired.size(); ++i) {
    if (!MessageDifferencer::Equals(current.Get(static_cast<int>(i)), desired[i])) return false;
  }
  return true;
}

std::map<std::string, std::string> DesiredLabels(const v1::Service& svc) {
  std::map<std::string, std::string> labels(svc.metadata().labels().begin(),
                                            svc.metadata().labels().end());
  if (svc.spec().cluster_ip() == "None") labels[std::string(kHeadlessServiceLabel)] = "";
  return labels;
}

}  // namespace

std::vector<v1::EndpointSubset> DesiredSubsets(const v1::Service& svc,
                                               const std::vector<v1::Object>& pods) {
  const bool publish = svc.spec().publish_not_ready_addresses();
  // Subsets by their ports (endpoints.RepackSubsets), keyed by the sorted
  // port list so the map's order is the subsets' order.
  std::map<std::vector<std::tuple<std::string, int32_t, std::string>>, v1::EndpointSubset> subsets;
  for (const v1::Object& o : pods) {
    if (!o.has_pod()) continue;
    const v1::Pod& pod = o.pod();
    if (pod.status().pod_ip().empty() || IsTerminal(pod)) continue;
    const bool terminating = pod.metadata().has_deletion_timestamp();
    if (terminating && !publish) continue;
    std::vector<v1::EndpointPort> ports;
    for (const v1::ServicePort& sp : svc.spec().ports()) {
      const std::optional<int32_t> port = TargetPort(sp, pod);
      if (!port) continue;  // Kubernetes logs "failed to find port" and skips it
      v1::EndpointPort& ep = ports.emplace_back();
      ep.set_name(sp.name());
      ep.set_port(*port);
      ep.set_protocol(ProtocolOf(sp.protocol()));
    }
    if (ports.empty() && svc.spec().ports_size() > 0) continue;
    std::sort(ports.begin(), ports.end(),
              [](const auto& a, const auto& b) { return PortOrder(a) < PortOrder(b); });
    std::vector<std::tuple<std::string, int32_t, std::string>> key;
    key.reserve(ports.size());
    for (const auto& p : ports) key.emplace_back(p.name(), p.port(), p.protocol());
    v1::EndpointSubset& subset = subsets[key];
    if (subset.ports().empty()) {
      for (auto& p : ports) *subset.add_ports() = std::move(p);
    }
    const bool ready = publish || (IsReady(pod) && !terminating);
    v1::EndpointAddress& address =
        ready ? *subset.add_addresses() : *subset.add_not_ready_addresses();
    address.set_ip(pod.status().pod_ip());
    address.set_node_name(pod.spec().node_name());
    v1::ObjectReference& ref = *address.mutable_target_ref();
    ref.set_kind("Pod");
    ref.set_namespace_(pod.metadata().namespace_());
    ref.set_name(pod.metadata().name());
    ref.set_uid(pod.metadata().uid());
  }
  std::vector<v1::EndpointSubset> out;
  out.reserve(subsets.size());
  for (auto& [key, subset] : subsets) {
    SortAddresses(*subset.mutable_addresses());
    SortAddresses(*subset.mutable_not_ready_addresses());
    out.push_back(std::move(subset));
  }
  return out;
}

EndpointsController::EndpointsController(Registry& registry, Informer& services, Informer& pods,
                                         EndpointsOptions options)
    : registry_(registry),
      services_(services),
      pods_(pods),
      options_(options),
      runner_("endpoints", queue_, [this](const std::string& key) { return Sync(key); }) {
  services_.AddHandler(
      [this](const ObjectEvent& e, const v1::Object*) { queue_.Add(KeyOf(e.object)); });
  pods_.AddHandler([this](const ObjectEvent& e, const v1::Object* old) { OnPod(e, old); });
}

EndpointsController::~EndpointsController() { Stop(); }

Status EndpointsController::Start() {
  // A partial pod cache would publish too few endpoints.
  BERTH_TRY(WaitForInformers({&pods_, &services_}, "endpoints controller"));
  resync_.Start(options_.resync, [this] {
    for (const auto& svc : services_.List()) queue_.Add(KeyOf(svc));
  });
  return runner_.Start(options_.workers);
}

void EndpointsController::Stop() {
  resync_.Stop();
  queue_.ShutDown();
  runner_.Stop();
}

void EndpointsController::OnPod(const ObjectEvent& event, const v1::Object* old) {
  if (!event.object.has_pod()) return;
  const v1::ObjectMeta& meta = event.object.pod().metadata();
  const ProtoLabels* before =
      old != nullptr && old->has_pod() ? &old->pod().metadata().labels() : nullptr;
  for (const v1::Object& svc : services_.List(meta.namespace_())) {
    const ProtoLabels& selector = svc.service().spec().selector();
    if (selector.empty()) continue;
    if (Selects(selector, meta.labels()) || (before != nullptr && Selects(selector, *before))) {
      queue_.Add(KeyOf(svc));
    }
  }
}

Status EndpointsController::Sync(const std::string& key) {
  const auto [ns, name] = SplitKey(key);
  const std::optional<v1::Object> object = services_.Get(ns, name);
  if (!object) {
    auto deleted = registry_.Delete({"Endpoints", ns, name});
    if (!deleted.ok() && deleted.error().err() != ENOENT) {
      return std::move(deleted).error().Wrap("endpoints " + key + ": delete");
    }
    return {};
  }
  const v1::Service& svc = object->service();
  if (svc.spec().selector().empty()) return {};  // its Endpoints are its owner's

  std::vector<v1::Object> pods;
  for (v1::Object& pod : pods_.List(ns)) {
    if (Selects(svc.spec().selector(), pod.pod().metadata().labels())) {
      pods.push_back(std::move(pod));
    }
  }
  const std::vector<v1::EndpointSubset> subsets = DesiredSubsets(svc, pods);
  const std::map<std::string, std::string> labels = DesiredLabels(svc);

  auto current = registry_.Get({"Endpoints", ns, name});
  if (!current.ok() && current.error().err() != ENOENT) {
    return std::move(current).error().Wrap("endpoints " + key + ": get");
  }
  v1::Object desired;
  if (current.ok()) {
    const v1::Endpoints& cur = current->endpoints();
    const std::map<std::string, std::string> cur_labels(cur.metadata().labels().begin(),
                                                        cur.metadata().labels().end());
    if (cur_labels == labels && SameSubsets(cur.subsets(), subsets)) return {};
    desired = *current;  // its resourceVersion: a concurrent change is a conflict
  }
  v1::Endpoints& ep = *desired.mutable_endpoints();
  ep.mutable_metadata()->set_namespace_(ns);
  ep.mutable_metadata()->set_name(name);
  ep.mutable_metadata()->mutable_labels()->clear();
  ep.mutable_metadata()->mutable_labels()->insert(labels.begin(), labels.end());
  ep.clear_subsets();
  for (const auto& s : subsets) *ep.add_subsets() = s;
  auto written =
      current.ok() ? registry_.Update(std::move(desired)) : registry_.Create(std::move(desired));
  if (!written.ok()) return std::move(written).error().Wrap("endpoints " + key + ": write");
  return {};
}

}  // namespace berth::control
