#include "berth/ebpf/service_lb.h"

#include <fcntl.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/vfs.h>

#include <algorithm>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "bpf_skeleton.h"
#include "cgroup_links.h"

#include "berth/common/file.h"
#include "berth/common/unique_fd.h"

// The generated skeleton and the structs it shares with the programs.
extern "C" {
#include "service_lb.h"
}
#include "service_lb.skel.h"

namespace berth::ebpf {
namespace {

namespace fs = std::filesystem;
using Skeleton =
    BpfSkeleton<service_lb, service_lb__open_opts, service_lb__load, service_lb__destroy>;

uint32_t Fnv(const void* data, size_t len) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < len; ++i) {
    h ^= static_cast<const uint8_t*>(data)[i];
    h *= 16777619u;
  }
  return h == 0 ? 1 : h;
}

berth_svc_key ToKey(const ServiceKey& k) {
  berth_svc_key key;
  std::memset(&key, 0, sizeof(key));
  std::memcpy(key.addr, k.address.bytes.data(), k.address.size());
  key.port = htons(k.port);
  key.proto = k.protocol == Protocol::kTcp ? IPPROTO_TCP : IPPROTO_UDP;
  key.family = static_cast<__u8>(k.address.family);
  return key;
}

ServiceKey FromKey(const berth_svc_key& key) {
  ServiceKey k;
  k.address.family = key.family;
  std::memcpy(k.address.bytes.data(), key.addr, k.address.size());
  k.port = ntohs(key.port);
  k.protocol = key.proto == IPPROTO_TCP ? Protocol::kTcp : Protocol::kUdp;
  return k;
}

berth_backend ToBackend(const Backend& b) {
  berth_backend out;
  std::memset(&out, 0, sizeof(out));
  std::memcpy(out.addr, b.address.bytes.data(), b.address.size());
  out.port = htons(b.port);
  out.family = static_cast<__u8>(b.address.family);
  out.stable_id = Fnv(&out, offsetof(berth_backend, stable_id));
  return out;
}

Backend FromBackend(const berth_backend& b) {
  Backend out;
  out.address.family = b.family;
  std::memcpy(out.address.bytes.data(), b.addr, out.address.size());
  out.port = ntohs(b.port);
  return out;
}

Error BpfError(const std::string& what) { return Error::FromErrno(what); }

// Sum of a per-CPU counter; 0 when absent.
uint64_t ReadCounter(int fd, uint32_t id) {
  const int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> values(static_cast<size_t>(std::max(cpus, 1)));
  if (bpf_map_lookup_elem(fd, &id, values.data()) < 0) return 0;
  uint64_t sum = 0;
  for (uint64_t v : values) sum += v;
  return sum;
}

}  // namespace

std::string ServiceKey::String() const {
  const std::string a = address.is_v4() ? address.String() : "[" + address.String() + "]";
  return a + ":" + std::to_string(port) + (protocol == Protocol::kTcp ? "/TCP" : "/UDP");
}

struct ServiceLb::Impl {
  ServiceLbOptions options;
  Skeleton skel;
  PinnedCgroupLinks links;  // declared after skel: closed before it is destroyed
  uint32_t next_rev = 1;

  int services_fd() const { return bpf_map__fd(skel->maps.berth_services); }
  int backends_fd() const { return bpf_map__fd(skel->maps.berth_backends); }

  Result<std::optional<berth_svc_value>> Lookup(const berth_svc_key& key) const {
    berth_svc_value v;
    if (bpf_map_lookup_elem(services_fd(), &key, &v) == 0) return std::optional(v);
    if (errno == ENOENT) return std::optional<berth_svc_value>();
    return BpfError("look up service");
  }

  void DeleteSlots(uint32_t rev, uint32_t count) const {
    for (uint32_t i = 0; i < count; ++i) {
      berth_backend_key k{rev, i};
      (void)bpf_map_delete_elem(backends_fd(), &k);  // ENOENT: already gone
    }
  }
};

ServiceLb::ServiceLb(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServiceLb::~ServiceLb() = default;

Result<std::unique_ptr<ServiceLb>> ServiceLb::Open(const ServiceLbOptions& options) {
  const std::string ctx = "service load balancer at " + options.pin_dir.string();
  BERTH_TRY(EnsureBpffsDir(options.pin_dir).Wrap(ctx));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  const std::string pin_root = options.pin_dir.string();
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root.c_str());
  BERTH_ASSIGN_OR_RETURN(impl->skel, Skeleton::Open("service_lb", &opts).Wrap(ctx));
  BERTH_TRY(impl->skel.Load("service_lb").Wrap(ctx));
  BERTH_ASSIGN_OR_RETURN(
      impl->links,
      PinnedCgroupLinks::Attach(impl->skel->obj, options.cgroup, options.pin_dir).Wrap(ctx));
  // Revisions continue after the highest one the (possibly re-opened) maps hold.
  berth_svc_key key, next;
  berth_svc_key* prev = nullptr;
  while (bpf_map_get_next_key(impl->services_fd(), prev, &next) == 0) {
    berth_svc_value v;
    if (bpf_map_lookup_elem(impl->services_fd(), &next, &v) == 0) {
      impl->next_rev = std::max(impl->next_rev, v.rev + 1);
    }
    key = next;
    prev = &key;
  }
  return std::unique_ptr<ServiceLb>(new ServiceLb(std::move(impl)));
}

namespace {

Status Validate(const Service& s) {
  const std::string ctx = "service " + s.key.String();
  if (s.key.address.family != AF_INET && s.key.address.family != AF_INET6) {
    return Error::Invalid(ctx + ": no address");
  }
  if (s.key.port == 0) return Error::Invalid(ctx + ": port 0");
  for (const Backend& b : s.backends) {
    if (b.address.family != s.key.address.family || b.port == 0) {
      return Error::Invalid(ctx + ": backend " + b.address.String() + ":" + std::to_string(b.port) +
                            " does not match the service's family");
    }
  }
  return {};
}

// bpf_map_update_batch, falling back to single updates where the kernel
// lacks batch operations for the map type.
template <typename K, typename V>
Status UpdateAll(int fd, std::vector<K>& keys, std::vector<V>& values, const std::string& what) {
  if (keys.empty()) return {};
  auto count = static_cast<__u32>(keys.size());
  if (bpf_map_update_batch(fd, keys.data(), values.data(), &count, nullptr) == 0) return {};
  // 524 is the kernel's ENOTSUPP, which the bpf syscall can leak to user space.
  if (errno != EINVAL && errno != 524 && errno != EOPNOTSUPP) return BpfError(what);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (bpf_map_update_elem(fd, &keys[i], &values[i], BPF_ANY) < 0) return BpfError(what);
  }
  return {};
}

template <typename K>
void DeleteAll(int fd, std::vector<K>& keys) {
  if (keys.empty()) return;
  auto count = static_cast<__u32>(keys.size());
  if (bpf_map_delete_batch(fd, keys.data(), &count, nullptr) == 0) return;
  for (K& k : keys) (void)bpf_map_delete_elem(fd, &k);  // ENOENT: already gone
}

}  // namespace

Status ServiceLb::Upsert(const Service& s) { return UpsertMany({s}); }

Status ServiceLb::UpsertMany(const std::vector<Service>& services) {
  Impl& d = *impl_;
  std::vector<berth_svc_key> keys;
  std::vector<berth_svc_value> values;
  std::vector<berth_backend_key> slot_keys, old_slot_keys;
  std::vector<berth_backend> slots;
  keys.reserve(services.size());
  values.reserve(services.size());
  for (const Service& s : services) {
    BERTH_TRY(Validate(s));
    const berth_svc_key key = ToKey(s.key);
    BERTH_ASSIGN_OR_RETURN(std::optional<berth_svc_value> old,
                           d.Lookup(key).Wrap("service " + s.key.String()));
    berth_svc_value v;
    std::memset(&v, 0, sizeof(v));
    v.rev = d.next_rev++;
    v.count = static_cast<__u32>(s.backends.size());
    v.flags = s.affinity_timeout_seconds ? BERTH_SVC_AFFINITY : 0;
    v.affinity_s = s.affinity_timeout_seconds.value_or(0);
    v.stable_id = Fnv(&key, sizeof(key));
    for (uint32_t i = 0; i < v.count; ++i) {
      slot_keys.push_back({v.rev, i});
      slots.push_back(ToBackend(s.backends[i]));
    }
    if (old) {
      for (uint32_t i = 0; i < old->count; ++i) old_slot_keys.push_back({old->rev, i});
    }
    keys.push_back(key);
    values.push_back(v);
  }
  const std::string what = services.size() == 1 ? "service " + services[0].key.String()
                                                : std::to_string(services.size()) + " services";
  // 1. the new slots, under revisions nobody reads yet
  if (Status s = UpdateAll(d.backends_fd(), slot_keys, slots, what + ": write backend slots");
      !s.ok()) {
    DeleteAll(d.backends_fd(), slot_keys);
    return s;
  }
  // 2. the switch: new connections pick from the new sets
  if (Status s = UpdateAll(d.services_fd(), keys, values, what + ": write service entries");
      !s.ok()) {
    return s;  // slots of entries that did switch are in use: leave them
  }
  // 3. the old slots, which nothing selects any more
  DeleteAll(d.backends_fd(), old_slot_keys);
  return {};
}

Status ServiceLb::Delete(const ServiceKey& k) {
  const std::string ctx = "service " + k.String();
  Impl& d = *impl_;
  const berth_svc_key key = ToKey(k);
  BERTH_ASSIGN_OR_RETURN(std::optional<berth_svc_value> old, d.Lookup(key).Wrap(ctx));
  if (!old) return {};
  if (bpf_map_delete_elem(d.services_fd(), &key) < 0 && errno != ENOENT) {
    return BpfError(ctx + ": delete service entry");
  }
  d.DeleteSlots(old->rev, old->count);
  (void)bpf_map_delete_elem(bpf_map__fd(d.skel->maps.berth_svc_conns), &old->stable_id);
  return {};
}

namespace {

// The maps' contents: shared by List() and ReadPinnedServices().
std::vector<ServiceState> ListMaps(int services_fd, int backends_fd, int svc_conns_fd,
                                   int backend_conns_fd) {
  std::vector<ServiceState> out;
  berth_svc_key key, next;
  berth_svc_key* prev = nullptr;
  while (bpf_map_get_next_key(services_fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    berth_svc_value v;
    if (bpf_map_lookup_elem(services_fd, &key, &v) < 0) continue;  // deleted meanwhile
    ServiceState st;
    st.service.key = FromKey(key);
    if (v.flags & BERTH_SVC_AFFINITY) st.service.affinity_timeout_seconds = v.affinity_s;
    st.connections = ReadCounter(svc_conns_fd, v.stable_id);
    for (uint32_t i = 0; i < v.count; ++i) {
      berth_backend_key k{v.rev, i};
      berth_backend b;
      if (bpf_map_lookup_elem(backends_fd, &k, &b) < 0) continue;
      st.service.backends.push_back(FromBackend(b));
      st.backend_connections.push_back(ReadCounter(backend_conns_fd, b.stable_id));
    }
    out.push_back(std::move(st));
  }
  std::sort(out.begin(), out.end(), [](const ServiceState& a, const ServiceState& b) {
    return a.service.key.String() < b.service.key.String();
  });
  return out;
}

}  // namespace

Result<std::vector<ServiceState>> ServiceLb::List() const {
  const Impl& d = *impl_;
  return ListMaps(d.services_fd(), d.backends_fd(), bpf_map__fd(d.skel->maps.berth_svc_conns),
                  bpf_map__fd(d.skel->maps.berth_backend_conns));
}

Result<std::vector<ServiceState>> ReadPinnedServices(const fs::path& pin_dir) {
  UniqueFd fds[4];
  const char* names[4] = {"berth_services", "berth_backends", "berth_svc_conns",
                          "berth_backend_conns"};
  for (int i = 0; i < 4; ++i) {
    LIBBPF_OPTS(bpf_obj_get_opts, opts, .file_flags = BPF_F_RDONLY);
    const fs::path p = pin_dir / names[i];
    fds[i] = UniqueFd(bpf_obj_get_opts(p.c_str(), &opts));
    if (!fds[i]) return Error::FromErrno("open pinned map " + p.string());
  }
  return ListMaps(fds[0].get(), fds[1].get(), fds[2].get(), fds[3].get());
}

Status ServiceLb::Uninstall() {
  BERTH_TRY(impl_->links.Detach());
  return UnpinMaps(impl_->skel->obj, impl_->options.pin_dir);
}

}  // namespace berth::ebpf
