#include "cluster_agent.h"

#include <algorithm>
#include <set>

#include "convert.h"
#include "pod_from_api.h"

#include "berth/api/codec.h"
#include "berth/common/file.h"
#include "berth/common/log.h"

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string PodName(const v1::Pod& pod) {
  return pod.metadata().namespace_() + "/" + pod.metadata().name();
}

// What a conversion depends on: the spec and whether (and how fast) the
// pod is being deleted.
std::string ConversionInput(const v1::Pod& pod) {
  std::string s = pod.spec().SerializeAsString();
  if (pod.metadata().has_deletion_timestamp()) {
    s += "|deleting:" + std::to_string(pod.metadata().deletion_grace_period_seconds());
  }
  return s;
}

struct ConfigRef {
  ConfigSource source;
  std::string name;
  bool optional;
};

std::vector<ConfigRef> ConfigRefs(const PodManifest& pod) {
  std::vector<ConfigRef> refs;
  for (const Volume& v : pod.volumes) {
    if (v.kind == VolumeKind::kConfigMap)
      refs.push_back({ConfigSource::kConfigMap, v.source, false});
    if (v.kind == VolumeKind::kSecret) refs.push_back({ConfigSource::kSecret, v.source, false});
  }
  for (const auto* list : {&pod.init_containers, &pod.containers}) {
    for (const ContainerSpec& c : *list) {
      for (const EnvFromSource& e : c.env_from) refs.push_back({e.source, e.name, e.optional});
      for (const EnvVar& e : c.env) {
        if (e.value_from)
          refs.push_back({e.value_from->source, e.value_from->name, e.value_from->optional});
      }
    }
  }
  return refs;
}

// The status the agent reports for a pod it could not take.
v1::PodStatus Refused(const std::string& reason, const std::string& message, bool failed) {
  v1::PodStatus s;
  s.set_phase(failed ? "Failed" : "Pending");
  s.set_reason(reason);
  s.set_message(message);
  return s;
}

}  // namespace

ClusterAgent::ClusterAgent(api::ControlClient& client, NodeSession& session, Agent& agent,
                           ClusterAgentOptions options)
    : client_(client),
      session_(session),
      agent_(agent),
      options_(std::move(options)),
      events_(client, session.name()) {
  pods_reflector_ = std::make_unique<Reflector>(
      client, ReflectorOptions{"Pod", "spec.nodeName=" + session.name()},
      [this](const ObjectMap& objects, const v1::WatchEvent* event) { OnPods(objects, event); });
  nodes_reflector_ = std::make_unique<Reflector>(
      client, ReflectorOptions{"Node", ""},
      [this](const ObjectMap& objects, const v1::WatchEvent* event) { OnNodes(objects, event); });
}

ClusterAgent::~ClusterAgent() { Stop(); }

void ClusterAgent::Start() {
  auto run = [](Reflector* r, const char* what) {
    Status s = r->Run();
    if (!s.ok()) log::Error("watch stopped", {{"kind", what}, {"error", s.error().ToString()}});
  };
  pods_thread_ = std::thread(run, pods_reflector_.get(), "Pod");
  nodes_thread_ = std::thread(run, nodes_reflector_.get(), "Node");
  loop_thread_ = std::thread([this] { Loop(); });
}

void ClusterAgent::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  pods_reflector_->Stop();
  nodes_reflector_->Stop();
  for (auto* t : {&pods_thread_, &nodes_thread_, &loop_thread_}) {
    if (t->joinable()) t->join();
  }
}

void ClusterAgent::OnPods(const ObjectMap& objects, const v1::WatchEvent* /*event*/) {
  std::lock_guard lock(mu_);
  std::map<std::string, Entry> next;
  for (const auto& [key, object] : objects) {
    const v1::Pod& pod = object.pod();
    const std::string& uid = pod.metadata().uid();
    auto old = pods_.find(uid);
    Entry e = old != pods_.end() ? std::move(old->second) : Entry{};
    const std::string input = ConversionInput(pod);
    e.pod = pod;
    if (e.spec != input) {
      e.spec = input;
      Prepare(e);
    }
    next.emplace(uid, std::move(e));
  }
  for (const auto& [uid, e] : pods_) {
    if (next.count(uid) == 0) last_status_.erase(uid);
  }
  pods_ = std::move(next);
  PushToAgent();
}

void ClusterAgent::Prepare(Entry& e) {
  const bool was_running = e.converted && !e.converted->deletion_grace_seconds;
  if (was_running && e.pod.metadata().has_deletion_timestamp()) {
    if (auto st = last_status_.find(e.pod.metadata().uid()); st != last_status_.end()) {
      for (auto& ev : KillingEvents(st->second)) events_pending_.emplace_back(e.pod, std::move(ev));
    }
  }
  e.converted.reset();
  e.problem.clear();
  e.config_missing.clear();
  auto manifest = PodManifestFromApi(e.pod);
  if (!manifest.ok()) {
    e.problem = manifest.error().Chain();
    log::Error("pod refused", {{"pod", PodName(e.pod)}, {"error", e.problem}});
    return;
  }
  manifest->config_dir = options_.config_root / manifest->namespace_;
  if (!options_.cluster_dns.empty()) {
    // As kubelet writes it for dnsPolicy ClusterFirst.
    const std::string& d = options_.cluster_domain;
    manifest->resolv_conf = "search " + manifest->namespace_ + ".svc." + d + " svc." + d + " " + d +
                            "\nnameserver " + options_.cluster_dns + "\noptions ndots:5\n";
  }
  ClusterPod cp;
  cp.api_json = api::EncodeJson([&] {
    v1::Object o;
    *o.mutable_pod() = e.pod;
    o.mutable_pod()->clear_status();
    return o;
  }());
  if (e.pod.metadata().has_deletion_timestamp()) {
    cp.deletion_grace_seconds = e.pod.metadata().has_deletion_grace_period_seconds()
                                    ? e.pod.metadata().deletion_grace_period_seconds()
                                    : manifest->termination_grace_period_seconds;
  } else {
    Status copied = CopyConfig(*manifest);
    e.config_checked = Clock::now();
    if (!copied.ok()) {
      e.config_missing = copied.error().Chain();
      return;
    }
  }
  cp.manifest = std::move(manifest).value();
  e.converted = std::move(cp);
}

Status ClusterAgent::CopyConfig(const PodManifest& pod) {
  for (const ConfigRef& ref : ConfigRefs(pod)) {
    const bool secret = ref.source == ConfigSource::kSecret;
    auto object = client_.Get(secret ? "Secret" : "ConfigMap", pod.namespace_, ref.name);
    if (!object.ok()) {
      if (object.error().err() == ENOENT && ref.optional) continue;
      if (object.error().err() == ENOENT) {
        return Error::Sys(ENOENT, std::string(secret ? "secret" : "configmap") + " \"" + ref.name +
                                      "\" not found");
      }
      return object.error();
    }
    std::map<std::string, std::string> keys;
    if (secret) {
      for (const auto& [k, v] : object->secret().data()) keys[k] = v;
    } else {
      for (const auto& [k, v] : object->config_map().data()) keys[k] = v;
      for (const auto& [k, v] : object->config_map().binary_data()) keys[k] = v;
    }
    // Written next to the old copy and renamed over it: a container
    // starting meanwhile sees one version or the other.
    const fs::path dir = pod.config_dir / (secret ? "secrets" : "configmaps") / ref.name;
    const fs::path fresh = dir.string() + ".new";
    std::error_code ec;
    fs::remove_all(fresh, ec);
    BERTH_TRY(MakeDirs(fresh, 0700));
    for (const auto& [k, v] : keys) {
      if (k.empty() || k.find('/') != std::string::npos || k == "." || k == "..") continue;
      BERTH_TRY(WriteFileReplace(fresh / k, v, 0600));
    }
    fs::remove_all(dir, ec);
    fs::rename(fresh, dir, ec);
    if (ec) return Error::Sys(ec.value(), "rename " + fresh.string() + ": " + ec.message());
  }
  return {};
}

void ClusterAgent::PushToAgent() {
  std::map<std::string, ClusterPod> pods;
  for (const auto& [uid, e] : pods_) {
    if (e.converted) pods.emplace(uid, *e.converted);
  }
  agent_.SetClusterPods(std::move(pods));
}

void ClusterAgent::OnNodes(const ObjectMap& objects, const v1::WatchEvent* /*event*/) {
  std::vector<netns::Peer> peers;
  std::string summary;
  for (const auto& [key, object] : objects) {
    const v1::Node& node = object.node();
    if (node.metadata().name() == session_.name() || node.spec().pod_cidr().empty()) continue;
    auto cidr = IpPrefix::Parse(node.spec().pod_cidr());
    std::optional<IpAddress> address;
    for (const auto& a : node.status().addresses()) {
      if (a.type() != "InternalIP") continue;
      if (auto ip = IpAddress::Parse(a.address()); ip.ok() && ip->is_v4()) address = *ip;
    }
    if (!cidr.ok() || !address) continue;
    peers.push_back({node.metadata().name(), {*address}, {*cidr}});
    summary += node.metadata().name() + "=" + address->String() + ">" + cidr->String() + ";";
  }
  if (summary == peers_) return;
  Status s = agent_.network().SetPeers(peers);
  if (!s.ok()) {
    log::Error("routes to peer nodes", {{"error", s.error().ToString()}});
    return;
  }
  peers_ = summary;
  log::Info("peer nodes", {{"count", std::to_string(peers.size())}});
}

void ClusterAgent::Loop() {
  auto next_lease = Clock::now();
  auto next_node = Clock::now() + options_.node_status_interval;
  while (true) {
    {
      std::unique_lock lock(stop_mu_);
      if (stop_cv_.wait_for(lock, options_.status_interval, [this] { return stop_; })) return;
    }
    if (Clock::now() >= next_lease) {
      Status s = session_.RenewLease();
      if (!s.ok()) log::Warn("lease renewal", {{"error", s.error().ToString()}});
      next_lease = Clock::now() + options_.lease_interval;
    }
    if (Clock::now() >= next_node) {
      RefreshNode();
      next_node = Clock::now() + options_.node_status_interval;
    }
    RetryConfig();
    ReportStatuses();
    FinishDeletions();
    WriteEvents();
  }
}

void ClusterAgent::RetryConfig() {
  std::lock_guard lock(mu_);
  bool changed = false;
  for (auto& [uid, e] : pods_) {
    if (e.config_missing.empty() || Clock::now() - e.config_checked < options_.config_retry)
      continue;
    Prepare(e);
    changed = changed || e.converted.has_value();
  }
  if (changed) PushToAgent();
}

void ClusterAgent::ReportStatuses() {
  std::map<std::string, PodStatus> running;
  for (auto& st : agent_.ListPods()) running.emplace(st.uid, std::move(st));
  struct Report {
    std::string uid;
    v1::Pod pod;
    std::string serialized;
  };
  std::vector<Report> reports;
  {
    std::lock_guard lock(mu_);
    for (const auto& [uid, e] : pods_) {
      v1::PodStatus status;
      if (!e.problem.empty()) {
        status = Refused("PodSpecUnsupported", e.problem, /*failed=*/true);
      } else if (!e.config_missing.empty()) {
        status = Refused("CreateContainerConfigError", e.config_missing, /*failed=*/false);
      } else if (auto it = running.find(uid); it != running.end()) {
        auto last = last_status_.find(uid);
        for (auto& ev :
             StatusEvents(last == last_status_.end() ? nullptr : &last->second, it->second)) {
          events_pending_.emplace_back(e.pod, std::move(ev));
        }
        last_status_[uid] = it->second;
        status = PodToProto(it->second).status();
        status.set_host_ip(options_.host_ip);
        bool ready = false;
        for (const auto& c : status.conditions())
          ready = ready || (c.type() == "Ready" && c.status() == "True");
        auto* cr = status.add_conditions();
        cr->set_type("ContainersReady");
        cr->set_status(ready ? "True" : "False");
      } else {
        continue;  // not started yet, or already gone
      }
      for (const auto& c : e.pod.status().conditions()) {
        if (c.type() == "PodScheduled") *status.add_conditions() = c;
      }
      std::string serialized = status.SerializeAsString();
      if (serialized == e.reported) continue;
      Report r{uid, e.pod, std::move(serialized)};
      *r.pod.mutable_status() = std::move(status);
      r.pod.mutable_metadata()->clear_resource_version();
      reports.push_back(std::move(r));
    }
  }
  for (auto& r : reports) {
    Status s = session_.UpdatePodStatus(r.pod);
    if (!s.ok()) {
      if (s.error().err() != ENOENT) {
        log::Warn("pod status", {{"pod", PodName(r.pod)}, {"error", s.error().ToString()}});
      }
      continue;
    }
    std::lock_guard lock(mu_);
    if (auto it = pods_.find(r.uid); it != pods_.end())
      it->second.reported = std::move(r.serialized);
  }
}

void ClusterAgent::FinishDeletions() {
  std::vector<v1::Pod> done;
  {
    std::lock_guard lock(mu_);
    for (auto& [uid, e] : pods_) {
      if (!e.pod.metadata().has_deletion_timestamp() || e.finishing) continue;
      if (agent_.Holds(uid)) continue;
      e.finishing = true;
      done.push_back(e.pod);
    }
  }
  for (const auto& pod : done) {
    Status s = session_.FinishDeletion(pod);
    if (s.ok()) continue;
    log::Warn("finish pod deletion", {{"pod", PodName(pod)}, {"error", s.error().ToString()}});
    std::lock_guard lock(mu_);
    if (auto it = pods_.find(pod.metadata().uid()); it != pods_.end()) it->second.finishing = false;
  }
}

void ClusterAgent::WriteEvents() {
  std::vector<std::pair<v1::Pod, PodEvent>> events;
  std::set<std::string> live;
  {
    std::lock_guard lock(mu_);
    events.swap(events_pending_);
    for (const auto& [uid, e] : pods_) live.insert(uid);
  }
  for (const auto& [pod, event] : events) events_.Write(pod, event);
  for (const auto& uid : forgotten_candidates_) {
    if (live.count(uid) == 0) events_.Forget(uid);
  }
  forgotten_candidates_ = std::move(live);
}

void ClusterAgent::RefreshNode() {
  auto status = agent_.GetNodeStatus();
  if (!status.ok()) return;
  auto current = client_.Get("Node", "", session_.name());
  if (!current.ok()) return;
  v1::NodeStatus fresh = NodeToProto(*status).status();
  v1::NodeStatus* s = current->mutable_node()->mutable_status();
  *s->mutable_capacity() = fresh.capacity();
  *s->mutable_allocatable() = fresh.allocatable();
  *s->mutable_controllers_enforced() = fresh.controllers_enforced();
  *s->mutable_controllers_missing() = fresh.controllers_missing();
  s->set_cgroup_root(fresh.cgroup_root());
  s->set_running_pods(fresh.running_pods());
  current->mutable_node()->mutable_metadata()->clear_resource_version();
  auto updated = client_.Update(*current, /*status=*/true);
  if (!updated.ok()) log::Warn("node status", {{"error", updated.error().ToString()}});
  Status ready =
      session_.ReportReady(true, "BerthAgentReady", "berth-agent is posting ready status");
  if (!ready.ok()) log::Warn("node ready", {{"error", ready.error().ToString()}});
}

}  // namespace berth::nodeagent
