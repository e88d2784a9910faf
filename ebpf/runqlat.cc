#include "berth/ebpf/runqlat.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <vector>

#include "bpf_skeleton.h"
#include "cgroup_links.h"

extern "C" {
#include "runqlat.h"
}
#include "runqlat.skel.h"

namespace berth::ebpf {

static_assert(kRunqlatSlots == BERTH_RUNQLAT_SLOTS);

using RunqSkeleton = BpfSkeleton<runqlat, runqlat__open_opts, runqlat__load, runqlat__destroy>;

struct Runqlat::Impl {
  RunqlatOptions options;
  RunqSkeleton skel;
  bool attached = false;
  ~Impl() {
    if (attached) runqlat__detach(skel.get());
  }
};

Runqlat::Runqlat(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Runqlat::~Runqlat() = default;

Result<std::unique_ptr<Runqlat>> Runqlat::Open(const RunqlatOptions& options) {
  const std::string ctx = "run-queue latency";
  BERTH_TRY(EnsureBpffsDir(options.pin_dir).Wrap(ctx));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  const std::string pin_root = options.pin_dir.string();
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root.c_str());
  BERTH_ASSIGN_OR_RETURN(impl->skel, RunqSkeleton::Open("runqlat", &opts).Wrap(ctx));
  BERTH_TRY(impl->skel.Load("runqlat").Wrap(ctx));
  if (int err = runqlat__attach(impl->skel.get()); err < 0) {
    return Error::Sys(-err, ctx + ": attach the scheduler tracepoints");
  }
  impl->attached = true;
  return std::unique_ptr<Runqlat>(new Runqlat(std::move(impl)));
}

Result<std::optional<RunqueueHistogram>> Runqlat::Lookup(uint64_t cgroup_id) const {
  const int cpus = std::max(libbpf_num_possible_cpus(), 1);
  std::vector<berth_runqlat_hist> per_cpu(static_cast<size_t>(cpus));
  if (bpf_map_lookup_elem(bpf_map__fd(impl_->skel->maps.berth_runqlat), &cgroup_id,
                          per_cpu.data()) < 0) {
    if (errno == ENOENT) return std::optional<RunqueueHistogram>();
    return Error::FromErrno("read run-queue latency of cgroup " + std::to_string(cgroup_id));
  }
  RunqueueHistogram h;
  for (const auto& v : per_cpu) {
    for (int i = 0; i < kRunqlatSlots; ++i) h.counts[i] += v.slots[i];
    h.sum_ns += v.sum_ns;
    h.count += v.count;
  }
  return std::optional<RunqueueHistogram>(h);
}

Status Runqlat::Uninstall() {
  if (impl_->attached) runqlat__detach(impl_->skel.get());
  impl_->attached = false;
  return UnpinMaps(impl_->skel->obj, impl_->options.pin_dir);
}

}  // namespace berth::ebpf
