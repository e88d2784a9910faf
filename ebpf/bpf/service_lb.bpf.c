// SPDX-License-Identifier: GPL-2.0
/* ClusterIP without kube-proxy: cgroup sock_addr hooks translate the service
 * address to a backend once per connect (TCP, connected UDP) or per sendmsg
 * (unconnected UDP), and back for getpeername and recvmsg. */
// vmlinux.h defines the kernel types the other headers use: keep it first.
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "service_lb.h"
// clang-format on

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define ECONNREFUSED 111

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, BERTH_LB_MAX_SERVICES);
  __type(key, struct berth_svc_key);
  __type(value, struct berth_svc_value);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_services SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, BERTH_LB_MAX_BACKENDS);
  __type(key, struct berth_backend_key);
  __type(value, struct berth_backend);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_backends SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, BERTH_LB_MAX_REVNAT);
  __type(key, __u64);
  __type(value, struct berth_revnat_value);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_revnat SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, BERTH_LB_MAX_AFFINITY);
  __type(key, struct berth_affinity_key);
  __type(value, struct berth_affinity_value);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_affinity SEC(".maps");

/* Connections per service and per backend, by stable id. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, BERTH_LB_MAX_SERVICES);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_svc_conns SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, BERTH_LB_MAX_BACKENDS);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_backend_conns SEC(".maps");

static __always_inline void count(void* map, __u32 id) {
  __u64* v = bpf_map_lookup_elem(map, &id);
  if (v) {
    *v += 1;
  } else {
    __u64 one = 1;
    bpf_map_update_elem(map, &id, &one, BPF_NOEXIST);
  }
}

static __always_inline void fill_key(struct bpf_sock_addr* ctx, struct berth_svc_key* key, int v6) {
  __builtin_memset(key, 0, sizeof(*key));
  if (v6) {
    __u32* a = (__u32*)key->addr;
    a[0] = ctx->user_ip6[0];
    a[1] = ctx->user_ip6[1];
    a[2] = ctx->user_ip6[2];
    a[3] = ctx->user_ip6[3];
    key->family = AF_INET6;
  } else {
    *(__u32*)key->addr = ctx->user_ip4;
    key->family = AF_INET;
  }
  key->port = (__u16)ctx->user_port;
  key->proto = (__u8)ctx->protocol;
}

static __always_inline int pick(struct bpf_sock_addr* ctx, const struct berth_svc_value* svc,
                                struct berth_backend* out) {
  struct berth_affinity_key akey = {};
  if (svc->flags & BERTH_SVC_AFFINITY) {
    akey.netns_cookie = bpf_get_netns_cookie(ctx);
    akey.svc_stable_id = svc->stable_id;
    struct berth_affinity_value* a = bpf_map_lookup_elem(&berth_affinity, &akey);
    __u64 now = bpf_ktime_get_ns();
    if (a && now - a->last_ns < (__u64)svc->affinity_s * 1000000000ull) {
      a->last_ns = now;
      *out = a->backend;
      return 0;
    }
  }
  struct berth_backend_key bkey = {.rev = svc->rev, .slot = bpf_get_prandom_u32() % svc->count};
  struct berth_backend* b = bpf_map_lookup_elem(&berth_backends, &bkey);
  if (!b) return -1;
  *out = *b;
  if (svc->flags & BERTH_SVC_AFFINITY) {
    struct berth_affinity_value v = {.backend = *b, .last_ns = bpf_ktime_get_ns()};
    bpf_map_update_elem(&berth_affinity, &akey, &v, BPF_ANY);
  }
  return 0;
}

/* Returns 1 to let the call go on (translated or not), 0 to refuse it. */
static __always_inline int translate(struct bpf_sock_addr* ctx, int v6, int remember) {
  struct berth_svc_key key;
  fill_key(ctx, &key, v6);
  struct berth_svc_value* svc = bpf_map_lookup_elem(&berth_services, &key);
  if (!svc) return 1; /* not a service: untouched */
  if (svc->count == 0) {
    bpf_set_retval(-ECONNREFUSED); /* kube-proxy's reject rule */
    return 0;
  }
  struct berth_backend b;
  if (pick(ctx, svc, &b) < 0) return 1;
  if (remember) {
    __u64 cookie = bpf_get_socket_cookie(ctx);
    struct berth_revnat_value rev = {};
    __builtin_memcpy(rev.addr, key.addr, sizeof(rev.addr));
    rev.port = key.port;
    rev.family = key.family;
    __builtin_memcpy(rev.backend_addr, b.addr, sizeof(rev.backend_addr));
    rev.backend_port = b.port;
    bpf_map_update_elem(&berth_revnat, &cookie, &rev, BPF_ANY);
  }
  if (v6) {
    const __u32* a = (const __u32*)b.addr;
    ctx->user_ip6[0] = a[0];
    ctx->user_ip6[1] = a[1];
    ctx->user_ip6[2] = a[2];
    ctx->user_ip6[3] = a[3];
  } else {
    ctx->user_ip4 = *(const __u32*)b.addr;
  }
  ctx->user_port = b.port;
  count(&berth_svc_conns, svc->stable_id);
  count(&berth_backend_conns, b.stable_id);
  return 1;
}

/* getpeername and recvmsg: where the peer is the backend this socket was
 * translated to, show the service address it asked for. */
static __always_inline int reverse(struct bpf_sock_addr* ctx, int v6) {
  __u64 cookie = bpf_get_socket_cookie(ctx);
  struct berth_revnat_value* rev = bpf_map_lookup_elem(&berth_revnat, &cookie);
  if (!rev || rev->backend_port != (__u16)ctx->user_port) return 1;
  if (v6) {
    const __u32* b = (const __u32*)rev->backend_addr;
    if (rev->family != AF_INET6 || ctx->user_ip6[0] != b[0] || ctx->user_ip6[1] != b[1] ||
        ctx->user_ip6[2] != b[2] || ctx->user_ip6[3] != b[3]) {
      return 1;
    }
    const __u32* a = (const __u32*)rev->addr;
    ctx->user_ip6[0] = a[0];
    ctx->user_ip6[1] = a[1];
    ctx->user_ip6[2] = a[2];
    ctx->user_ip6[3] = a[3];
  } else {
    if (rev->family != AF_INET || ctx->user_ip4 != *(const __u32*)rev->backend_addr) return 1;
    ctx->user_ip4 = *(const __u32*)rev->addr;
  }
  ctx->user_port = rev->port;
  return 1;
}

SEC("cgroup/connect4")
int berth_connect4(struct bpf_sock_addr* ctx) { return translate(ctx, 0, 1); }

SEC("cgroup/connect6")
int berth_connect6(struct bpf_sock_addr* ctx) { return translate(ctx, 1, 1); }

SEC("cgroup/sendmsg4")
int berth_sendmsg4(struct bpf_sock_addr* ctx) { return translate(ctx, 0, 1); }

SEC("cgroup/sendmsg6")
int berth_sendmsg6(struct bpf_sock_addr* ctx) { return translate(ctx, 1, 1); }

SEC("cgroup/recvmsg4")
int berth_recvmsg4(struct bpf_sock_addr* ctx) { return reverse(ctx, 0); }

SEC("cgroup/recvmsg6")
int berth_recvmsg6(struct bpf_sock_addr* ctx) { return reverse(ctx, 1); }

SEC("cgroup/getpeername4")
int berth_getpeername4(struct bpf_sock_addr* ctx) { return reverse(ctx, 0); }

SEC("cgroup/getpeername6")
int berth_getpeername6(struct bpf_sock_addr* ctx) { return reverse(ctx, 1); }
