#include "berth/runtime/image/manifest.h"

#include "json_fields.h"

namespace berth::runtime::image {

using detail::GetInt;
using detail::GetString;
using detail::GetStringMap;
using detail::Json;
using detail::JsonError;

bool IsManifestType(std::string_view t) {
  return t == media_type::kOciManifest || t == media_type::kDockerManifest;
}

bool IsIndexType(std::string_view t) {
  return t == media_type::kOciIndex || t == media_type::kDockerManifestList;
}

bool IsLayerType(std::string_view t) {
  static constexpr std::string_view kNondist =
      "application/vnd.oci.image.layer.nondistributable.v1.tar";
  return t == media_type::kOciLayer || t == media_type::kOciLayerGzip ||
         t == media_type::kOciLayerZstd || t == media_type::kDockerLayerGzip ||
         t == media_type::kDockerForeignLayerGzip || t.substr(0, kNondist.size()) == kNondist;
}

std::string Platform::String() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Result<Platform> ParsePlatform(std::string_view s) {
  Platform p;
  p.variant.clear();
  size_t a = s.find('/');
  if (a == std::string_view::npos || a == 0) {
    return Error::Invalid("platform \"" + std::string(s) + "\": expected os/arch[/variant]");
  }
  p.os = std::string(s.substr(0, a));
  std::string_view rest = s.substr(a + 1);
  size_t b = rest.find('/');
  p.architecture = std::string(rest.substr(0, b));
  if (b != std::string_view::npos) p.variant = std::string(rest.substr(b + 1));
  if (p.architecture.empty() || (b != std::string_view::npos && p.variant.empty())) {
    return Error::Invalid("platform \"" + std::string(s) + "\": expected os/arch[/variant]");
  }
  return p;
}

Platform HostPlatform() {
  Platform p;
#if defined(__x86_64__)
  p.architecture = "amd64";
#elif defined(__aarch64__)
  p.architecture = "arm64";
#elif defined(__i386__)
  p.architecture = "386";
#else
  p.architecture = "unknown";
#endif
  return p;
}

namespace {

Result<Descriptor> ParseDescriptor(const Json& j, const std::string& path) {
  if (!j.is_object()) return JsonError(path, "expected an object");
  Descriptor d;
  BERTH_ASSIGN_OR_RETURN(d.media_type, GetString(j, "mediaType", path, true));
  BERTH_ASSIGN_OR_RETURN(std::string digest, GetString(j, "digest", path, true));
  auto parsed = ParseDigest(digest);
  if (!parsed.ok()) return JsonError(path + ".digest", parsed.error().message());
  d.digest = std::move(parsed).value();
  BERTH_ASSIGN_OR_RETURN(d.size, GetInt(j, "size", path, true));
  if (d.size < 0) return JsonError(path + ".size", "negative");
  BERTH_ASSIGN_OR_RETURN(d.annotations, GetStringMap(j, "annotations", path));
  auto p = j.find("platform");
  if (p != j.end() && !p->is_null()) {
    std::string pp = path + ".platform";
    if (!p->is_object()) return JsonError(pp, "expected an object");
    Platform plat;
    BERTH_ASSIGN_OR_RETURN(plat.os, GetString(*p, "os", pp, true));
    BERTH_ASSIGN_OR_RETURN(plat.architecture, GetString(*p, "architecture", pp, true));
    BERTH_ASSIGN_OR_RETURN(plat.variant, GetString(*p, "variant", pp, false));
    d.platform = std::move(plat);
  }
  return d;
}

Status CheckSchemaVersion(const Json& j, const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(int64_t v, GetInt(j, "schemaVersion", path, true));
  if (v != 2) return JsonError(path + ".schemaVersion", "expected 2, got " + std::to_string(v));
  return Ok();
}

Json DescriptorJson(const Descriptor& d) {
  Json j = {{"mediaType", d.media_type}, {"digest", d.digest.String()}, {"size", d.size}};
  if (d.platform) {
    Json p = {{"os", d.platform->os}, {"architecture", d.platform->architecture}};
    if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
    j["platform"] = std::move(p);
  }
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  return j;
}

}  // namespace

Result<Manifest> ParseManifest(std::string_view json, std::string_view what) {
  const std::string path(what);
  BERTH_ASSIGN_OR_RETURN(Json j, detail::ParseJson(json, path));
  BERTH_TRY(CheckSchemaVersion(j, path));
  Manifest m;
  BERTH_ASSIGN_OR_RETURN(m.media_type, GetString(j, "mediaType", path, false));
  if (!m.media_type.empty() && !IsManifestType(m.media_type)) {
    return JsonError(path + ".mediaType", "\"" + m.media_type + "\" is not an image manifest");
  }
  if (j.contains("manifests")) return JsonError(path, "is an index, not a manifest");
  auto cfg = j.find("config");
  if (cfg == j.end()) return JsonError(path + ".config", "missing");
  BERTH_ASSIGN_OR_RETURN(m.config, ParseDescriptor(*cfg, path + ".config"));
  if (m.config.media_type != media_type::kOciConfig &&
      m.config.media_type != media_type::kDockerConfig) {
    return JsonError(path + ".config.mediaType",
                     "\"" + m.config.media_type + "\" is not a container image config");
  }
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array()) {
    return JsonError(path + ".layers", "expected an array");
  }
  for (size_t i = 0; i < layers->size(); ++i) {
    std::string lp = path + ".layers[" + std::to_string(i) + "]";
    BERTH_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor((*layers)[i], lp));
    if (!IsLayerType(d.media_type)) {
      return JsonError(lp + ".mediaType", "unsupported layer type \"" + d.media_type + "\"");
    }
    m.layers.push_back(std::move(d));
  }
  BERTH_ASSIGN_OR_RETURN(m.annotations, GetStringMap(j, "annotations", path));
  return m;
}

Result<Index> ParseIndex(std::string_view json, std::string_view what) {
  const std::string path(what);
  BERTH_ASSIGN_OR_RETURN(Json j, detail::ParseJson(json, path));
  BERTH_TRY(CheckSchemaVersion(j, path));
  Index idx;
  BERTH_ASSIGN_OR_RETURN(idx.media_type, GetString(j, "mediaType", path, false));
  if (!idx.media_type.empty() && !IsIndexType(idx.media_type)) {
    return JsonError(path + ".mediaType", "\"" + idx.media_type + "\" is not an image index");
  }
  auto ms = j.find("manifests");
  if (ms == j.end() || !ms->is_array()) return JsonError(path + ".manifests", "expected an array");
  for (size_t i = 0; i < ms->size(); ++i) {
    BERTH_ASSIGN_OR_RETURN(
        Descriptor d, ParseDescriptor((*ms)[i], path + ".manifests[" + std::to_string(i) + "]"));
    idx.manifests.push_back(std::move(d));
  }
  BERTH_ASSIGN_OR_RETURN(idx.annotations, GetStringMap(j, "annotations", path));
  return idx;
}

std::string SerializeIndex(const Index& index) {
  Json j = {{"schemaVersion", 2},
            {"mediaType",
             index.media_type.empty() ? std::string(media_type::kOciIndex) : index.media_type}};
  Json ms = Json::array();
  for (const auto& d : index.manifests) ms.push_back(DescriptorJson(d));
  j["manifests"] = std::move(ms);
  if (!index.annotations.empty()) j["annotations"] = index.annotations;
  return j.dump();
}

std::string SerializeManifest(const Manifest& m) {
  Json j = {
      {"schemaVersion", 2},
      {"mediaType", m.media_type.empty() ? std::string(media_type::kOciManifest) : m.media_type},
      {"config", DescriptorJson(m.config)}};
  Json ls = Json::array();
  for (const auto& d : m.layers) ls.push_back(DescriptorJson(d));
  j["layers"] = std::move(ls);
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return j.dump();
}

Result<Descriptor> SelectPlatform(const Index& index, const Platform& want) {
  std::string offered;
  for (const auto& d : index.manifests) {
    if (!IsManifestType(d.media_type) && !IsIndexType(d.media_type)) continue;
    if (!d.platform) continue;
    if (!offered.empty()) offered += ", ";
    offered += d.platform->String();
    if (d.platform->os != want.os || d.platform->architecture != want.architecture) continue;
    if (!want.variant.empty() && d.platform->variant != want.variant) continue;
    return d;
  }
  // Single-image layouts often list one manifest without a platform.
  if (index.manifests.size() == 1 && !index.manifests[0].platform) return index.manifests[0];
  return Error::Sys(ENOENT, "no manifest for platform " + want.String() +
                                " (offered: " + (offered.empty() ? "none" : offered) + ")");
}

}  // namespace berth::runtime::image
