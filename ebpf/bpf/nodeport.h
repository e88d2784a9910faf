/* Maps shared by nodeport.bpf.c and ebpf/nodeport.cc: NodePort translation
 * in tc on the node's external interface (IPv4). Addresses and ports in
 * network byte order. */
#ifndef BERTH_EBPF_NODEPORT_H
#define BERTH_EBPF_NODEPORT_H

#define BERTH_NP_MAX_SERVICES 8192
#define BERTH_NP_MAX_BACKENDS 65536
#define BERTH_NP_MAX_CT 262144

struct berth_np_key {
  __u16 port; /* the node port */
  __u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
  __u8 pad;
};

struct berth_np_value {
  __u32 rev;
  __u32 count;
  __u32 stable_id;
  __u32 pad;
};

struct berth_np_backend_key {
  __u32 rev;
  __u32 slot;
};

struct berth_np_backend {
  __u32 addr;
  __u16 port;
  __u8 local; /* on this node: no source translation, replies fixed on egress */
  __u8 pad;
};

/* Connection tracking: a packet's 5-tuple -> the tuple to rewrite it to. */
struct berth_np_tuple {
  __u32 saddr;
  __u32 daddr;
  __u16 sport;
  __u16 dport;
  __u8 proto;
  __u8 pad[3];
};

#define BERTH_NP_REDIRECT 1u /* send out of the external interface again */

struct berth_np_nat {
  struct berth_np_tuple to;
  __u32 flags;
  __u32 pad;
};

#endif
