#include "cgroup_links.h"

#include <fcntl.h>
#include <unistd.h>

#include <linux/magic.h>
#include <sys/vfs.h>

#include <string>

#include "berth/common/file.h"
#include "berth/common/unique_fd.h"

namespace berth::ebpf {

namespace fs = std::filesystem;

Result<PinnedCgroupLinks> PinnedCgroupLinks::Attach(bpf_object* obj, const fs::path& cgroup,
                                                    const fs::path& pin_dir) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd cg, OpenFile(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  PinnedCgroupLinks out;
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, obj) {
    const std::string name = bpf_program__name(prog);
    const fs::path pin = pin_dir / ("link_" + name);
    if (fs::exists(pin)) {
      // An earlier owner's attachment: keep it, run the new program in it.
      bpf_link* link = bpf_link__open(pin.c_str());
      if (!link) return Error::FromErrno("open pinned link " + pin.string());
      out.links_.push_back(link);
      if (int err = bpf_link__update_program(link, prog); err < 0) {
        return Error::Sys(-err, "replace program in " + pin.string());
      }
      continue;
    }
    bpf_link* link = bpf_program__attach_cgroup(prog, cg.get());
    if (!link) return Error::FromErrno("attach " + name + " to " + cgroup.string());
    out.links_.push_back(link);
    if (int err = bpf_link__pin(link, pin.c_str()); err < 0) {
      return Error::Sys(-err, "pin " + pin.string());
    }
  }
  return out;
}

PinnedCgroupLinks& PinnedCgroupLinks::operator=(PinnedCgroupLinks&& o) noexcept {
  if (this != &o) {
    for (bpf_link* l : links_) bpf_link__destroy(l);
    links_ = std::move(o.links_);
    o.links_.clear();
  }
  return *this;
}

PinnedCgroupLinks::~PinnedCgroupLinks() {
  for (bpf_link* l : links_) bpf_link__destroy(l);  // pinned: stays attached
}

Status PinnedCgroupLinks::Detach() {
  for (bpf_link* l : links_) {
    if (int err = bpf_link__unpin(l); err < 0 && err != -ENOENT) {
      return Error::Sys(-err, "unpin link");
    }
    bpf_link__destroy(l);  // the last reference: detaches
  }
  links_.clear();
  return {};
}

Status UnpinMaps(bpf_object* obj, const fs::path& pin_dir) {
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, obj) {
    if (bpf_map__is_pinned(map)) {
      if (int err = bpf_map__unpin(map, nullptr); err < 0) {
        return Error::Sys(-err, std::string("unpin map ") + bpf_map__name(map));
      }
    }
  }
  if (::rmdir(pin_dir.c_str()) < 0 && errno != ENOENT && errno != ENOTEMPTY) {
    return Error::FromErrno("remove " + pin_dir.string());
  }
  return {};
}

Status EnsureBpffsDir(const fs::path& dir) {
  BERTH_TRY(MakeDirs(dir, 0700));
  struct statfs st {};
  if (::statfs(dir.c_str(), &st) < 0) return Error::FromErrno("statfs " + dir.string());
  if (st.f_type != BPF_FS_MAGIC) return Error::Invalid(dir.string() + " is not on a bpffs mount");
  return {};
}

}  // namespace berth::ebpf
