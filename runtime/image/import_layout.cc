// OCI image layout (image-spec image-layout.md): oci-layout, index.json, blobs/.
#include <fcntl.h>

#include "import_common.h"
#include "json_fields.h"

#include "berth/common/file.h"
#include "berth/runtime/image/gc.h"

namespace berth::runtime::image {
namespace detail {
namespace {

constexpr const char* kContainerdName = "io.containerd.image.name";
constexpr const char* kOciRefName = "org.opencontainers.image.ref.name";

Result<Reference> NameFor(const Descriptor& d, size_t i, const ImportOptions& options) {
  auto get = [&](const char* key) -> std::string {
    auto it = d.annotations.find(key);
    return it == d.annotations.end() ? std::string() : it->second;
  };
  std::string full = get(kContainerdName);
  if (!full.empty()) return ParseReference(full);
  std::string ref_name = get(kOciRefName);
  if (!ref_name.empty()) {
    // A bare tag names an image of the name the caller gave.
    if (!options.name.empty() && IsValidTag(ref_name)) {
      BERTH_ASSIGN_OR_RETURN(Reference r, ParseReference(options.name));
      r.tag = ref_name;
      r.digest.reset();
      return r;
    }
    return ParseReference(ref_name);
  }
  if (!options.name.empty()) return ParseReference(options.name);
  return Error::Sys(ENOENT, "index.json manifests[" + std::to_string(i) +
                                "] has no name annotation: give the image a name");
}

Result<std::string> ReadStored(const ImageStore& store, const Descriptor& d) {
  return store.ReadBlob(d.digest);
}

}  // namespace

Result<std::vector<ImportedImage>> ImportFromLayoutIndex(const ImageStore& store,
                                                         std::string_view index_json,
                                                         const EnsureBlobFn& ensure,
                                                         const ImportOptions& options) {
  BERTH_ASSIGN_OR_RETURN(Index index, ParseIndex(index_json, "index.json"));
  if (index.manifests.empty()) return Error::Invalid("index.json lists no images");
  std::vector<ImportedImage> out;
  for (size_t i = 0; i < index.manifests.size(); ++i) {
    Descriptor d = index.manifests[i];
    const std::string ctx = "index.json manifests[" + std::to_string(i) + "] " + d.digest.String();
    BERTH_ASSIGN_OR_RETURN(Reference ref, NameFor(d, i, options));
    BERTH_TRY_CTX(ensure(d), ctx);
    if (IsIndexType(d.media_type)) {
      BERTH_ASSIGN_OR_RETURN(std::string text, ReadStored(store, d).Wrap(ctx));
      BERTH_ASSIGN_OR_RETURN(Index nested, ParseIndex(text, "index " + d.digest.String()));
      BERTH_ASSIGN_OR_RETURN(d, SelectPlatform(nested, options.platform).Wrap(ctx));
      BERTH_TRY_CTX(ensure(d), ctx);
    } else if (!IsManifestType(d.media_type)) {
      return Error::Invalid(ctx + ": unsupported media type \"" + d.media_type + "\"");
    }
    BERTH_ASSIGN_OR_RETURN(std::string mtext, ReadStored(store, d).Wrap(ctx));
    BERTH_ASSIGN_OR_RETURN(Manifest m, ParseManifest(mtext, "manifest " + d.digest.String()));
    BERTH_TRY_CTX(ensure(m.config), ctx + ": config");
    BERTH_ASSIGN_OR_RETURN(std::string ctext, ReadStored(store, m.config).Wrap(ctx));
    BERTH_ASSIGN_OR_RETURN(ImageConfig cfg,
                           ParseImageConfig(ctext, "config " + m.config.digest.String()));
    if (cfg.diff_ids.size() != m.layers.size()) {
      return Error::Invalid(ctx + ": " + std::to_string(m.layers.size()) + " layers but " +
                            std::to_string(cfg.diff_ids.size()) + " diff_ids");
    }
    for (const auto& layer : m.layers) BERTH_TRY_CTX(ensure(layer), ctx + ": layer");
    Descriptor target{d.media_type, d.digest, d.size, std::nullopt, {}};
    // Set only now: every blob the reference reaches is in the store.
    BERTH_TRY(store.SetRef(ref, target));
    out.push_back(ImportedImage{ref.StoreKey(), target});
  }
  return out;
}

Result<std::vector<ImportedImage>> ImportOciScan(const ImageStore& store, const ArchiveScan& scan,
                                                 const ImportOptions& options) {
  auto layout = scan.metadata.find("oci-layout");
  auto index = scan.metadata.find("index.json");
  if (layout == scan.metadata.end() || index == scan.metadata.end()) {
    return Error::Invalid("not an OCI layout: oci-layout or index.json missing");
  }
  EnsureBlobFn ensure = [&](const Descriptor& d) -> Status {
    auto size = store.BlobSize(d.digest);
    if (!size.ok()) return Error::Sys(ENOENT, "blob " + d.digest.String() + " is missing");
    if (*size != d.size) {
      return Error::Invalid("blob " + d.digest.String() + ": size " + std::to_string(*size) +
                            ", descriptor says " + std::to_string(d.size));
    }
    return Ok();
  };
  return ImportFromLayoutIndex(store, index->second, ensure, options);
}

}  // namespace detail

Result<std::vector<ImportedImage>> ImportOciLayout(const ImageStore& store,
                                                   const std::filesystem::path& dir,
                                                   const ImportOptions& options) {
  const std::string ctx = "import OCI layout " + dir.string();
  BERTH_ASSIGN_OR_RETURN(StoreWriteGuard guard, StoreWriteGuard::Acquire(store).Wrap(ctx));
  BERTH_ASSIGN_OR_RETURN(std::string layout, ReadFile(dir / "oci-layout").Wrap(ctx));
  BERTH_ASSIGN_OR_RETURN(detail::Json lj, detail::ParseJson(layout, "oci-layout").Wrap(ctx));
  BERTH_ASSIGN_OR_RETURN(std::string version,
                         detail::GetString(lj, "imageLayoutVersion", "oci-layout", true).Wrap(ctx));
  if (version.rfind("1.", 0) != 0) {
    return Error::Invalid(ctx + ": unsupported imageLayoutVersion \"" + version + "\"");
  }
  BERTH_ASSIGN_OR_RETURN(std::string index, ReadFile(dir / "index.json").Wrap(ctx));
  detail::EnsureBlobFn ensure = [&](const Descriptor& d) -> Status {
    // The digest was validated (64 hex digits), so the path stays in blobs/.
    BERTH_ASSIGN_OR_RETURN(UniqueFd fd,
                           OpenFile(dir / "blobs" / d.digest.algorithm / d.digest.hex, O_RDONLY));
    return store.PutBlobFromFd(fd.get(), d);
  };
  return detail::ImportFromLayoutIndex(store, index, ensure, options).Wrap(ctx);
}

}  // namespace berth::runtime::image
