// Getting images into and out of an ImageStore without a registry:
//   - an OCI image layout directory (oci-layout, index.json, blobs/)
//   - an oci-archive: a tar of such a layout
//   - a docker-archive: `docker save` output (manifest.json with Config,
//     RepoTags and Layers; legacy and OCI-inside variants)
// and export of stored images to an OCI layout directory. Every blob is
// verified on its way into the store; references are set only after all the
// blobs of an image are stored. Thread-safe like ImageStore.
// Errors: EINVAL for malformed layouts/archives (naming the file and JSON
// path), ENOENT for a missing blob or an image without a name, errno of I/O.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "berth/common/error.h"
#include "berth/runtime/image/manifest.h"
#include "berth/runtime/image/reference.h"
#include "berth/runtime/image/store.h"

namespace berth::runtime::image {

struct ImportOptions {
  // Reference given to images that carry no name, or whose layout names only
  // a tag ("org.opencontainers.image.ref.name": "1.0" -> <name>:1.0).
  std::string name;
  // The platform chosen from an index / manifest list.
  Platform platform = HostPlatform();
};

struct ImportedImage {
  std::string reference;  // store key
  Descriptor manifest;
};

Result<std::vector<ImportedImage>> ImportOciLayout(const ImageStore& store,
                                                   const std::filesystem::path& dir,
                                                   const ImportOptions& options = {});
Result<std::vector<ImportedImage>> ImportOciArchive(const ImageStore& store,
                                                    const std::filesystem::path& tar,
                                                    const ImportOptions& options = {});
Result<std::vector<ImportedImage>> ImportDockerArchive(const ImageStore& store,
                                                       const std::filesystem::path& tar,
                                                       const ImportOptions& options = {});
// Picks docker-archive when the tar holds manifest.json, else oci-archive.
Result<std::vector<ImportedImage>> ImportArchive(const ImageStore& store,
                                                 const std::filesystem::path& tar,
                                                 const ImportOptions& options = {});

// Writes the images named by `references` (parsed with ParseReference) to an
// OCI layout at `dir` (created if missing; blobs already there are kept).
// index.json names each image with io.containerd.image.name (full reference)
// and org.opencontainers.image.ref.name (its tag), as containerd does.
Status ExportOciLayout(const ImageStore& store, const std::vector<std::string>& references,
                       const std::filesystem::path& dir);

}  // namespace berth::runtime::image
