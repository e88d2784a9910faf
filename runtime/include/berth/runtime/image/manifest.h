// OCI image-spec and Docker image manifest v2 schema 2 documents: media
// types, descriptors, manifests, indexes (manifest lists) and image configs.
// Parsers accept both families and report errors naming the JSON path
// ("manifest.layers[1].digest: expected a string"); nlohmann exceptions never
// leave this module. Values only; thread-safe. Errors: EINVAL.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/error.h"
#include "berth/runtime/image/digest.h"

namespace berth::runtime::image {

namespace media_type {
inline constexpr std::string_view kOciLayout = "application/vnd.oci.image.layout.v1";  // not a blob
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayerGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}  // namespace media_type

bool IsManifestType(std::string_view media_type);
bool IsIndexType(std::string_view media_type);
// Layer media types Berth unpacks (tar, tar+gzip, tar+zstd, Docker gzip and
// their non-distributable variants).
bool IsLayerType(std::string_view media_type);

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;  // "v8" for arm64; empty matches any
  // "linux/amd64", "linux/arm64/v8"
  std::string String() const;
};
Result<Platform> ParsePlatform(std::string_view s);
// The platform this binary was built for (linux/amd64 on x86_64).
Platform HostPlatform();

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::optional<Platform> platform;  // index entries only
  std::map<std::string, std::string> annotations;
};

struct Manifest {
  int schema_version = 2;
  std::string media_type;  // may be empty in OCI manifests
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

struct Index {
  int schema_version = 2;
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

// The parts of the image config a container needs (OCI image-spec config.md).
struct ImageConfig {
  std::string architecture;
  std::string os;
  std::string user;
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::vector<std::string> exposed_ports;  // "8080/tcp", sorted
  std::vector<std::string> volumes;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::vector<Digest> diff_ids;  // rootfs.diff_ids, bottom layer first
};

// `what` names the document in error paths ("manifest", "index.json").
Result<Manifest> ParseManifest(std::string_view json, std::string_view what = "manifest");
Result<Index> ParseIndex(std::string_view json, std::string_view what = "index");
Result<ImageConfig> ParseImageConfig(std::string_view json, std::string_view what = "config");

// Serialises to the OCI JSON form (for index.json and synthesised manifests).
std::string SerializeIndex(const Index& index);
std::string SerializeManifest(const Manifest& manifest);

// Picks the manifest for `want` from an index: os and architecture must match;
// an empty want.variant matches any variant (the first listed wins). ENOENT
// naming the platforms on offer when none matches.
Result<Descriptor> SelectPlatform(const Index& index, const Platform& want);

}  // namespace berth::runtime::image
