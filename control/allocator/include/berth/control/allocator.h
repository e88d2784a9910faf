// Allocators for Service ClusterIPs (from the service CIDR) and NodePorts
// (30000-32767), persisted in the store: one key per handed-out item,
// created only if absent in a transaction, so an item is never handed out
// twice, also across restarts and concurrent control replicas. Allocation
// continues after the last item handed out (a released item is not reused
// at once), as Kubernetes' allocators do.
// Thread-safe (the store serializes). Errors: ENOSPC when the range is
// full (naming it), EEXIST for a specific item already taken (naming the
// owner), EINVAL for an item outside the range, store errors.
#pragma once

#include <cstdint>
#include <string>

#include "berth/common/error.h"
#include "berth/common/ip.h"
#include "berth/control/store.h"

namespace berth::control {

class RangeAllocator {
 public:
  // Items 0..size-1 under `prefix` ("/registry/allocations/nodeports/").
  RangeAllocator(Store& store, std::string prefix, uint64_t size, std::string what)
      : store_(store), prefix_(std::move(prefix)), size_(size), what_(std::move(what)) {}

  Result<uint64_t> Allocate(const std::string& owner);
  Status AllocateSpecific(uint64_t item, const std::string& owner);
  // Releasing an item nobody holds is fine.
  Status Release(uint64_t item);
  // The holder of `item`, empty when free.
  Result<std::string> Owner(uint64_t item);

 private:
  std::string Key(uint64_t item) const;
  Store& store_;
  std::string prefix_;
  uint64_t size_;
  std::string what_;
};

// ClusterIPs: network and broadcast addresses (IPv4) are never handed out.
class ClusterIpAllocator {
 public:
  ClusterIpAllocator(Store& store, const IpPrefix& cidr);
  Result<IpAddress> Allocate(const std::string& owner);
  Status AllocateSpecific(const IpAddress& ip, const std::string& owner);
  Status Release(const IpAddress& ip);

 private:
  Result<uint64_t> Offset(const IpAddress& ip) const;
  IpPrefix cidr_;
  uint64_t first_;
  RangeAllocator range_;
};

class NodePortAllocator {
 public:
  static constexpr int kFirst = 30000, kLast = 32767;
  explicit NodePortAllocator(Store& store)
      : range_(store, "/registry/allocations/nodeports/", kLast - kFirst + 1,
               "node port range 30000-32767") {}
  Result<int> Allocate(const std::string& owner);
  Status AllocateSpecific(int port, const std::string& owner);
  Status Release(int port);

 private:
  RangeAllocator range_;
};

}  // namespace berth::control
