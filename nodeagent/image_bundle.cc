// `image bundle` / `image unbundle`: an OCI bundle for berth-runtime from a
// stored image (the rootfs path the agent takes for each container).
//   <dir>/config.json        the default spec with the image's process
//   <dir>/rootfs/            overlay: layer snapshots + <dir>/.berth/upper
//   <dir>/.berth/bundle.json reference and lease id, for unbundle
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "image_commands.h"
#include "image_user.h"

#include "berth/common/file.h"
#include "berth/runtime/image/gc.h"
#include "berth/runtime/image/overlay.h"
#include "berth/runtime/image/rootfs.h"
#include "berth/runtime/spec.h"

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;
namespace image = runtime::image;

std::string DefaultLeaseId(const fs::path& dir) {
  std::string id = fs::absolute(dir).lexically_normal().filename().string();
  return id.empty() ? "bundle" : id;
}

struct Undo {
  std::vector<std::function<void()>> steps;
  bool armed = true;
  ~Undo() {
    if (!armed) return;
    for (auto it = steps.rbegin(); it != steps.rend(); ++it) (*it)();
  }
};

}  // namespace

Result<int> ImageBundle(const image::ImageStore& store, const ImageCliOptions& o) {
  const fs::path dir = o.path;
  const std::string id = o.id.empty() ? DefaultLeaseId(dir) : o.id;
  std::error_code ec;
  if (fs::exists(dir / "config.json", ec) || fs::exists(dir / ".berth", ec)) {
    return Error::Sys(EEXIST, "bundle " + dir.string() + ": already holds a bundle");
  }
  BERTH_ASSIGN_OR_RETURN(image::Image img, image::LoadImage(store, o.reference));
  BERTH_ASSIGN_OR_RETURN(image::ImageRootfs rootfs, image::PrepareRootfs(store, o.reference));
  if (!o.command.empty()) rootfs.runtime.args = o.command;
  if (rootfs.runtime.args.empty()) {
    return Error::Invalid("image " + o.reference + " has neither Entrypoint nor Cmd");
  }
  Undo undo;
  const bool created_dir = !fs::exists(dir, ec);
  BERTH_TRY(MakeDirs(dir / ".berth" / "upper", 0755));
  BERTH_TRY(MakeDirs(dir / ".berth" / "work", 0700));
  BERTH_TRY(MakeDirs(dir / "rootfs", 0755));
  undo.steps.emplace_back([&] {
    fs::remove_all(dir / ".berth", ec);
    fs::remove(dir / "rootfs", ec);
    if (created_dir) fs::remove(dir, ec);
  });
  BERTH_TRY(image::AddLease(store, id, img.config.diff_ids));
  undo.steps.emplace_back([&] { IgnoreError(image::RemoveLease(store, id), "undo: best effort"); });
  image::OverlayMount mount;
  mount.lowerdirs = rootfs.lowerdirs;
  mount.upperdir = dir / ".berth" / "upper";
  mount.workdir = dir / ".berth" / "work";
  mount.target = dir / "rootfs";
  BERTH_TRY(image::MountOverlay(mount));
  undo.steps.emplace_back(
      [&] { IgnoreError(image::UnmountOverlay(mount.target, true), "undo: best effort"); });

  runtime::Spec spec = runtime::DefaultSpec();
  spec.process->terminal = false;
  spec.process->args = rootfs.runtime.args;
  spec.process->env = rootfs.runtime.env;
  spec.process->cwd = rootfs.runtime.cwd;
  BERTH_ASSIGN_OR_RETURN(spec.process->user, ResolveImageUser(mount.target, rootfs.runtime.user));
  spec.root = {"rootfs", false};
  if (!o.cgroups_path.empty()) spec.linux_spec->cgroups_path = o.cgroups_path;
  BERTH_TRY(WriteFileAtomic(dir / "config.json", runtime::SpecToJson(spec), 0644));
  nlohmann::json meta = {{"reference", img.reference},
                         {"digest", img.manifest_descriptor.digest.String()},
                         {"lease", id},
                         {"store", store.root().string()}};
  BERTH_TRY(WriteFileAtomic(dir / ".berth" / "bundle.json", meta.dump(2) + "\n", 0644));
  undo.armed = false;
  if (o.output == "json") {
    (void)std::printf("%s\n", meta.dump(2).c_str());
  } else {
    (void)std::printf("bundle %s: %s (%zu layers), lease %s\n", dir.c_str(), img.reference.c_str(),
                      rootfs.lowerdirs.size(), id.c_str());
  }
  return 0;
}

Result<int> ImageUnbundle(const image::ImageStore& store, const ImageCliOptions& o) {
  const fs::path dir = o.path;
  const fs::path meta_path = dir / ".berth" / "bundle.json";
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(meta_path));
  auto meta = nlohmann::json::parse(text, nullptr, false);
  if (!meta.is_object() || !meta.contains("lease") || !meta["lease"].is_string()) {
    return Error::Invalid(meta_path.string() + ": not a bundle written by `image bundle`");
  }
  Status unmounted = image::UnmountOverlay(dir / "rootfs");
  if (!unmounted.ok() && unmounted.error().err() != EINVAL)
    return std::move(unmounted).error();  // EINVAL: not mounted
  BERTH_TRY(image::RemoveLease(store, meta["lease"].get<std::string>()));
  std::error_code ec;
  fs::remove_all(dir / ".berth", ec);
  if (ec) return Error::Sys(ec.value(), "remove " + (dir / ".berth").string());
  fs::remove(dir / "rootfs", ec);
  fs::remove(dir / "config.json", ec);
  if (o.output != "json") (void)std::printf("removed bundle %s\n", dir.c_str());
  return 0;
}

}  // namespace berth::nodeagent
