// Service addresses: ClusterIPs from the service CIDR and NodePorts
// (30000-32767, NodePortAllocator's range) are allocated when a Service is
// created or updated and released when it is deleted or an update drops
// them, as Kubernetes' Service REST storage does (pkg/registry/core/
// service/storage: allocClusterIPs, allocNodePorts, release on delete and
// on type changes), over the allocators persisted in the store
// (berth/control/allocator.h), so an address is never handed out twice,
// across restarts included.
//
// Create: an empty spec.clusterIP gets an address (and clusterIPs the
// same one), unless the Service is headless ("None") or ExternalName; a
// requested address is taken if it is free and in range. Each port of a
// NodePort Service without a nodePort gets one; a requested one is taken
// if free. Update: a NodePort port without nodePort keeps the one its
// stored port (same port and protocol) had, as kubectl apply omits it;
// addresses the update no longer holds (NodePort -> ClusterIP, a move to
// ExternalName) are released once the update is written.
//
// Allocation and write: Admit allocates before the registry writes and
// returns a guard that, once the write is done, failed or was a dry run,
// reads the stored Service and releases every address this admission
// allocated or the update dropped that the stored Service does not hold.
// Each allocation is recorded with its owner ("<ns>/<name>/<uid>") and
// every release is a compare-and-delete on that owner, so a late release
// never frees an address handed to someone else since. A per-Service lock
// is held from Admit until that check, and by Deleted and the repair, so in
// this process they never interleave for one Service.
//
// What a crash between allocation and write (or between a delete and
// Deleted) leaks, RepairOnce reclaims, like Kubernetes' repair controllers
// (pkg/registry/core/service/ipallocator/controller/repair.go and
// portallocator/controller/repair.go): an allocation whose owner does not
// hold it is released when a second consecutive repair finds it unchanged
// (an allocation still on its way to the store is not mistaken for a
// leak, even from another process); an address a Service holds that the
// allocator lacks is recorded again. ServiceAllocationRepair runs it
// periodically (Kubernetes: every 3 minutes). The repair reads the
// allocations' keys directly (allocator.cc's layout: one key per item
// under the allocator's prefix, the item number in fixed-width decimal):
// the allocators have no listing of their own.
//
// Thread-safe. Errors of Admit, in kubectl's words (`Service "web" is
// invalid: spec.clusterIP: Invalid value: "10.96.0.5": provided IP is
// already allocated`): EEXIST for an address already allocated, EINVAL
// for one outside its range, ENOSPC for a full range, store errors.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "berth/common/ip.h"
#include "berth/control/allocator.h"
#include "berth/control/registry.h"

namespace berth::control {

class ServiceAllocation : public Admission {
 public:
  ServiceAllocation(Store& store, const IpPrefix& service_cidr);

  Result<Guard> Admit(v1::Object& object, const v1::Object* old, Registry& registry) override;
  void Deleted(const v1::Object& object) override;

  // One pass of the repair over every Service and allocation.
  Status RepairOnce(Registry& registry);

  // What a Service holds: canonical IP strings and node ports.
  struct Held {
    std::set<std::string> ips;
    std::set<int> ports;
  };

 private:
  class WriteCheck;
  // Recursive: the registry calls Deleted while the guard of the same
  // Service's update is held (an update removing the last finalizer
  // deletes the object).
  using Lock = std::unique_lock<std::recursive_mutex>;

  // The lock of Service "<ns>/<name>" (striped: services sharing a stripe
  // only wait for each other).
  Lock LockService(const std::string& key);
  Status AllocateClusterIp(v1::Service& svc, const Held& before, const std::string& owner,
                           Held& allocated);
  Status AllocateNodePorts(const v1::Service* prev, v1::Service& svc, const Held& before,
                           const std::string& owner, Held& allocated);
  // Releases each of `items` the stored Service (uid `uid`) does not hold.
  void ReleaseUnheld(Registry& registry, const std::string& ns, const std::string& name,
                     const std::string& uid, const Held& items);
  // Compare-and-delete of allocation key `key` if `owner` holds it.
  Status ReleaseIfOwned(const std::string& key, const std::string& owner);
  void ReleaseAll(const Held& items, const std::string& owner);
  std::string IpKey(const std::string& ip) const;
  std::string PortKey(int port) const;

  Store& store_;
  IpPrefix cidr_;
  std::string ip_prefix_;
  ClusterIpAllocator ips_;
  NodePortAllocator ports_;
  std::array<std::recursive_mutex, 64> locks_;
  // Allocation keys the last repair found leaked, with their mod revision.
  std::mutex repair_mu_;
  std::map<std::string, int64_t> suspected_;
};

// Runs ServiceAllocation::RepairOnce every `period` on one thread (the
// first pass right away). Start/Stop belong to the owner.
class ServiceAllocationRepair {
 public:
  ServiceAllocationRepair(Registry& registry, ServiceAllocation& allocation,
                          std::chrono::milliseconds period = std::chrono::minutes(3));
  ~ServiceAllocationRepair();
  ServiceAllocationRepair(const ServiceAllocationRepair&) = delete;
  ServiceAllocationRepair& operator=(const ServiceAllocationRepair&) = delete;

  Status Start();
  void Stop();

 private:
  Registry& registry_;
  ServiceAllocation& allocation_;
  std::chrono::milliseconds period_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace berth::control
