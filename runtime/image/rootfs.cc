#include "berth/runtime/image/rootfs.h"

#include "berth/runtime/image/snapshot.h"

namespace berth::runtime::image {

Result<Image> LoadImage(const ImageStore& store, std::string_view reference) {
  BERTH_ASSIGN_OR_RETURN(Reference ref, ParseReference(reference));
  Image img;
  img.reference = ref.StoreKey();
  const std::string ctx = "load image " + img.reference;
  BERTH_ASSIGN_OR_RETURN(img.manifest_descriptor, store.GetRef(ref));
  BERTH_ASSIGN_OR_RETURN(std::string mtext,
                         store.ReadBlob(img.manifest_descriptor.digest).Wrap(ctx));
  BERTH_ASSIGN_OR_RETURN(img.manifest, ParseManifest(mtext).Wrap(ctx));
  BERTH_ASSIGN_OR_RETURN(std::string ctext, store.ReadBlob(img.manifest.config.digest).Wrap(ctx));
  BERTH_ASSIGN_OR_RETURN(img.config, ParseImageConfig(ctext).Wrap(ctx));
  if (img.config.diff_ids.size() != img.manifest.layers.size()) {
    return Error::Invalid(ctx + ": manifest has " + std::to_string(img.manifest.layers.size()) +
                          " layers but config.rootfs.diff_ids has " +
                          std::to_string(img.config.diff_ids.size()));
  }
  return img;
}

ImageRuntimeConfig RuntimeConfigFrom(const ImageConfig& config) {
  ImageRuntimeConfig rc;
  rc.args = config.entrypoint;
  rc.args.insert(rc.args.end(), config.cmd.begin(), config.cmd.end());
  rc.env = config.env;
  bool has_path = false;
  for (const auto& e : rc.env) has_path = has_path || e.rfind("PATH=", 0) == 0;
  // The default PATH Docker and containerd give images that set none.
  if (!has_path)
    rc.env.insert(rc.env.begin(),
                  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (!config.working_dir.empty()) rc.cwd = config.working_dir;
  rc.user = config.user;
  rc.exposed_ports = config.exposed_ports;
  rc.labels = config.labels;
  rc.stop_signal = config.stop_signal;
  return rc;
}

Result<ImageRootfs> PrepareRootfs(const ImageStore& store, std::string_view reference,
                                  const UnpackOptions& options) {
  BERTH_ASSIGN_OR_RETURN(Image img, LoadImage(store, reference));
  ImageRootfs out;
  out.runtime = RuntimeConfigFrom(img.config);
  for (size_t i = 0; i < img.manifest.layers.size(); ++i) {
    BERTH_ASSIGN_OR_RETURN(
        std::filesystem::path fs,
        EnsureSnapshot(store, img.manifest.layers[i], img.config.diff_ids[i], options)
            .Wrap("prepare rootfs of " + img.reference));
    out.lowerdirs.insert(out.lowerdirs.begin(), std::move(fs));
  }
  return out;
}

}  // namespace berth::runtime::image
