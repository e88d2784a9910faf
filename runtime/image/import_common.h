// Internal pieces shared by the importers: reading an OCI layout's index.json
// against some source of blobs, and one streaming pass over an image archive
// that puts every file into the store (so no temp extraction is needed).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "berth/runtime/image/import.h"

namespace berth::runtime::image::detail {

// Makes sure the blob `d` is in the store (copying or checking it).
using EnsureBlobFn = std::function<Status(const Descriptor& d)>;

// Imports every image index.json lists; see ImportOptions for naming.
Result<std::vector<ImportedImage>> ImportFromLayoutIndex(const ImageStore& store,
                                                         std::string_view index_json,
                                                         const EnsureBlobFn& ensure,
                                                         const ImportOptions& options);

struct ArchiveScan {
  // Layout metadata kept in memory: manifest.json, index.json, oci-layout, repositories.
  std::map<std::string, std::string> metadata;
  // Every other regular file, stored as a blob: normalised path -> digest and size.
  std::map<std::string, Descriptor> files;
  // Symlinks and hard links: normalised path -> normalised target path.
  std::map<std::string, std::string> links;

  // The blob a path names, following links; ENOENT when absent.
  Result<Descriptor> Lookup(const std::string& path) const;
};

Result<ArchiveScan> ScanArchive(const ImageStore& store, const std::filesystem::path& tar);

Result<std::vector<ImportedImage>> ImportDockerScan(const ImageStore& store,
                                                    const ArchiveScan& scan,
                                                    const ImportOptions& options);
Result<std::vector<ImportedImage>> ImportOciScan(const ImageStore& store, const ArchiveScan& scan,
                                                 const ImportOptions& options);

}  // namespace berth::runtime::image::detail
