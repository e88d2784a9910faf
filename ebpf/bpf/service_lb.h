/* Maps shared by service_lb.bpf.c and ebpf/service_lb.cc: ClusterIP
 * translation at the socket layer. Fixed-width types only; addresses and
 * ports in network byte order; IPv4 addresses use the first 4 bytes. */
#ifndef BERTH_EBPF_SERVICE_LB_H
#define BERTH_EBPF_SERVICE_LB_H

#define BERTH_LB_MAX_SERVICES 65536
#define BERTH_LB_MAX_BACKENDS 262144
#define BERTH_LB_MAX_REVNAT 262144
#define BERTH_LB_MAX_AFFINITY 65536

/* svc_value.flags */
#define BERTH_SVC_AFFINITY 1u

struct berth_svc_key {
  __u8 addr[16];
  __u16 port;
  __u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
  __u8 family; /* AF_INET or AF_INET6 */
};

struct berth_svc_value {
  __u32 rev;        /* backend set revision: the slots live under it */
  __u32 count;      /* backends in the set; 0 refuses connections */
  __u32 flags;      /* BERTH_SVC_* */
  __u32 affinity_s; /* ClientIP affinity timeout */
  __u32 stable_id;  /* the service's id for counters, fixed for its life */
  __u32 pad;
};

struct berth_backend_key {
  __u32 rev;
  __u32 slot;
};

struct berth_backend {
  __u8 addr[16];
  __u16 port;
  __u8 family;
  __u8 pad;
  __u32 stable_id; /* the backend's id for counters */
};

/* ClientIP affinity: the client is its network namespace (a pod). */
struct berth_affinity_key {
  __u64 netns_cookie;
  __u32 svc_stable_id;
  __u32 pad;
};

struct berth_affinity_value {
  struct berth_backend backend;
  __u64 last_ns;
};

/* Reverse translation by socket cookie: getpeername and UDP replies show
 * the service address. */
struct berth_revnat_value {
  __u8 addr[16]; /* the service */
  __u16 port;
  __u8 family;
  __u8 pad;
  __u32 pad2;
  __u8 backend_addr[16]; /* what it was translated to */
  __u16 backend_port;
  __u16 pad3;
  __u32 pad4;
};

#endif
