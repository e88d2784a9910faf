#include "berth/control/controllers/service_admission.h"

#include <cerrno>
#include <cstdio>
#include <functional>
#include <optional>

#include "berth/common/log.h"

namespace berth::control {
namespace {

// NodePortAllocator's prefix (allocator.h).
constexpr std::string_view kNodePortPrefix = "/registry/allocations/nodeports/";

// allocator.cc's item key: the item number in fixed-width decimal.
std::string ItemKey(std::string_view prefix, uint64_t item) {
  char buf[24];
  (void)std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(item));
  return std::string(prefix) + buf;
}

// Item keys sort between "<prefix>0" and "<prefix>:" (the allocator's
// "next" hint sorts after them).
Result<RangeResult> ItemRange(Store& store, const std::string& prefix) {
  return store.Range(prefix + "0", prefix + ":");
}

uint64_t ItemOf(const std::string& key, size_t prefix_size) {
  return std::strtoull(key.c_str() + prefix_size, nullptr, 10);
}

std::string OwnerOf(std::string_view ns, std::string_view name, std::string_view uid) {
  return std::string(ns) + "/" + std::string(name) + "/" + std::string(uid);
}

std::string OwnerOf(const v1::ObjectMeta& meta) {
  return OwnerOf(meta.namespace_(), meta.name(), meta.uid());
}

struct Owner {
  std::string ns;
  std::string name;
  std::string uid;
};

std::optional<Owner> ParseOwner(const std::string& text) {
  const size_t a = text.find('/');
  const size_t b = a == std::string::npos ? a : text.find('/', a + 1);
  if (b == std::string::npos) return std::nullopt;
  return Owner{text.substr(0, a), text.substr(a + 1, b - a - 1), text.substr(b + 1)};
}

std::optional<std::string> CanonicalIp(const std::string& text) {
  auto ip = IpAddress::Parse(text);
  if (!ip.ok()) return std::nullopt;
  return ip->String();
}

ServiceAllocation::Held HeldBy(const v1::Service& svc) {
  ServiceAllocation::Held held;
  const v1::ServiceSpec& spec = svc.spec();
  if (spec.type() != "ExternalName") {
    if (auto ip = CanonicalIp(spec.cluster_ip())) held.ips.insert(*ip);
    for (const std::string& text : spec.cluster_ips()) {
      if (auto ip = CanonicalIp(text)) held.ips.insert(*ip);
    }
  }
  if (spec.type() == "NodePort") {
    for (const v1::ServicePort& p : spec.ports()) {
      if (p.node_port() != 0) held.ports.insert(p.node_port());
    }
  }
  return held;
}

// kubectl's shape for a field refused on admission.
Error Refuse(const v1::Service& svc, int err, const std::string& path, const std::string& detail) {
  return Error::Sys(err, "Service \"" + svc.metadata().name() + "\" is invalid: " + path +
                             ": Invalid value: " + detail);
}

}  // namespace

// Reconciles the allocator with the stored Service once the registry's
// write is over, holding the Service's lock until then.
class ServiceAllocation::WriteCheck {
 public:
  WriteCheck(ServiceAllocation& allocation, Registry& registry, const v1::ObjectMeta& meta,
             Held items, Lock lock)
      : allocation_(allocation),
        registry_(registry),
        ns_(meta.namespace_()),
        name_(meta.name()),
        uid_(meta.uid()),
        items_(std::move(items)),
        lock_(std::move(lock)) {}
  ~WriteCheck() { allocation_.ReleaseUnheld(registry_, ns_, name_, uid_, items_); }
  WriteCheck(const WriteCheck&) = delete;
  WriteCheck& operator=(const WriteCheck&) = delete;

 private:
  ServiceAllocation& allocation_;
  Registry& registry_;
  std::string ns_;
  std::string name_;
  std::string uid_;
  Held items_;
  Lock lock_;  // released after the destructor's check
};

ServiceAllocation::ServiceAllocation(Store& store, const IpPrefix& service_cidr)
    : store_(store),
      cidr_(service_cidr.Network()),
      // ClusterIpAllocator's prefix (allocator.cc).
      ip_prefix_("/registry/allocations/clusterips/" + service_cidr.Network().String() + "/"),
      ips_(store, service_cidr),
      ports_(store) {}

ServiceAllocation::Lock ServiceAllocation::LockService(const std::string& key) {
  return Lock(locks_[std::hash<std::string>{}(key) % locks_.size()]);
}

std::string ServiceAllocation::IpKey(const std::string& ip) const {
  auto parsed = IpAddress::Parse(ip);
  if (!parsed.ok() || !cidr_.Contains(*parsed)) return "";
  const uint64_t offset = cidr_.OffsetOf(*parsed);
  // ClusterIpAllocator's items start after the network address.
  if (offset < 1) return "";
  return ItemKey(ip_prefix_, offset - 1);
}

std::string ServiceAllocation::PortKey(int port) const {
  if (port < NodePortAllocator::kFirst || port > NodePortAllocator::kLast) return "";
  return ItemKey(kNodePortPrefix, static_cast<uint64_t>(port - NodePortAllocator::kFirst));
}

Result<Admission::Guard> ServiceAllocation::Admit(v1::Object& object, const v1::Object* old,
                                                  Registry& registry) {
  if (!object.has_service()) return Guard();
  v1::Service& svc = *object.mutable_service();
  const v1::Service* prev = old != nullptr && old->has_service() ? &old->service() : nullptr;
  const v1::ObjectMeta& meta = svc.metadata();
  Lock lock = LockService(meta.namespace_() + "/" + meta.name());
  const std::string owner = OwnerOf(meta);
  const Held before = prev != nullptr ? HeldBy(*prev) : Held{};
  Held allocated;
  Status st = AllocateClusterIp(svc, before, owner, allocated);
  if (st.ok()) st = AllocateNodePorts(prev, svc, before, owner, allocated);
  if (!st.ok()) {
    ReleaseAll(allocated, owner);
    return std::move(st).error();
  }
  // What the guard settles: the new allocations, and what the update drops.
  Held settle = std::move(allocated);
  const Held after = HeldBy(svc);
  for (const std::string& ip : before.ips) {
    if (after.ips.count(ip) == 0) settle.ips.insert(ip);
  }
  for (int port : before.ports) {
    if (after.ports.count(port) == 0) settle.ports.insert(port);
  }
  return Guard(
      std::make_shared<WriteCheck>(*this, registry, meta, std::move(settle), std::move(lock)));
}

Status ServiceAllocation::AllocateClusterIp(v1::Service& svc, const Held& before,
                                            const std::string& owner, Held& allocated) {
  v1::ServiceSpec& spec = *svc.mutable_spec();
  if (spec.type() == "ExternalName" || spec.cluster_ip() == "None") return {};
  if (spec.cluster_ips_size() > 1) {
    return Refuse(svc, EINVAL, "spec.clusterIPs[1]",
                  "\"" + spec.cluster_ips(1) + "\": only one service CIDR is configured (" +
                      cidr_.String() + ")");
  }
  if (spec.cluster_ip().empty()) {
    auto ip = ips_.Allocate(owner);
    if (!ip.ok()) {
      return std::move(ip).error().Wrap("allocate a clusterIP for service " +
                                        svc.metadata().name());
    }
    spec.set_cluster_ip(ip->String());
    spec.clear_cluster_ips();
    spec.add_cluster_ips(ip->String());
    allocated.ips.insert(ip->String());
    return {};
  }
  auto ip = IpAddress::Parse(spec.cluster_ip());
  if (!ip.ok()) {
    return Refuse(svc, EINVAL, "spec.clusterIP",
                  "\"" + spec.cluster_ip() + "\": must be empty, 'None', or a valid IP address");
  }
  if (spec.cluster_ips().empty()) spec.add_cluster_ips(spec.cluster_ip());
  if (before.ips.count(ip->String()) != 0) return {};  // held since it was created
  Status taken = ips_.AllocateSpecific(*ip, owner);
  if (!taken.ok()) {
    const std::string value = "\"" + spec.cluster_ip() + "\"";
    if (taken.error().err() == EEXIST) {
      return Refuse(svc, EEXIST, "spec.clusterIP", value + ": provided IP is already allocated");
    }
    if (taken.error().err() == EINVAL) {
      return Refuse(svc, EINVAL, "spec.clusterIP",
                    value + ": provided IP is not in the valid range. The range of valid IPs is " +
                        cidr_.String());
    }
    return taken;
  }
  allocated.ips.insert(ip->String());
  return {};
}

Status ServiceAllocation::AllocateNodePorts(const v1::Service* prev, v1::Service& svc,
                                            const Held& before, const std::string& owner,
                                            Held& allocated) {
  v1::ServiceSpec& spec = *svc.mutable_spec();
  if (spec.type() != "NodePort") return {};
  const bool was_node_port = prev != nullptr && prev->spec().type() == "NodePort";
  for (int i = 0; i < spec.ports_size(); ++i) {
    v1::ServicePort& p = *spec.mutable_ports(i);
    if (p.node_port() == 0 && was_node_port) {
      for (const v1::ServicePort& q : prev->spec().ports()) {
        if (q.port() == p.port() && q.protocol() == p.protocol() && q.node_port() != 0) {
          p.set_node_port(q.node_port());
          break;
        }
      }
    }
    if (p.node_port() == 0) {
      auto port = ports_.Allocate(owner);
      if (!port.ok()) {
        return std::move(port).error().Wrap("allocate a nodePort for service " +
                                            svc.metadata().name());
      }
      p.set_node_port(*port);
      allocated.ports.insert(*port);
      continue;
    }
    // The same number for TCP and UDP is one allocation.
    if (before.ports.count(p.node_port()) != 0 || allocated.ports.count(p.node_port()) != 0) {
      continue;
    }
    Status taken = ports_.AllocateSpecific(p.node_port(), owner);
    if (!taken.ok()) {
      const std::string path = "spec.ports[" + std::to_string(i) + "].nodePort";
      const std::string value = std::to_string(p.node_port());
      if (taken.error().err() == EEXIST) {
        return Refuse(svc, EEXIST, path, value + ": provided port is already allocated");
      }
      if (taken.error().err() == EINVAL) {
        return Refuse(svc, EINVAL, path,
                      value + ": provided port is not in the valid range. The range of valid " +
                          "ports is " + std::to_string(NodePortAllocator::kFirst) + "-" +
                          std::to_string(NodePortAllocator::kLast));
      }
      return taken;
    }
    allocated.ports.insert(p.node_port());
  }
  return {};
}

void ServiceAllocation::Deleted(const v1::Object& object) {
  if (!object.has_service()) return;
  const v1::ObjectMeta& meta = object.service().metadata();
  Lock lock = LockService(meta.namespace_() + "/" + meta.name());
  ReleaseAll(HeldBy(object.service()), OwnerOf(meta));
}

void ServiceAllocation::ReleaseUnheld(Registry& registry, const std::string& ns,
                                      const std::string& name, const std::string& uid,
                                      const Held& items) {
  if (items.ips.empty() && items.ports.empty()) return;
  auto stored = registry.Get({"Service", ns, name});
  Held held;
  if (stored.ok()) {
    if (stored->service().metadata().uid() == uid) held = HeldBy(stored->service());
  } else if (stored.error().err() != ENOENT) {
    // Unknown whether the write happened: keep everything, the repair
    // releases what turns out to be leaked.
    log::Warn("service allocation: cannot read the written service",
              {{"service", ns + "/" + name}, {"error", stored.error().ToString()}});
    return;
  }
  Held release;
  for (const std::string& ip : items.ips) {
    if (held.ips.count(ip) == 0) release.ips.insert(ip);
  }
  for (int port : items.ports) {
    if (held.ports.count(port) == 0) release.ports.insert(port);
  }
  ReleaseAll(release, OwnerOf(ns, name, uid));
}

Status ServiceAllocation::ReleaseIfOwned(const std::string& key, const std::string& owner) {
  if (key.empty()) return {};  // outside the ranges: never allocated here
  BERTH_ASSIGN_OR_RETURN(std::optional<KeyValue> kv, store_.Get(key));
  if (!kv || kv->value != owner) return {};
  // Changed since the read (failed compare): no longer ours to release.
  return StatusOf(store_.Txn({{key, Compare::Target::kModRevision, kv->mod_revision}},
                             {{Op::Kind::kDelete, key, ""}}));
}

void ServiceAllocation::ReleaseAll(const Held& items, const std::string& owner) {
  auto release = [&](const std::string& key, const std::string& what) {
    Status st = ReleaseIfOwned(key, owner);
    if (!st.ok()) {
      // The repair releases it later.
      log::Warn("service allocation: release failed",
                {{"owner", owner}, {"item", what}, {"error", st.error().ToString()}});
    }
  };
  for (const std::string& ip : items.ips) release(IpKey(ip), ip);
  for (int port : items.ports) release(PortKey(port), std::to_string(port));
}

Status ServiceAllocation::RepairOnce(Registry& registry) {
  std::lock_guard repair(repair_mu_);
  BERTH_ASSIGN_OR_RETURN(ListResult services,
                         registry.List({.kind = "Service", .all_namespaces = true}));
  std::map<std::string, const v1::Service*> by_key;
  for (const v1::Object& o : services.items) {
    by_key[o.service().metadata().namespace_() + "/" + o.service().metadata().name()] =
        &o.service();
  }
  BERTH_ASSIGN_OR_RETURN(RangeResult ip_items, ItemRange(store_, ip_prefix_));
  BERTH_ASSIGN_OR_RETURN(RangeResult port_items, ItemRange(store_, std::string(kNodePortPrefix)));

  // Whether the Service named by `owner` (uid included) holds the item.
  using Holds = std::function<bool(const Held&)>;
  auto held_by_owner = [](const v1::Service* svc, const std::optional<Owner>& owner,
                          const Holds& holds) {
    return svc != nullptr && owner && svc->metadata().uid() == owner->uid && holds(HeldBy(*svc));
  };
  std::map<std::string, int64_t> suspects;
  auto check = [&](const KeyValue& kv, const Holds& holds) -> Status {
    const std::optional<Owner> owner = ParseOwner(kv.value);
    const std::string svc_key = owner ? owner->ns + "/" + owner->name : "";
    auto it = by_key.find(svc_key);
    if (held_by_owner(it == by_key.end() ? nullptr : it->second, owner, holds)) return {};
    auto seen = suspected_.find(kv.key);
    if (seen == suspected_.end() || seen->second != kv.mod_revision) {
      suspects[kv.key] = kv.mod_revision;
      return {};
    }
    // A leak twice in a row: settle it under the Service's lock, against
    // the Service as stored now.
    Lock lock = LockService(svc_key);
    if (owner) {
      auto now = registry.Get({"Service", owner->ns, owner->name});
      if (!now.ok() && now.error().err() != ENOENT) return now.error();
      if (now.ok() && held_by_owner(&now->service(), owner, holds)) return {};
    }
    log::Info("service allocation repair: releasing a leaked allocation",
              {{"key", kv.key}, {"owner", kv.value}});
    return StatusOf(store_.Txn({{kv.key, Compare::Target::kModRevision, kv.mod_revision}},
                               {{Op::Kind::kDelete, kv.key, ""}}));
  };
  for (const KeyValue& kv : ip_items.kvs) {
    const uint64_t offset = ItemOf(kv.key, ip_prefix_.size()) + 1;
    if (offset >= cidr_.Size()) continue;  // not an item of this range
    const std::string ip = cidr_.Nth(offset).String();
    BERTH_TRY(check(kv, [&](const Held& h) { return h.ips.count(ip) != 0; }));
  }
  for (const KeyValue& kv : port_items.kvs) {
    const int port =
        NodePortAllocator::kFirst + static_cast<int>(ItemOf(kv.key, kNodePortPrefix.size()));
    BERTH_TRY(check(kv, [&](const Held& h) { return h.ports.count(port) != 0; }));
  }
  suspected_ = std::move(suspects);

  // Addresses Services hold that the allocator lacks (a store restored
  // from an older copy, Services from before this admission): recorded
  // again, under the Service's lock and if it still holds them; one held
  // by two Services is reported (Kubernetes' repair emits
  // ClusterIPAlreadyAllocated).
  std::set<std::string> allocated;
  for (const KeyValue& kv : ip_items.kvs) allocated.insert(kv.key);
  for (const KeyValue& kv : port_items.kvs) allocated.insert(kv.key);
  for (const auto& entry : by_key) {
    const std::string& svc_key = entry.first;
    const v1::Service* svc = entry.second;
    const Held held = HeldBy(*svc);
    const std::string owner = OwnerOf(svc->metadata());
    const std::optional<Owner> parsed = ParseOwner(owner);
    auto record = [&](const std::string& key, const Holds& holds,
                      const std::function<Status()>& allocate, const std::string& what) -> Status {
      if (key.empty() || allocated.count(key) != 0) return {};
      Lock lock = LockService(svc_key);
      auto now = registry.Get({"Service", svc->metadata().namespace_(), svc->metadata().name()});
      if (!now.ok() && now.error().err() != ENOENT) return now.error();
      if (!now.ok() || !held_by_owner(&now->service(), parsed, holds)) return {};
      Status st = allocate();
      if (st.ok()) {
        log::Info("service allocation repair: recorded an allocation the store lacked",
                  {{"service", svc_key}, {"item", what}});
      } else {
        log::Warn("service allocation repair: cannot record an allocation",
                  {{"service", svc_key}, {"item", what}, {"error", st.error().ToString()}});
      }
      return {};
    };
    for (const std::string& ip : held.ips) {
      BERTH_TRY(record(
          IpKey(ip), [&](const Held& h) { return h.ips.count(ip) != 0; },
          [&] { return ips_.AllocateSpecific(*IpAddress::Parse(ip), owner); }, ip));
    }
    for (int port : held.ports) {
      BERTH_TRY(record(
          PortKey(port), [&](const Held& h) { return h.ports.count(port) != 0; },
          [&] { return ports_.AllocateSpecific(port, owner); }, std::to_string(port)));
    }
  }
  return {};
}

ServiceAllocationRepair::ServiceAllocationRepair(Registry& registry, ServiceAllocation& allocation,
                                                 std::chrono::milliseconds period)
    : registry_(registry), allocation_(allocation), period_(period) {}

ServiceAllocationRepair::~ServiceAllocationRepair() { Stop(); }

Status ServiceAllocationRepair::Start() {
  if (thread_.joinable()) return Error::Sys(EBUSY, "service allocation repair: already running");
  stop_ = false;
  thread_ = std::thread([this] {
    while (!stop_) {
      Status st = allocation_.RepairOnce(registry_);
      if (!st.ok()) {
        log::Warn("service allocation repair failed", {{"error", st.error().ToString()}});
      }
      const auto next = std::chrono::steady_clock::now() + period_;
      while (!stop_ && std::chrono::steady_clock::now() < next) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  });
  return {};
}

void ServiceAllocationRepair::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace berth::control
