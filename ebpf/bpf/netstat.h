/* Per-cgroup network counters shared by netstat.bpf.c and ebpf/netstat.cc. */
#ifndef BERTH_EBPF_NETSTAT_H
#define BERTH_EBPF_NETSTAT_H

#define BERTH_NETSTAT_MAX_CGROUPS 65536

struct berth_netstat {
  __u64 rx_bytes;
  __u64 rx_packets;
  __u64 tx_bytes;
  __u64 tx_packets;
};

#endif
