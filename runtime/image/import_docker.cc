// docker-archive (`docker save`): manifest.json = [{"Config": "<file>",
// "RepoTags": ["name:tag"], "Layers": ["<file>", ...]}]. Docker writes no
// image manifest, so an OCI one is synthesised from the config and layers
// (the config JSON is the same document under either media type).
#include <unistd.h>

#include "import_common.h"
#include "json_fields.h"

namespace berth::runtime::image::detail {
namespace {

// Layer files are plain tars in classic archives; sniff the compression of
// anything else (gzip 1f 8b, zstd 28 b5 2f fd).
Result<std::string> LayerMediaType(const ImageStore& store, const Descriptor& blob,
                                   const Digest& diff_id) {
  if (blob.digest == diff_id) return std::string(media_type::kOciLayer);
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, store.OpenBlob(blob.digest));
  unsigned char magic[4] = {};
  ssize_t n = ::pread(fd.get(), magic, sizeof(magic), 0);
  if (n < 0) return Error::FromErrno("read layer " + blob.digest.String());
  if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return std::string(media_type::kOciLayerGzip);
  if (n >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) {
    return std::string(media_type::kOciLayerZstd);
  }
  return Error::Invalid("layer " + blob.digest.String() +
                        " is uncompressed but its digest is not " + "the config's diff_id " +
                        diff_id.String());
}

}  // namespace

Result<std::vector<ImportedImage>> ImportDockerScan(const ImageStore& store,
                                                    const ArchiveScan& scan,
                                                    const ImportOptions& options) {
  auto it = scan.metadata.find("manifest.json");
  if (it == scan.metadata.end()) return Error::Invalid("not a docker-archive: no manifest.json");
  Json doc;
  try {
    doc = Json::parse(it->second);
  } catch (const Json::exception& e) {
    return Error::Invalid(std::string("manifest.json: invalid JSON: ") + e.what());
  }
  if (!doc.is_array() || doc.empty()) {
    return JsonError("manifest.json", "expected a non-empty array");
  }
  std::vector<ImportedImage> out;
  for (size_t i = 0; i < doc.size(); ++i) {
    const std::string path = "manifest.json[" + std::to_string(i) + "]";
    const Json& img = doc[i];
    if (!img.is_object()) return JsonError(path, "expected an object");
    BERTH_ASSIGN_OR_RETURN(std::string config_file, GetString(img, "Config", path, true));
    BERTH_ASSIGN_OR_RETURN(std::vector<std::string> tags, GetStringArray(img, "RepoTags", path));
    BERTH_ASSIGN_OR_RETURN(std::vector<std::string> layer_files,
                           GetStringArray(img, "Layers", path));

    BERTH_ASSIGN_OR_RETURN(Descriptor config, scan.Lookup(config_file).Wrap(path + ".Config"));
    config.media_type = std::string(media_type::kOciConfig);
    BERTH_ASSIGN_OR_RETURN(std::string ctext, store.ReadBlob(config.digest).Wrap(path));
    BERTH_ASSIGN_OR_RETURN(ImageConfig cfg, ParseImageConfig(ctext, path + ".Config"));
    if (cfg.diff_ids.size() != layer_files.size()) {
      return JsonError(path + ".Layers", std::to_string(layer_files.size()) +
                                             " layers but the config lists " +
                                             std::to_string(cfg.diff_ids.size()) + " diff_ids");
    }
    Manifest m;
    m.media_type = std::string(media_type::kOciManifest);
    m.config = config;
    for (size_t l = 0; l < layer_files.size(); ++l) {
      const std::string lp = path + ".Layers[" + std::to_string(l) + "]";
      BERTH_ASSIGN_OR_RETURN(Descriptor layer, scan.Lookup(layer_files[l]).Wrap(lp));
      BERTH_ASSIGN_OR_RETURN(layer.media_type,
                             LayerMediaType(store, layer, cfg.diff_ids[l]).Wrap(lp));
      m.layers.push_back(std::move(layer));
    }
    BERTH_ASSIGN_OR_RETURN(Descriptor md, store.PutBlob(SerializeManifest(m)).Wrap(path));
    md.media_type = std::string(media_type::kOciManifest);

    std::vector<Reference> refs;
    for (const auto& t : tags) {
      BERTH_ASSIGN_OR_RETURN(Reference r, ParseReference(t).Wrap(path + ".RepoTags"));
      refs.push_back(std::move(r));
    }
    if (refs.empty()) {
      if (options.name.empty()) {
        return Error::Sys(ENOENT, path + ": image has no RepoTags: give the image a name");
      }
      BERTH_ASSIGN_OR_RETURN(Reference r, ParseReference(options.name));
      refs.push_back(std::move(r));
    }
    for (const auto& r : refs) {
      BERTH_TRY(store.SetRef(r, md));
      out.push_back(ImportedImage{r.StoreKey(), md});
    }
  }
  return out;
}

}  // namespace berth::runtime::image::detail
