// Keeps NodeInfo's derived fields in step with its placed pods.
#include <algorithm>

#include "berth/control/scheduler/types.h"

namespace berth::control::scheduler {
namespace {

bool SamePort(const HostPort& a, const HostPort& b) {
  auto protocol = [](const HostPort& hp) {
    return hp.protocol.empty() ? std::string_view("TCP") : std::string_view(hp.protocol);
  };
  return a.port == b.port && protocol(a) == protocol(b);
}

void Account(NodeInfo& node, const PodInfo& pod) {
  node.requested += EffectiveRequests(pod);
  if (!pod.owner_uid.empty()) ++node.pods_per_owner[pod.owner_uid];
  for (const HostPort& hp : pod.host_ports) {
    if (hp.port != 0) node.used_host_ports.push_back(hp);
  }
  if (!pod.anti_affinity_hostname_labels.empty()) ++node.anti_affinity_pods;
}

void Unaccount(NodeInfo& node, const PodInfo& pod) {
  node.requested -= EffectiveRequests(pod);
  if (!pod.owner_uid.empty()) {
    auto it = node.pods_per_owner.find(pod.owner_uid);
    if (it != node.pods_per_owner.end() && --it->second <= 0) node.pods_per_owner.erase(it);
  }
  for (const HostPort& hp : pod.host_ports) {
    auto it = std::find_if(node.used_host_ports.begin(), node.used_host_ports.end(),
                           [&](const HostPort& used) { return SamePort(used, hp); });
    if (it != node.used_host_ports.end()) node.used_host_ports.erase(it);
  }
  if (!pod.anti_affinity_hostname_labels.empty()) --node.anti_affinity_pods;
}

}  // namespace

Resources EffectiveRequests(const PodInfo& pod) {
  Resources r = pod.requests;
  r.pods = 1;
  return r;
}

void AddPod(NodeInfo& node, PodInfo pod) {
  Account(node, pod);
  node.placed.push_back(std::move(pod));
}

Status RemovePod(NodeInfo& node, std::string_view uid) {
  auto it = std::find_if(node.placed.begin(), node.placed.end(),
                         [&](const PodInfo& p) { return p.uid == uid; });
  if (it == node.placed.end()) {
    return Error::Sys(ENOENT, "remove pod " + std::string(uid) + " from node " + node.name);
  }
  Unaccount(node, *it);
  node.placed.erase(it);
  return Ok();
}

void RecomputeDerived(NodeInfo& node) {
  node.requested = {};
  node.pods_per_owner.clear();
  node.used_host_ports.clear();
  node.anti_affinity_pods = 0;
  for (const PodInfo& pod : node.placed) Account(node, pod);
}

}  // namespace berth::control::scheduler
