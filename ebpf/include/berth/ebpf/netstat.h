// Per-cgroup network counters from cgroup_skb programs: bytes and packets
// received and sent by sockets of each cgroup under the attach point
// (loopback excluded), per-CPU in the kernel, summed on read. Per container
// even when containers share a pod's network namespace. Attached as pinned
// bpf_links under options.pin_dir, like ServiceLb. Not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "berth/common/error.h"

namespace berth::ebpf {

struct NetCounters {
  uint64_t rx_bytes = 0, rx_packets = 0, tx_bytes = 0, tx_packets = 0;
};

struct NetStatsOptions {
  std::filesystem::path cgroup;   // attach point (counters cover its subtree)
  std::filesystem::path pin_dir;  // on bpffs
};

class NetStats {
 public:
  static Result<std::unique_ptr<NetStats>> Open(const NetStatsOptions& options);
  ~NetStats();
  NetStats(const NetStats&) = delete;
  NetStats& operator=(const NetStats&) = delete;

  // Counters of the cgroup with this id (its directory's inode number);
  // nullopt when it has sent and received nothing.
  Result<std::optional<NetCounters>> Lookup(uint64_t cgroup_id) const;
  // Drops a removed cgroup's entry.
  Status Forget(uint64_t cgroup_id);
  Status Uninstall();

 private:
  struct Impl;
  explicit NetStats(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::ebpf
