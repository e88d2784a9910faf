#include "service_sync.h"

#include <set>

#include "berth/common/log.h"

namespace berth::nodeagent {
namespace {

std::string NodePortKey(const ebpf::NodePortService& s) { return s.String(); }

void LogFailure(const Status& s, const std::string& what) {
  if (!s.ok())
    log::Error("service load balancer", {{"service", what}, {"error", s.error().ToString()}});
}

}  // namespace

ServiceSync::ServiceSync(api::ControlClient& client, std::string node, ebpf::ServiceLb* lb,
                         ebpf::NodePort* node_port, dns::DnsTable* dns)
    : node_(std::move(node)), lb_(lb), node_port_(node_port), dns_(dns) {
  services_reflector_ =
      std::make_unique<Reflector>(client, ReflectorOptions{"Service", ""},
                                  [this](const ObjectMap& objects, const v1::WatchEvent* event) {
                                    OnServices(objects, event);
                                  });
  endpoints_reflector_ =
      std::make_unique<Reflector>(client, ReflectorOptions{"Endpoints", ""},
                                  [this](const ObjectMap& objects, const v1::WatchEvent* event) {
                                    OnEndpoints(objects, event);
                                  });
}

ServiceSync::~ServiceSync() { Stop(); }

void ServiceSync::Start() {
  auto run = [](Reflector* r) {
    Status s = r->Run();
    if (!s.ok()) log::Error("service watch stopped", {{"error", s.error().ToString()}});
  };
  services_thread_ = std::thread(run, services_reflector_.get());
  endpoints_thread_ = std::thread(run, endpoints_reflector_.get());
}

void ServiceSync::Stop() {
  services_reflector_->Stop();
  endpoints_reflector_->Stop();
  if (services_thread_.joinable()) services_thread_.join();
  if (endpoints_thread_.joinable()) endpoints_thread_.join();
}

bool ServiceSync::Synced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

void ServiceSync::OnServices(const ObjectMap& objects, const v1::WatchEvent* event) {
  std::lock_guard lock(mu_);
  if (event == nullptr) {
    services_.clear();
    for (const auto& [key, o] : objects) services_[key] = o.service();
    services_listed_ = true;
    ReplaceDns();
    ApplyAll();
    return;
  }
  const std::string key = Reflector::KeyOf(event->object());
  const v1::Service& svc = event->object().service();
  if (event->type() == "DELETED") {
    services_.erase(key);
    if (dns_ != nullptr) dns_->RemoveService(svc.metadata().namespace_(), svc.metadata().name());
  } else {
    services_[key] = svc;
    if (dns_ != nullptr) dns_->SetService(svc);
  }
  if (synced_) ApplyOne(key);
}

void ServiceSync::OnEndpoints(const ObjectMap& objects, const v1::WatchEvent* event) {
  std::lock_guard lock(mu_);
  if (event == nullptr) {
    endpoints_.clear();
    for (const auto& [key, o] : objects) endpoints_[key] = o.endpoints();
    endpoints_listed_ = true;
    ReplaceDns();
    ApplyAll();
    return;
  }
  const std::string key = Reflector::KeyOf(event->object());
  const v1::Endpoints& ep = event->object().endpoints();
  if (event->type() == "DELETED") {
    endpoints_.erase(key);
    if (dns_ != nullptr) dns_->RemoveEndpoints(ep.metadata().namespace_(), ep.metadata().name());
  } else {
    endpoints_[key] = ep;
    if (dns_ != nullptr) dns_->SetEndpoints(ep);
  }
  if (synced_) ApplyOne(key);
}

void ServiceSync::ReplaceDns() {
  if (dns_ == nullptr) return;
  std::vector<v1::Service> services;
  std::vector<v1::Endpoints> endpoints;
  for (const auto& [key, s] : services_) services.push_back(s);
  for (const auto& [key, e] : endpoints_) endpoints.push_back(e);
  dns_->Replace(std::move(services), std::move(endpoints));
}

void ServiceSync::ApplyOne(const std::string& key) {
  auto svc = services_.find(key);
  if (svc == services_.end()) {
    Program(key, {});
    return;
  }
  auto ep = endpoints_.find(key);
  Program(key,
          BuildServiceTable(svc->second, ep == endpoints_.end() ? nullptr : &ep->second, node_));
}

void ServiceSync::Program(const std::string& key, ServiceTable table) {
  ServiceTable& old = programmed_[key];
  std::set<std::string> keep;
  for (const auto& s : table.cluster_ips) keep.insert(s.key.String());
  LogFailure(lb_->UpsertMany(table.cluster_ips), key);
  for (const auto& s : old.cluster_ips) {
    if (keep.count(s.key.String()) == 0) LogFailure(lb_->Delete(s.key), key);
  }
  if (node_port_ != nullptr) {
    std::set<std::string> keep_ports;
    for (const auto& s : table.node_ports) {
      keep_ports.insert(NodePortKey(s));
      LogFailure(node_port_->Upsert(s), key);
    }
    for (const auto& s : old.node_ports) {
      if (keep_ports.count(NodePortKey(s)) == 0) {
        LogFailure(node_port_->Delete(s.node_port, s.protocol), key);
      }
    }
  }
  if (table.cluster_ips.empty() && table.node_ports.empty()) {
    programmed_.erase(key);
  } else {
    old = std::move(table);
  }
}

void ServiceSync::ApplyAll() {
  if (!services_listed_ || !endpoints_listed_) return;
  std::map<std::string, ServiceTable> tables;
  std::vector<ebpf::Service> all;
  std::set<std::string> wanted;
  for (const auto& [key, svc] : services_) {
    auto ep = endpoints_.find(key);
    ServiceTable t = BuildServiceTable(svc, ep == endpoints_.end() ? nullptr : &ep->second, node_);
    for (const auto& s : t.cluster_ips) {
      wanted.insert(s.key.String());
      all.push_back(s);
    }
    tables[key] = std::move(t);
  }
  // One batch for every ClusterIP, then whatever the maps hold that no
  // Service wants (also what an earlier agent left pinned).
  LogFailure(lb_->UpsertMany(all), "all");
  if (auto pinned = lb_->List(); pinned.ok()) {
    for (const auto& st : *pinned) {
      if (wanted.count(st.service.key.String()) == 0) {
        LogFailure(lb_->Delete(st.service.key), st.service.key.String());
      }
    }
  }
  if (node_port_ != nullptr) {
    std::set<std::string> wanted_ports;
    for (const auto& [key, t] : tables) {
      for (const auto& s : t.node_ports) {
        wanted_ports.insert(NodePortKey(s));
        LogFailure(node_port_->Upsert(s), key);
      }
    }
    for (const auto& [key, t] : programmed_) {
      for (const auto& s : t.node_ports) {
        if (wanted_ports.count(NodePortKey(s)) == 0) {
          LogFailure(node_port_->Delete(s.node_port, s.protocol), key);
        }
      }
    }
  }
  programmed_.clear();
  for (auto& [key, t] : tables) {
    if (!t.cluster_ips.empty() || !t.node_ports.empty()) programmed_[key] = std::move(t);
  }
  synced_ = true;
}

}  // namespace berth::nodeagent
