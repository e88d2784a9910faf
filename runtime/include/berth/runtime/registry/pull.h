// Pulling an image from a registry into an ImageStore: resolve the reference
// on the first endpoint that answers (mirrors, then the registry), choose the
// platform from an index or manifest list, verify the manifest against the
// digest asked for or announced, fetch the config, then the layers in
// parallel, each streamed through a verifying BlobWriter; a blob already in
// the store is not fetched again. The reference is set only after every blob
// is stored, so a failed or interrupted pull leaves no reference to
// incomplete content; blobs that completed are kept and the next pull skips
// them (the unfinished ones are fetched again).
//
// Thread-safety: Pull may run concurrently with other store users.
// Errors: those of RegistryClient and ImageStore with the reference, the
// endpoint and the digest; EINVAL for digest mismatches naming both digests
// and for malformed documents.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "berth/common/error.h"
#include "berth/runtime/image/import.h"
#include "berth/runtime/image/manifest.h"
#include "berth/runtime/image/store.h"
#include "berth/runtime/registry/client.h"
#include "berth/runtime/registry/hosts.h"

namespace berth::runtime::registry {

struct PullProgress {
  std::string reference;
  std::string endpoint;  // base URL the image comes from
  int layers_total = 0;
  int layers_done = 0;      // stored (downloaded or already present)
  int layers_cached = 0;    // already in the store
  int64_t bytes_total = 0;  // bytes of layers to download
  int64_t bytes_done = 0;
  bool finished = false;
};
// Called from the pulling threads, serialised; keep it short.
using PullProgressFn = std::function<void(const PullProgress&)>;

struct PullOptions {
  image::Platform platform = image::HostPlatform();
  // Layers downloaded at once; 1 downloads them one after another.
  int parallel_layers = 4;
  // Also unpack each layer into its snapshot right after it is stored.
  bool unpack = false;
  PullProgressFn progress;
};

Result<image::ImportedImage> Pull(const image::ImageStore& store, RegistryClient& client,
                                  const RegistryHosts& hosts, std::string_view reference,
                                  const PullOptions& options = {});

}  // namespace berth::runtime::registry
