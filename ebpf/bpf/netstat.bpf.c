// SPDX-License-Identifier: GPL-2.0
/* Network counters per cgroup (per container, even when containers share a
 * pod's network namespace): cgroup_skb ingress and egress programs add each
 * packet's length to per-CPU counters keyed by the socket's cgroup id.
 * Loopback (ifindex 1 in every namespace) is left out, as cAdvisor does. */
// vmlinux.h defines the kernel types the other headers use: keep it first.
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "netstat.h"
// clang-format on

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, BERTH_NETSTAT_MAX_CGROUPS);
  __type(key, __u64);
  __type(value, struct berth_netstat);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_netstat SEC(".maps");

static __always_inline void account(struct __sk_buff* skb, int egress) {
  if (skb->ifindex == 1) return;
  struct bpf_sock* sk = skb->sk;
  if (!sk) return;
  sk = bpf_sk_fullsock(sk);
  if (!sk) return;
  __u64 id = bpf_sk_cgroup_id(sk);
  struct berth_netstat* s = bpf_map_lookup_elem(&berth_netstat, &id);
  if (!s) {
    struct berth_netstat zero = {};
    bpf_map_update_elem(&berth_netstat, &id, &zero, BPF_NOEXIST);
    s = bpf_map_lookup_elem(&berth_netstat, &id);
    if (!s) return;
  }
  if (egress) {
    s->tx_bytes += skb->len;
    s->tx_packets += 1;
  } else {
    s->rx_bytes += skb->len;
    s->rx_packets += 1;
  }
}

SEC("cgroup_skb/ingress")
int berth_netstat_ingress(struct __sk_buff* skb) {
  account(skb, 0);
  return 1;
}

SEC("cgroup_skb/egress")
int berth_netstat_egress(struct __sk_buff* skb) {
  account(skb, 1);
  return 1;
}
