#include "berth/control/controllers/node_ipam.h"

#include <cerrno>

#include "berth/common/log.h"

namespace berth::control {

Result<std::unique_ptr<NodeIpam>> NodeIpam::Create(Store& store, const std::string& cluster_cidr,
                                                   int node_mask_length) {
  auto cluster = IpPrefix::Parse(cluster_cidr);
  if (!cluster.ok()) return std::move(cluster).error().Wrap("cluster CIDR");
  const int max = cluster->address.is_v4() ? 32 : 128;
  if (node_mask_length < cluster->length || node_mask_length > max ||
      node_mask_length - cluster->length > 24) {
    return Error::Invalid("node CIDR mask /" + std::to_string(node_mask_length) +
                          " does not fit the cluster CIDR " + cluster_cidr);
  }
  return std::unique_ptr<NodeIpam>(new NodeIpam(store, cluster->Network(), node_mask_length));
}

NodeIpam::NodeIpam(Store& store, IpPrefix cluster, int node_mask_length)
    : cluster_(cluster),
      mask_(node_mask_length),
      blocks_(store, "/registry/allocations/podcidrs/",
              uint64_t{1} << (node_mask_length - cluster.length),
              "cluster CIDR " + cluster.String()) {}

IpPrefix NodeIpam::Block(uint64_t index) const {
  const int host_bits = (cluster_.address.is_v4() ? 32 : 128) - mask_;
  // Block `index` starts index << host_bits past the network address.
  IpPrefix block{cluster_.Nth(host_bits >= 64 ? 0 : index << host_bits), mask_};
  return block;
}

Result<uint64_t> NodeIpam::IndexOf(const std::string& cidr) const {
  auto prefix = IpPrefix::Parse(cidr);
  if (!prefix.ok()) return prefix.error();
  if (prefix->length != mask_ || !cluster_.Contains(prefix->address) ||
      !(prefix->Network() == *prefix)) {
    return Error::Invalid("spec.podCIDR: Invalid value: \"" + cidr + "\": not a /" +
                          std::to_string(mask_) + " block of the cluster CIDR " +
                          cluster_.String());
  }
  const int host_bits = (cluster_.address.is_v4() ? 32 : 128) - mask_;
  return cluster_.OffsetOf(prefix->address) >> host_bits;
}

Result<Admission::Guard> NodeIpam::Admit(v1::Object& object, const v1::Object* old,
                                         Registry& registry) {
  if (!object.has_node() || old != nullptr) return Guard();
  v1::Node* node = object.mutable_node();
  const std::string name = node->metadata().name();
  uint64_t index = 0;
  if (node->spec().pod_cidr().empty()) {
    auto allocated = blocks_.Allocate(name);
    if (!allocated.ok())
      return std::move(allocated).error().Wrap("assign a pod CIDR to node " + name);
    index = *allocated;
    node->mutable_spec()->set_pod_cidr(Block(index).String());
    node->mutable_spec()->clear_pod_cidrs();
    node->mutable_spec()->add_pod_cidrs(node->spec().pod_cidr());
  } else {
    auto requested = IndexOf(node->spec().pod_cidr());
    if (!requested.ok()) return requested.error();
    index = *requested;
    if (auto st = blocks_.AllocateSpecific(index, name); !st.ok()) return st.error();
  }
  // Once the write is over: a Node that was not stored with this block
  // (the write failed, or it was a dry run) gives the block back.
  const std::string cidr = node->spec().pod_cidr();
  return Guard(nullptr, [this, &registry, name, cidr, index](void*) {
    auto stored = registry.Get({"Node", "", name});
    if (stored.ok() && stored->node().spec().pod_cidr() == cidr) return;
    if (auto owner = blocks_.Owner(index); owner.ok() && *owner == name) {
      if (auto st = blocks_.Release(index); !st.ok()) {
        log::Warn("release pod CIDR", {{"cidr", cidr}, {"error", st.error().ToString()}});
      }
    }
  });
}

void NodeIpam::Deleted(const v1::Object& object) {
  if (!object.has_node() || object.node().spec().pod_cidr().empty()) return;
  auto index = IndexOf(object.node().spec().pod_cidr());
  if (!index.ok()) return;  // not from our range: nothing to release
  auto owner = blocks_.Owner(*index);
  if (owner.ok() && *owner == object.node().metadata().name()) {
    if (auto st = blocks_.Release(*index); !st.ok()) {
      log::Warn("release pod CIDR",
                {{"cidr", object.node().spec().pod_cidr()}, {"error", st.error().ToString()}});
    }
  }
}

}  // namespace berth::control
