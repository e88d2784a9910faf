#include "berth/ebpf/nodeport.h"

#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <sys/vfs.h>

#include <cstring>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include "bpf_skeleton.h"
#include "cgroup_links.h"

#include "berth/common/file.h"

extern "C" {
#include "nodeport.h"
}
#include "nodeport.skel.h"

namespace berth::ebpf {
namespace {

using Skeleton = BpfSkeleton<nodeport, nodeport__open_opts, nodeport__load, nodeport__destroy>;

// Our filters' identity on the clsact hooks: replaced in place on re-open.
constexpr uint32_t kTcHandle = 0xbe47;
constexpr uint32_t kTcPriority = 1;

berth_np_key ToKey(uint16_t port, Protocol p) {
  berth_np_key k;
  std::memset(&k, 0, sizeof(k));
  k.port = htons(port);
  k.proto = p == Protocol::kTcp ? IPPROTO_TCP : IPPROTO_UDP;
  return k;
}

}  // namespace

std::string NodePortService::String() const {
  return std::to_string(node_port) + (protocol == Protocol::kTcp ? "/TCP" : "/UDP");
}

struct NodePort::Impl {
  NodePortOptions options;
  Skeleton skel;
  int ifindex = 0;
  uint32_t next_rev = 1;

  int services_fd() const { return bpf_map__fd(skel->maps.berth_np_services); }
  int backends_fd() const { return bpf_map__fd(skel->maps.berth_np_backends); }

  Status Attach(bpf_tc_attach_point point, bpf_program* prog) const {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority,
                .flags = BPF_TC_F_REPLACE, .prog_fd = bpf_program__fd(prog));
    if (int err = bpf_tc_attach(&hook, &opts); err < 0) {
      return Error::Sys(
          -err, std::string("attach ") + bpf_program__name(prog) + " to " + options.interface);
    }
    return {};
  }
};

NodePort::NodePort(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NodePort::~NodePort() = default;

Result<std::unique_ptr<NodePort>> NodePort::Open(const NodePortOptions& options) {
  const std::string ctx = "NodePort on " + options.interface;
  if (!options.node_address.is_v4()) {
    return Error::Invalid(ctx + ": node address " + options.node_address.String() + " is not IPv4");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->ifindex = static_cast<int>(::if_nametoindex(options.interface.c_str()));
  if (impl->ifindex == 0) return Error::FromErrno(ctx + ": no such interface");
  BERTH_TRY(EnsureBpffsDir(options.pin_dir).Wrap(ctx));
  const std::string pin_root = options.pin_dir.string();
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root.c_str());
  BERTH_ASSIGN_OR_RETURN(impl->skel, Skeleton::Open("nodeport", &opts).Wrap(ctx));
  std::memcpy(const_cast<uint32_t*>(&impl->skel->rodata->node_addr),
              options.node_address.bytes.data(), 4);
  *const_cast<uint32_t*>(&impl->skel->rodata->external_ifindex) =
      static_cast<uint32_t>(impl->ifindex);
  BERTH_TRY(impl->skel.Load("nodeport").Wrap(ctx));
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = impl->ifindex,
              .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
  if (int err = bpf_tc_hook_create(&hook); err < 0 && err != -EEXIST) {
    return Error::Sys(-err, ctx + ": create clsact qdisc");
  }
  BERTH_TRY(impl->Attach(BPF_TC_INGRESS, impl->skel->progs.berth_nodeport_ingress).Wrap(ctx));
  BERTH_TRY(impl->Attach(BPF_TC_EGRESS, impl->skel->progs.berth_nodeport_egress).Wrap(ctx));
  berth_np_key key, next;
  berth_np_key* prev = nullptr;
  while (bpf_map_get_next_key(impl->services_fd(), prev, &next) == 0) {
    berth_np_value v;
    if (bpf_map_lookup_elem(impl->services_fd(), &next, &v) == 0) {
      impl->next_rev = std::max(impl->next_rev, v.rev + 1);
    }
    key = next;
    prev = &key;
  }
  return std::unique_ptr<NodePort>(new NodePort(std::move(impl)));
}

Status NodePort::Upsert(const NodePortService& s) {
  const std::string ctx = "NodePort " + s.String();
  if (s.node_port == 0) return Error::Invalid(ctx + ": port 0");
  Impl& d = *impl_;
  std::vector<NodePortBackend> backends;
  for (const auto& b : s.backends) {
    if (!b.address.is_v4() || b.port == 0) {
      return Error::Invalid(ctx + ": backend " + b.address.String() + ":" + std::to_string(b.port) +
                            " is not an IPv4 address and port");
    }
    if (s.policy == ExternalTrafficPolicy::kLocal && !b.local) continue;
    backends.push_back(b);
  }
  const berth_np_key key = ToKey(s.node_port, s.protocol);
  berth_np_value old{};
  const bool had_old = bpf_map_lookup_elem(d.services_fd(), &key, &old) == 0;
  berth_np_value v{};
  v.rev = d.next_rev++;
  v.count = static_cast<uint32_t>(backends.size());
  v.stable_id = (static_cast<uint32_t>(key.proto) << 16) | key.port;
  for (uint32_t i = 0; i < v.count; ++i) {
    berth_np_backend_key k{v.rev, i};
    berth_np_backend b{};
    std::memcpy(&b.addr, backends[i].address.bytes.data(), 4);
    b.port = htons(backends[i].port);
    b.local = backends[i].local ? 1 : 0;
    if (bpf_map_update_elem(d.backends_fd(), &k, &b, BPF_ANY) < 0) {
      return Error::FromErrno(ctx + ": write backend slot " + std::to_string(i));
    }
  }
  if (bpf_map_update_elem(d.services_fd(), &key, &v, BPF_ANY) < 0) {
    return Error::FromErrno(ctx + ": write service entry");
  }
  if (had_old) {
    for (uint32_t i = 0; i < old.count; ++i) {
      berth_np_backend_key k{old.rev, i};
      (void)bpf_map_delete_elem(d.backends_fd(), &k);  // ENOENT: already gone
    }
  }
  return {};
}

Status NodePort::Delete(uint16_t node_port, Protocol protocol) {
  Impl& d = *impl_;
  const berth_np_key key = ToKey(node_port, protocol);
  berth_np_value old{};
  if (bpf_map_lookup_elem(d.services_fd(), &key, &old) < 0) return {};
  if (bpf_map_delete_elem(d.services_fd(), &key) < 0 && errno != ENOENT) {
    return Error::FromErrno("NodePort " + std::to_string(node_port) + ": delete");
  }
  for (uint32_t i = 0; i < old.count; ++i) {
    berth_np_backend_key k{old.rev, i};
    (void)bpf_map_delete_elem(d.backends_fd(), &k);  // ENOENT: already gone
  }
  return {};
}

Result<uint64_t> NodePort::Connections(uint16_t node_port, Protocol protocol) const {
  const berth_np_key key = ToKey(node_port, protocol);
  uint32_t id = (static_cast<uint32_t>(key.proto) << 16) | key.port;
  std::vector<uint64_t> values(static_cast<size_t>(std::max(libbpf_num_possible_cpus(), 1)));
  if (bpf_map_lookup_elem(bpf_map__fd(impl_->skel->maps.berth_np_conns), &id, values.data()) < 0) {
    return uint64_t{0};
  }
  uint64_t sum = 0;
  for (uint64_t v : values) sum += v;
  return sum;
}

Status NodePort::Uninstall() {
  Impl& d = *impl_;
  for (auto point : {BPF_TC_INGRESS, BPF_TC_EGRESS}) {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = d.ifindex, .attach_point = point);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
    if (int err = bpf_tc_detach(&hook, &opts); err < 0 && err != -ENOENT) {
      return Error::Sys(-err, "detach NodePort from " + d.options.interface);
    }
  }
  return UnpinMaps(d.skel->obj, d.options.pin_dir);
}

}  // namespace berth::ebpf
