#include "berth/runtime/image/rootfs.h"

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

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
                                  const UnpackOptions& options, int parallel_layers) {
  BERTH_ASSIGN_OR_RETURN(Image img, LoadImage(store, reference));
  return PrepareRootfs(store, img, options, parallel_layers);
}

Result<ImageRootfs> PrepareRootfs(const ImageStore& store, const Image& img,
                                  const UnpackOptions& options, int parallel_layers) {
  const size_t n = img.manifest.layers.size();
  ImageRootfs out;
  out.runtime = RuntimeConfigFrom(img.config);
  out.lowerdirs.resize(n);
  // Layers are independent snapshots: inflate and write several at once.
  size_t threads = parallel_layers > 0 ? static_cast<size_t>(parallel_layers)
                                       : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, n);
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::optional<Error> first_error;
  auto worker = [&] {
    for (size_t i = next++; i < n; i = next++) {
      auto fs = EnsureSnapshot(store, img.manifest.layers[i], img.config.diff_ids[i], options);
      std::lock_guard lock(mu);
      if (!fs.ok()) {
        if (!first_error) first_error = std::move(fs).error();
        next = n;  // stop handing out layers
        return;
      }
      // lowerdir order is top layer first.
      out.lowerdirs[n - 1 - i] = std::move(*fs);
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  if (first_error) return std::move(*first_error).Wrap("prepare rootfs of " + img.reference);
  return out;
}

}  // namespace berth::runtime::image
