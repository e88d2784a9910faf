// SPDX-License-Identifier: GPL-2.0
/* NodePort without kube-proxy: tc programs on the node's external interface.
 * Ingress: a new flow to <node address>:<node port> picks a backend; a local
 * backend gets the packet with its destination translated (the client's
 * address preserved, replies fixed on egress); a backend on another node
 * gets it with the source translated to this node too and sent back out
 * (externalTrafficPolicy Cluster), its replies fixed on ingress. Services
 * with policy Local only list local backends. */
// vmlinux.h defines the kernel types the other headers use: keep it first.
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "nodeport.h"
// clang-format on

#define ETH_P_IP 0x0800
#define ETH_HLEN 14
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define IP_CSUM_OFF (ETH_HLEN + 10)
#define IP_SRC_OFF (ETH_HLEN + 12)
#define IP_DST_OFF (ETH_HLEN + 16)
#define L4_OFF (ETH_HLEN + 20)
#define TCP_CSUM_OFF (L4_OFF + 16)
#define UDP_CSUM_OFF (L4_OFF + 6)
#define BPF_F_PSEUDO_HDR (1ULL << 4)
#define BPF_F_MARK_MANGLED_0 (1ULL << 5)

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 node_addr = 0; /* network order */
const volatile __u32 external_ifindex = 0;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, BERTH_NP_MAX_SERVICES);
  __type(key, struct berth_np_key);
  __type(value, struct berth_np_value);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_np_services SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, BERTH_NP_MAX_BACKENDS);
  __type(key, struct berth_np_backend_key);
  __type(value, struct berth_np_backend);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_np_backends SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, BERTH_NP_MAX_CT);
  __type(key, struct berth_np_tuple);
  __type(value, struct berth_np_nat);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_np_ct SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, BERTH_NP_MAX_SERVICES);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_np_conns SEC(".maps");

/* Reads the IPv4 TCP/UDP 5-tuple of a packet without IP options. */
static __always_inline int parse(struct __sk_buff* skb, struct berth_np_tuple* t, int* syn) {
  void* data = (void*)(long)skb->data;
  void* end = (void*)(long)skb->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return -1;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff))) return -1;
  __builtin_memset(t, 0, sizeof(*t));
  t->saddr = ip->saddr;
  t->daddr = ip->daddr;
  t->proto = ip->protocol;
  *syn = 0;
  if (ip->protocol == IPPROTO_TCP) {
    struct tcphdr* tcp = (void*)(ip + 1);
    if ((void*)(tcp + 1) > end) return -1;
    t->sport = tcp->source;
    t->dport = tcp->dest;
    *syn = tcp->syn && !tcp->ack;
    return 0;
  }
  if (ip->protocol == IPPROTO_UDP) {
    struct udphdr* udp = (void*)(ip + 1);
    if ((void*)(udp + 1) > end) return -1;
    t->sport = udp->source;
    t->dport = udp->dest;
    *syn = 1; /* every datagram may start a flow */
    return 0;
  }
  return -1;
}

/* Rewrites the packet from tuple `from` to `to`, fixing both checksums. */
static __always_inline int rewrite(struct __sk_buff* skb, const struct berth_np_tuple* from,
                                   const struct berth_np_tuple* to) {
  const int tcp = from->proto == IPPROTO_TCP;
  const __u32 csum_off = tcp ? TCP_CSUM_OFF : UDP_CSUM_OFF;
  const __u64 l4_flags = tcp ? 0 : BPF_F_MARK_MANGLED_0;
  const __u32 sport_off = L4_OFF, dport_off = L4_OFF + 2;
  if (from->saddr != to->saddr) {
    if (bpf_l4_csum_replace(skb, csum_off, from->saddr, to->saddr,
                            BPF_F_PSEUDO_HDR | l4_flags | 4) ||
        bpf_l3_csum_replace(skb, IP_CSUM_OFF, from->saddr, to->saddr, 4) ||
        bpf_skb_store_bytes(skb, IP_SRC_OFF, &to->saddr, 4, 0)) {
      return -1;
    }
  }
  if (from->daddr != to->daddr) {
    if (bpf_l4_csum_replace(skb, csum_off, from->daddr, to->daddr,
                            BPF_F_PSEUDO_HDR | l4_flags | 4) ||
        bpf_l3_csum_replace(skb, IP_CSUM_OFF, from->daddr, to->daddr, 4) ||
        bpf_skb_store_bytes(skb, IP_DST_OFF, &to->daddr, 4, 0)) {
      return -1;
    }
  }
  if (from->sport != to->sport) {
    if (bpf_l4_csum_replace(skb, csum_off, from->sport, to->sport, l4_flags | 2) ||
        bpf_skb_store_bytes(skb, sport_off, &to->sport, 2, 0)) {
      return -1;
    }
  }
  if (from->dport != to->dport) {
    if (bpf_l4_csum_replace(skb, csum_off, from->dport, to->dport, l4_flags | 2) ||
        bpf_skb_store_bytes(skb, dport_off, &to->dport, 2, 0)) {
      return -1;
    }
  }
  return 0;
}

static __always_inline int apply(struct __sk_buff* skb, const struct berth_np_tuple* t,
                                 const struct berth_np_nat* nat) {
  if (rewrite(skb, t, &nat->to) < 0) return TC_ACT_SHOT;
  if (nat->flags & BERTH_NP_REDIRECT) return bpf_redirect_neigh(external_ifindex, 0, 0, 0);
  return TC_ACT_OK;
}

SEC("tc")
int berth_nodeport_ingress(struct __sk_buff* skb) {
  struct berth_np_tuple t;
  int syn;
  if (parse(skb, &t, &syn) < 0) return TC_ACT_OK;
  struct berth_np_nat* known = bpf_map_lookup_elem(&berth_np_ct, &t);
  if (known) {
    struct berth_np_nat nat = *known;
    return apply(skb, &t, &nat);
  }
  if (t.daddr != node_addr || !syn) return TC_ACT_OK;
  struct berth_np_key key = {.port = t.dport, .proto = t.proto};
  struct berth_np_value* svc = bpf_map_lookup_elem(&berth_np_services, &key);
  if (!svc || svc->count == 0) return TC_ACT_OK; /* the host answers: refused */
  struct berth_np_backend_key bkey = {.rev = svc->rev, .slot = bpf_get_prandom_u32() % svc->count};
  struct berth_np_backend* b = bpf_map_lookup_elem(&berth_np_backends, &bkey);
  if (!b) return TC_ACT_OK;
  struct berth_np_nat fwd = {}, rev = {};
  struct berth_np_tuple rkey = {};
  fwd.to = t;
  fwd.to.daddr = b->addr;
  fwd.to.dport = b->port;
  rkey.saddr = b->addr;
  rkey.sport = b->port;
  rkey.proto = t.proto;
  rev.to.saddr = t.daddr;
  rev.to.sport = t.dport;
  rev.to.daddr = t.saddr;
  rev.to.dport = t.sport;
  rev.to.proto = t.proto;
  if (b->local) {
    /* The client's address reaches the pod; its replies leave through
     * egress, where the node's address and port go back on. */
    rkey.daddr = t.saddr;
    rkey.dport = t.sport;
  } else {
    /* Another node's pod: answer through us, so translate the source, to a
     * port no other translated flow to this backend uses. */
    fwd.to.saddr = node_addr;
    fwd.flags = BERTH_NP_REDIRECT;
    rkey.daddr = node_addr;
    rev.flags = BERTH_NP_REDIRECT;
    int free_port = 0;
    for (int i = 0; i < 8 && !free_port; i++) {
      rkey.dport = bpf_htons((__u16)(32768 + bpf_get_prandom_u32() % 28232));
      free_port = bpf_map_lookup_elem(&berth_np_ct, &rkey) == 0;
    }
    if (!free_port) return TC_ACT_SHOT; /* no free port now: the client retries */
    fwd.to.sport = rkey.dport;
  }
  bpf_map_update_elem(&berth_np_ct, &t, &fwd, BPF_ANY);
  bpf_map_update_elem(&berth_np_ct, &rkey, &rev, BPF_ANY);
  __u32 id = svc->stable_id;
  __u64* c = bpf_map_lookup_elem(&berth_np_conns, &id);
  if (c) {
    *c += 1;
  } else {
    __u64 one = 1;
    bpf_map_update_elem(&berth_np_conns, &id, &one, BPF_NOEXIST);
  }
  return apply(skb, &t, &fwd);
}

SEC("tc")
int berth_nodeport_egress(struct __sk_buff* skb) {
  struct berth_np_tuple t;
  int syn;
  if (parse(skb, &t, &syn) < 0) return TC_ACT_OK;
  struct berth_np_nat* known = bpf_map_lookup_elem(&berth_np_ct, &t);
  if (!known || (known->flags & BERTH_NP_REDIRECT)) return TC_ACT_OK;
  struct berth_np_nat nat = *known;
  return apply(skb, &t, &nat);
}
