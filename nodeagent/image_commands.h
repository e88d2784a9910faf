// The individual `image` commands behind image_cli.cc. Each prints its
// result and returns the exit code, or an Error for the caller to print.
#pragma once

#include "image_cli.h"

#include "berth/runtime/image/store.h"

namespace berth::nodeagent {

Result<int> ImagePull(const runtime::image::ImageStore& store, const ImageCliOptions& o);
Result<int> ImageImport(const runtime::image::ImageStore& store, const ImageCliOptions& o);
Result<int> ImageExport(const runtime::image::ImageStore& store, const ImageCliOptions& o);
Result<int> ImageList(const runtime::image::ImageStore& store, const ImageCliOptions& o);
Result<int> ImageInspect(const runtime::image::ImageStore& store, const ImageCliOptions& o);
Result<int> ImageRemove(const runtime::image::ImageStore& store, const ImageCliOptions& o);
// Unpacks every layer of an image into its snapshot, in parallel.
Result<int> ImageUnpack(const runtime::image::ImageStore& store, const ImageCliOptions& o);
Result<int> ImagePrune(const runtime::image::ImageStore& store, const ImageCliOptions& o);
// A bundle for berth-runtime: config.json from the image and rootfs/ as an
// overlay of the layer snapshots with a writable upper dir; a lease keeps
// the snapshots from garbage collection until ImageUnbundle.
Result<int> ImageBundle(const runtime::image::ImageStore& store, const ImageCliOptions& o);
Result<int> ImageUnbundle(const runtime::image::ImageStore& store, const ImageCliOptions& o);

}  // namespace berth::nodeagent
