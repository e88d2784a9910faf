/* Run-queue latency histograms per cgroup, shared by runqlat.bpf.c and
 * ebpf/runqlat.cc: log2 buckets of microseconds, as libbpf-tools' runqlat. */
#ifndef BERTH_EBPF_RUNQLAT_H
#define BERTH_EBPF_RUNQLAT_H

#define BERTH_RUNQLAT_SLOTS 26 /* 1 us .. 2^25 us (~33 s) */
#define BERTH_RUNQLAT_MAX_CGROUPS 65536
#define BERTH_RUNQLAT_MAX_TASKS 65536

struct berth_runqlat_hist {
  __u64 slots[BERTH_RUNQLAT_SLOTS];
  __u64 sum_ns;
  __u64 count;
};

#endif
