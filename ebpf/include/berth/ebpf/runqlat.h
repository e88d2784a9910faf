// Run-queue latency per cgroup: scheduler tracepoints (sched_wakeup,
// sched_wakeup_new, sched_switch) time how long each thread waits between
// becoming runnable and running, into per-CPU log2 histograms keyed by its
// cgroup v2 id: the signal of noisy neighbours on a packed node. The
// histogram map is pinned under options.pin_dir; the tracepoint attachments
// live as long as the owner. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "berth/common/error.h"

namespace berth::ebpf {

inline constexpr int kRunqlatSlots = 26;

struct RunqueueHistogram {
  // counts[i]: waits of [2^i, 2^(i+1)) microseconds (slot 0 also < 1 us).
  std::array<uint64_t, kRunqlatSlots> counts{};
  uint64_t sum_ns = 0;
  uint64_t count = 0;
};

struct RunqlatOptions {
  std::filesystem::path pin_dir;  // on bpffs
};

class Runqlat {
 public:
  static Result<std::unique_ptr<Runqlat>> Open(const RunqlatOptions& options);
  ~Runqlat();
  Runqlat(const Runqlat&) = delete;
  Runqlat& operator=(const Runqlat&) = delete;

  Result<std::optional<RunqueueHistogram>> Lookup(uint64_t cgroup_id) const;
  Status Uninstall();

 private:
  struct Impl;
  explicit Runqlat(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::ebpf
