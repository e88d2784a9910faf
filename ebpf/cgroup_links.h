// Internal: every program of a BPF object attached to one cgroup as
// bpf_links pinned at <pin_dir>/link_<program>, so the attachment outlives
// its owner (an agent restart); attaching again finds the pins and swaps
// the new programs in. Shared by the cgroup-hook features. Move-only.
#pragma once

#include <bpf/libbpf.h>

#include <filesystem>
#include <vector>

#include "berth/common/error.h"

namespace berth::ebpf {

class PinnedCgroupLinks {
 public:
  static Result<PinnedCgroupLinks> Attach(bpf_object* obj, const std::filesystem::path& cgroup,
                                          const std::filesystem::path& pin_dir);
  PinnedCgroupLinks() = default;
  PinnedCgroupLinks(PinnedCgroupLinks&& o) noexcept : links_(std::move(o.links_)) {
    o.links_.clear();
  }
  PinnedCgroupLinks& operator=(PinnedCgroupLinks&& o) noexcept;
  PinnedCgroupLinks(const PinnedCgroupLinks&) = delete;
  PinnedCgroupLinks& operator=(const PinnedCgroupLinks&) = delete;
  // Closes our fds; pinned links stay attached.
  ~PinnedCgroupLinks();

  // Unpins and detaches every link.
  Status Detach();

 private:
  std::vector<bpf_link*> links_;
};

// Unpins every pinned map of `obj`, then removes `pin_dir` if it is empty.
Status UnpinMaps(bpf_object* obj, const std::filesystem::path& pin_dir);

// EINVAL unless `dir` (created when missing) is on a bpffs mount.
Status EnsureBpffsDir(const std::filesystem::path& dir);

}  // namespace berth::ebpf
