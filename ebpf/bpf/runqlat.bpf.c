// SPDX-License-Identifier: GPL-2.0
/* How long each cgroup's threads wait to run: the time from a wakeup (or a
 * preemption that leaves the thread runnable) to the switch that runs it,
 * into a log2 histogram keyed by the thread's cgroup v2 id. */
// vmlinux.h defines the kernel types the other headers use: keep it first.
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "runqlat.h"
// clang-format on

#define TASK_RUNNING 0

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, BERTH_RUNQLAT_MAX_TASKS);
  __type(key, __u32);
  __type(value, __u64);
} berth_runq_start SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, BERTH_RUNQLAT_MAX_CGROUPS);
  __type(key, __u64);
  __type(value, struct berth_runqlat_hist);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_runqlat SEC(".maps");

static __always_inline void enqueued(struct task_struct* p) {
  __u32 pid = BPF_CORE_READ(p, pid);
  if (!pid) return;
  __u64 ts = bpf_ktime_get_ns();
  bpf_map_update_elem(&berth_runq_start, &pid, &ts, BPF_ANY);
}

static __always_inline __u32 log2_slot(__u64 v) {
  __u32 r = 0;
  for (int i = 0; i < BERTH_RUNQLAT_SLOTS - 1 && v > 1; i++) {
    v >>= 1;
    r++;
  }
  return r;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(berth_sched_wakeup, struct task_struct* p) {
  enqueued(p);
  return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(berth_sched_wakeup_new, struct task_struct* p) {
  enqueued(p);
  return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(berth_sched_switch, bool preempt, struct task_struct* prev, struct task_struct* next) {
  if (BPF_CORE_READ(prev, __state) == TASK_RUNNING) enqueued(prev);
  __u32 pid = BPF_CORE_READ(next, pid);
  __u64* start = bpf_map_lookup_elem(&berth_runq_start, &pid);
  if (!start) return 0;
  __u64 delta = bpf_ktime_get_ns() - *start;
  bpf_map_delete_elem(&berth_runq_start, &pid);
  __u64 cgid = BPF_CORE_READ(next, cgroups, dfl_cgrp, kn, id);
  struct berth_runqlat_hist* h = bpf_map_lookup_elem(&berth_runqlat, &cgid);
  if (!h) {
    struct berth_runqlat_hist zero = {};
    bpf_map_update_elem(&berth_runqlat, &cgid, &zero, BPF_NOEXIST);
    h = bpf_map_lookup_elem(&berth_runqlat, &cgid);
    if (!h) return 0;
  }
  __u32 slot = log2_slot(delta / 1000);
  if (slot >= BERTH_RUNQLAT_SLOTS) slot = BERTH_RUNQLAT_SLOTS - 1;
  h->slots[slot] += 1;
  h->sum_ns += delta;
  h->count += 1;
  return 0;
}
