#include "berth/control/allocator.h"

#include <cstdio>

namespace berth::control {
namespace {

// Fixed width keeps the keys in numeric order.
std::string ItemName(uint64_t item) {
  char buf[24];
  (void)std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(item));
  return buf;
}

}  // namespace

std::string RangeAllocator::Key(uint64_t item) const { return prefix_ + ItemName(item); }

Result<uint64_t> RangeAllocator::Allocate(const std::string& owner) {
  const std::string hint_key = prefix_ + "next";
  BERTH_ASSIGN_OR_RETURN(std::optional<KeyValue> hint, store_.Get(hint_key));
  uint64_t start = 0;
  if (hint) start = std::strtoull(hint->value.c_str(), nullptr, 10) % size_;
  // Taken items, to skip them without a failed transaction each.
  BERTH_ASSIGN_OR_RETURN(RangeResult taken, store_.Range(prefix_ + "0", prefix_ + ":"));
  std::vector<bool> used(size_, false);
  for (const auto& kv : taken.kvs) {
    const uint64_t i = std::strtoull(kv.key.c_str() + prefix_.size(), nullptr, 10);
    if (i < size_) used[i] = true;
  }
  for (uint64_t n = 0; n < size_; ++n) {
    const uint64_t item = (start + n) % size_;
    if (used[item]) continue;
    BERTH_ASSIGN_OR_RETURN(
        TxnResult r, store_.Txn({{Key(item), Compare::Target::kModRevision, 0}},
                                {{Op::Kind::kPut, Key(item), owner},
                                 {Op::Kind::kPut, hint_key, std::to_string((item + 1) % size_)}}));
    if (r.succeeded) return item;  // else taken meanwhile: try the next one
  }
  return Error::Sys(ENOSPC, what_ + " is full (" + std::to_string(size_) + " items)");
}

Status RangeAllocator::AllocateSpecific(uint64_t item, const std::string& owner) {
  if (item >= size_) return Error::Invalid(std::to_string(item) + " is outside the " + what_);
  BERTH_ASSIGN_OR_RETURN(TxnResult r, store_.Txn({{Key(item), Compare::Target::kModRevision, 0}},
                                                 {{Op::Kind::kPut, Key(item), owner}}));
  if (r.succeeded) return Ok();
  BERTH_ASSIGN_OR_RETURN(std::string holder, Owner(item));
  if (holder == owner) return Ok();  // idempotent for the same owner
  return Error::Sys(EEXIST, "already allocated to " + holder);
}

Status RangeAllocator::Release(uint64_t item) {
  if (item >= size_) return Error::Invalid(std::to_string(item) + " is outside the " + what_);
  return StatusOf(store_.Txn({}, {{Op::Kind::kDelete, Key(item), ""}}));
}

Result<std::string> RangeAllocator::Owner(uint64_t item) {
  BERTH_ASSIGN_OR_RETURN(std::optional<KeyValue> kv, store_.Get(Key(item)));
  return kv ? kv->value : std::string();
}

ClusterIpAllocator::ClusterIpAllocator(Store& store, const IpPrefix& cidr)
    : cidr_(cidr.Network()),
      first_(1),
      range_(store, "/registry/allocations/clusterips/" + cidr.Network().String() + "/",
             // IPv4: skip the network and broadcast addresses; IPv6 ranges
             // are capped at 2^20 addresses (as Kubernetes caps them).
             cidr.address.is_v4() ? (cidr.Size() > 2 ? cidr.Size() - 2 : 0)
                                  : std::min<uint64_t>(cidr.Size() - 1, 1 << 20),
             "service CIDR " + cidr.Network().String()) {}

Result<uint64_t> ClusterIpAllocator::Offset(const IpAddress& ip) const {
  if (!cidr_.Contains(ip)) {
    return Error::Invalid(ip.String() + " is outside the service CIDR " + cidr_.String());
  }
  const uint64_t off = cidr_.OffsetOf(ip);
  if (off < first_)
    return Error::Invalid(ip.String() + " is the network address of " + cidr_.String());
  return off - first_;
}

Result<IpAddress> ClusterIpAllocator::Allocate(const std::string& owner) {
  BERTH_ASSIGN_OR_RETURN(uint64_t item, range_.Allocate(owner));
  return cidr_.Nth(item + first_);
}

Status ClusterIpAllocator::AllocateSpecific(const IpAddress& ip, const std::string& owner) {
  BERTH_ASSIGN_OR_RETURN(uint64_t item, Offset(ip));
  return range_.AllocateSpecific(item, owner).Wrap("clusterIP " + ip.String());
}

Status ClusterIpAllocator::Release(const IpAddress& ip) {
  BERTH_ASSIGN_OR_RETURN(uint64_t item, Offset(ip));
  return range_.Release(item);
}

Result<int> NodePortAllocator::Allocate(const std::string& owner) {
  BERTH_ASSIGN_OR_RETURN(uint64_t item, range_.Allocate(owner));
  return kFirst + static_cast<int>(item);
}

Status NodePortAllocator::AllocateSpecific(int port, const std::string& owner) {
  if (port < kFirst || port > kLast) {
    return Error::Invalid("nodePort " + std::to_string(port) + ": outside 30000-32767");
  }
  return range_.AllocateSpecific(static_cast<uint64_t>(port - kFirst), owner)
      .Wrap("nodePort " + std::to_string(port));
}

Status NodePortAllocator::Release(int port) {
  if (port < kFirst || port > kLast) return Ok();
  return range_.Release(static_cast<uint64_t>(port - kFirst));
}

}  // namespace berth::control
