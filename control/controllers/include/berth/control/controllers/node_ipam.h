// Pod CIDRs for nodes, as Kubernetes' node IPAM controller with the
// range allocator: a Node created without spec.podCIDR gets the next free
// block of `node_mask_length` bits from the cluster CIDR (10.244.0.0/16 in
// /24s by default), recorded in the store so a block is never handed out
// twice; deleting the Node releases it. Done at admission, so the Node is
// never visible without its CIDR.
//
// Thread-safe. Errors: ENOSPC when the cluster CIDR is exhausted (naming
// it), EINVAL for a requested podCIDR outside it or of the wrong size,
// EEXIST for one another node holds.
#pragma once

#include "berth/common/ip.h"
#include "berth/control/allocator.h"
#include "berth/control/registry.h"

namespace berth::control {

class NodeIpam : public Admission {
 public:
  static Result<std::unique_ptr<NodeIpam>> Create(Store& store, const std::string& cluster_cidr,
                                                  int node_mask_length = 24);
  Result<Guard> Admit(v1::Object& object, const v1::Object* old, Registry& registry) override;
  void Deleted(const v1::Object& object) override;

 private:
  NodeIpam(Store& store, IpPrefix cluster, int node_mask_length);
  IpPrefix Block(uint64_t index) const;
  // The block index of `cidr`, or an error when it is not one of ours.
  Result<uint64_t> IndexOf(const std::string& cidr) const;

  IpPrefix cluster_;
  int mask_;
  RangeAllocator blocks_;
};

}  // namespace berth::control
