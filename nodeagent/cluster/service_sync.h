// The node's half of Services, what kube-proxy does with iptables: follow
// the cluster's Services and Endpoints and program the eBPF load balancers
// (ClusterIP at the socket layer, NodePort on the node's interface) with
// what BuildServiceTable makes of them. A change to one Service or its
// Endpoints rewrites only that Service's entries; a (re)list rewrites all
// of them and removes entries nothing asks for any more, including those an
// earlier agent left pinned.
//
// Thread-safe: the reflectors call in on their own threads; updates to the
// load balancers are serialised here.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "dns_table.h"
#include "reflector.h"
#include "service_table.h"

#include "berth/api/control_client.h"
#include "berth/ebpf/nodeport.h"
#include "berth/ebpf/service_lb.h"

namespace berth::nodeagent {

class ServiceSync {
 public:
  // `node_port` may be null (NodePort disabled), `dns` too (no cluster
  // DNS); none is owned.
  ServiceSync(api::ControlClient& client, std::string node, ebpf::ServiceLb* lb,
              ebpf::NodePort* node_port, dns::DnsTable* dns = nullptr);
  ~ServiceSync();

  void Start();
  void Stop();
  // Both kinds listed and the load balancers programmed from them once.
  bool Synced() const;

 private:
  void OnServices(const ObjectMap& objects, const v1::WatchEvent* event);
  void OnEndpoints(const ObjectMap& objects, const v1::WatchEvent* event);
  // Reprograms one Service (gone from both maps: removes its entries).
  void ApplyOne(const std::string& key);
  void ApplyAll();
  // After a (re)list: the DNS table from both maps; holds mu_.
  void ReplaceDns();
  void Program(const std::string& key, ServiceTable table);

  const std::string node_;
  ebpf::ServiceLb* const lb_;
  ebpf::NodePort* const node_port_;
  dns::DnsTable* const dns_;
  std::unique_ptr<Reflector> services_reflector_, endpoints_reflector_;
  std::thread services_thread_, endpoints_thread_;

  mutable std::mutex mu_;  // guards everything below
  std::map<std::string, v1::Service> services_;
  std::map<std::string, v1::Endpoints> endpoints_;
  bool services_listed_ = false, endpoints_listed_ = false, synced_ = false;
  std::map<std::string, ServiceTable> programmed_;  // by namespace/name
};

}  // namespace berth::nodeagent
