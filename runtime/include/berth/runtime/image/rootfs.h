// From a stored image to what a container needs: its layer snapshots in
// overlayfs order and the process settings the image config asks for, as
// plain data (mapping them onto a runtime spec is the caller's business, so
// this library does not depend on berth_runtime_spec). Thread-safe like
// ImageStore. Errors: ENOENT (unknown reference or blob), EINVAL (layer and
// diff_id counts differ, malformed documents), unpack errors.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "berth/common/error.h"
#include "berth/runtime/image/manifest.h"
#include "berth/runtime/image/store.h"
#include "berth/runtime/image/unpack.h"

namespace berth::runtime::image {

// A stored image with its documents loaded.
struct Image {
  std::string reference;  // store key
  Descriptor manifest_descriptor;
  Manifest manifest;
  ImageConfig config;
};

// Settings for the container's process (OCI runtime spec "process" and
// annotations), derived from the image config.
struct ImageRuntimeConfig {
  std::vector<std::string> args;  // Entrypoint + Cmd
  std::vector<std::string> env;   // image Env, PATH defaulted when absent
  std::string cwd = "/";          // WorkingDir or "/"
  std::string user;               // "uid[:gid]" or a name, as in the image; may be empty
  std::vector<std::string> exposed_ports;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
};

struct ImageRootfs {
  // overlayfs lowerdirs, TOP layer first (the order of mount -o lowerdir=).
  std::vector<std::filesystem::path> lowerdirs;
  ImageRuntimeConfig runtime;
};

Result<Image> LoadImage(const ImageStore& store, std::string_view reference);
ImageRuntimeConfig RuntimeConfigFrom(const ImageConfig& config);
// Unpacks every layer not yet snapshotted and returns the lowerdirs. Layers
// unpack `parallel_layers` at a time (0: one per CPU); the first failure
// stops the rest and is returned.
Result<ImageRootfs> PrepareRootfs(const ImageStore& store, std::string_view reference,
                                  const UnpackOptions& options = {}, int parallel_layers = 0);
// The same for an image already loaded (no second read of its documents).
Result<ImageRootfs> PrepareRootfs(const ImageStore& store, const Image& image,
                                  const UnpackOptions& options = {}, int parallel_layers = 0);

}  // namespace berth::runtime::image
