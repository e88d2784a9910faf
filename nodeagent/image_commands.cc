// pull, import, export, ls, inspect, rm and prune.
#include "image_commands.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "image_cli.h"
#include "pull_progress.h"

#include "berth/runtime/image/gc.h"
#include "berth/runtime/image/import.h"
#include "berth/runtime/image/rootfs.h"
#include "berth/runtime/registry/pull.h"

namespace berth::nodeagent {
namespace {

namespace image = runtime::image;
namespace registry = runtime::registry;
using Json = nlohmann::ordered_json;

void PrintImported(const std::vector<image::ImportedImage>& images, bool json) {
  if (json) {
    Json out = Json::array();
    for (const auto& i : images) {
      out.push_back({{"reference", i.reference}, {"digest", i.manifest.digest.String()}});
    }
    (void)std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  for (const auto& i : images) {
    (void)std::printf("%s %s\n", i.reference.c_str(), i.manifest.digest.String().c_str());
  }
}

// Bytes of the image's blobs (config and compressed layers), as docker sizes them.
int64_t ImageSize(const image::Image& img) {
  int64_t size = img.manifest.config.size;
  for (const auto& l : img.manifest.layers) size += l.size;
  return size;
}

Json ImageJson(const image::ImageStore& store, const image::Image& img) {
  Json layers = Json::array();
  for (size_t i = 0; i < img.manifest.layers.size(); ++i) {
    const auto& l = img.manifest.layers[i];
    Json layer = {{"digest", l.digest.String()}, {"mediaType", l.media_type}, {"size", l.size}};
    if (i < img.config.diff_ids.size()) {
      layer["diffID"] = img.config.diff_ids[i].String();
      layer["unpacked"] = store.HasSnapshot(img.config.diff_ids[i]);
    }
    layers.push_back(layer);
  }
  const auto& c = img.config;
  return {{"reference", img.reference},
          {"digest", img.manifest_descriptor.digest.String()},
          {"mediaType", img.manifest_descriptor.media_type},
          {"config", img.manifest.config.digest.String()},
          {"platform", c.os + "/" + c.architecture},
          {"size", ImageSize(img)},
          {"entrypoint", c.entrypoint},
          {"cmd", c.cmd},
          {"env", c.env},
          {"workingDir", c.working_dir},
          {"user", c.user},
          {"exposedPorts", c.exposed_ports},
          {"labels", c.labels},
          {"stopSignal", c.stop_signal},
          {"layers", layers}};
}

std::string JoinArgs(const std::vector<std::string>& v) { return Json(v).dump(); }

}  // namespace

Result<int> ImagePull(const image::ImageStore& store, const ImageCliOptions& o) {
  BERTH_ASSIGN_OR_RETURN(registry::RegistryHosts hosts,
                         registry::RegistryHosts::Load(o.registries_config));
  for (const std::string& h : o.insecure_registries) hosts.AddInsecure(h);
  registry::ClientOptions copts;
  const std::string authfile =
      o.authfile.empty() ? registry::CredentialStore::DefaultPath().string() : o.authfile;
  BERTH_ASSIGN_OR_RETURN(copts.credentials, registry::CredentialStore::Load(authfile));
  copts.credentials_path = authfile;
  registry::RegistryClient client(std::move(copts));
  registry::PullOptions popts;
  if (!o.platform.empty()) {
    BERTH_ASSIGN_OR_RETURN(popts.platform, image::ParsePlatform(o.platform));
  }
  if (o.parallel < 1)
    return Error::Invalid("--parallel " + std::to_string(o.parallel) + ": must be >= 1");
  popts.parallel_layers = o.parallel;
  popts.unpack = o.unpack;
  PullProgressPrinter printer(stderr);
  registry::PullProgress last;
  if (!o.quiet) {
    popts.progress = [&](const registry::PullProgress& p) {
      last = p;
      printer.Update(p);
    };
  }
  const auto start = std::chrono::steady_clock::now();
  auto pulled = registry::Pull(store, client, hosts, o.reference, popts);
  printer.Finish();
  if (!pulled.ok()) return std::move(pulled).error();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (o.output == "json") {
    Json out = {{"reference", pulled->reference},
                {"digest", pulled->manifest.digest.String()},
                {"endpoint", last.endpoint},
                {"layers", last.layers_total},
                {"layersCached", last.layers_cached},
                {"bytesDownloaded", last.bytes_done},
                {"seconds", secs}};
    (void)std::printf("%s\n", out.dump(2).c_str());
  } else if (o.quiet) {
    (void)std::printf("%s\n", pulled->manifest.digest.String().c_str());
  } else {
    (void)std::printf("%s: pulled %s from %s (%d layers, %d already stored, %s in %.1f s)\n",
                      pulled->reference.c_str(), pulled->manifest.digest.String().c_str(),
                      last.endpoint.c_str(), last.layers_total, last.layers_cached,
                      HumanBytes(last.bytes_done).c_str(), secs);
  }
  return 0;
}

Result<int> ImageImport(const image::ImageStore& store, const ImageCliOptions& o) {
  image::ImportOptions io;
  io.name = o.name;
  if (!o.platform.empty()) {
    BERTH_ASSIGN_OR_RETURN(io.platform, image::ParsePlatform(o.platform));
  }
  struct stat st {};
  if (::stat(o.path.c_str(), &st) < 0) return Error::FromErrno("import " + o.path);
  auto imported = S_ISDIR(st.st_mode) ? image::ImportOciLayout(store, o.path, io)
                                      : image::ImportArchive(store, o.path, io);
  if (!imported.ok()) return std::move(imported).error();
  PrintImported(*imported, o.output == "json");
  return 0;
}

Result<int> ImageExport(const image::ImageStore& store, const ImageCliOptions& o) {
  BERTH_TRY(image::ExportOciLayout(store, o.references, o.path));
  if (o.output != "json") {
    (void)std::printf("exported %zu image(s) to %s\n", o.references.size(), o.path.c_str());
  }
  return 0;
}

Result<int> ImageList(const image::ImageStore& store, const ImageCliOptions& o) {
  BERTH_ASSIGN_OR_RETURN(std::vector<image::RefEntry> refs, store.ListRefs());
  Json out = Json::array();
  if (o.output != "json") {
    (void)std::printf("%-50s %-16s %-14s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "SIZE");
  }
  for (const auto& r : refs) {
    auto img = image::LoadImage(store, r.reference);
    auto ref = image::ParseReference(r.reference);
    const std::string repo = ref.ok() ? ref->Name() : r.reference;
    const std::string tag = ref.ok() && !ref->tag.empty() ? ref->tag : "<none>";
    const std::string id = img.ok() ? img->manifest.config.digest.hex.substr(0, 12) : "<missing>";
    const int64_t size = img.ok() ? ImageSize(*img) : 0;
    if (o.output == "json") {
      out.push_back({{"reference", r.reference},
                     {"repository", repo},
                     {"tag", tag},
                     {"digest", r.target.digest.String()},
                     {"id", id},
                     {"size", size}});
    } else {
      (void)std::printf("%-50s %-16s %-14s %s\n", repo.c_str(), tag.c_str(), id.c_str(),
                        HumanBytes(size).c_str());
    }
  }
  if (o.output == "json") (void)std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

Result<int> ImageInspect(const image::ImageStore& store, const ImageCliOptions& o) {
  Json all = Json::array();
  for (const std::string& r : o.references) {
    BERTH_ASSIGN_OR_RETURN(image::Image img, image::LoadImage(store, r));
    Json j = ImageJson(store, img);
    if (o.output == "json") {
      all.push_back(j);
      continue;
    }
    (void)std::printf("Reference:    %s\nDigest:       %s\nPlatform:     %s\nSize:         %s\n",
                      img.reference.c_str(), img.manifest_descriptor.digest.String().c_str(),
                      j["platform"].get<std::string>().c_str(), HumanBytes(ImageSize(img)).c_str());
    (void)std::printf("Entrypoint:   %s\nCmd:          %s\nWorkingDir:   %s\nUser:         %s\n",
                      JoinArgs(img.config.entrypoint).c_str(), JoinArgs(img.config.cmd).c_str(),
                      img.config.working_dir.c_str(), img.config.user.c_str());
    (void)std::printf("ExposedPorts: %s\nEnv:\n", JoinArgs(img.config.exposed_ports).c_str());
    for (const auto& e : img.config.env) (void)std::printf("  %s\n", e.c_str());
    (void)std::printf("Layers:\n");
    for (const auto& l : j["layers"]) {
      (void)std::printf("  %s  %10s  %s\n", l["digest"].get<std::string>().c_str(),
                        HumanBytes(l["size"].get<int64_t>()).c_str(),
                        l.value("unpacked", false) ? "unpacked" : "packed");
    }
  }
  if (o.output == "json") (void)std::printf("%s\n", all.dump(2).c_str());
  return 0;
}

Result<int> ImageUnpack(const image::ImageStore& store, const ImageCliOptions& o) {
  if (o.unpack_parallel < 0) return Error::Invalid("--parallel: must be >= 0");
  const auto start = std::chrono::steady_clock::now();
  BERTH_ASSIGN_OR_RETURN(image::ImageRootfs rootfs,
                         image::PrepareRootfs(store, o.reference, {}, o.unpack_parallel));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (o.output == "json") {
    Json out = {{"reference", o.reference},
                {"layers", rootfs.lowerdirs.size()},
                {"seconds", secs},
                {"lowerdirs", Json::array()}};
    for (const auto& d : rootfs.lowerdirs) out["lowerdirs"].push_back(d.string());
    (void)std::printf("%s\n", out.dump(2).c_str());
  } else {
    (void)std::printf("%s: %zu layers unpacked in %.2f s\n", o.reference.c_str(),
                      rootfs.lowerdirs.size(), secs);
  }
  return 0;
}

Result<int> ImageRemove(const image::ImageStore& store, const ImageCliOptions& o) {
  // Check every name first, so a typo removes nothing.
  std::vector<image::Reference> refs;
  for (const std::string& r : o.references) {
    BERTH_ASSIGN_OR_RETURN(image::Reference ref, image::ParseReference(r));
    BERTH_TRY(StatusOf(store.GetRef(ref)).Wrap("image " + r));
    refs.push_back(std::move(ref));
  }
  for (const auto& ref : refs) {
    BERTH_TRY(store.DeleteRef(ref));
    if (o.output != "json") (void)std::printf("Untagged: %s\n", ref.StoreKey().c_str());
  }
  return ImagePrune(store, o);
}

Result<int> ImagePrune(const image::ImageStore& store, const ImageCliOptions& o) {
  BERTH_ASSIGN_OR_RETURN(image::GcStats gc, image::CollectGarbage(store));
  if (o.output == "json") {
    Json out = {{"blobsRemoved", gc.blobs_removed},
                {"snapshotsRemoved", gc.snapshots_removed},
                {"ingestRemoved", gc.ingest_removed},
                {"bytesFreed", gc.bytes_freed}};
    (void)std::printf("%s\n", out.dump(2).c_str());
  } else {
    (void)std::printf("Deleted %d blob(s) and %d snapshot(s); reclaimed %s\n", gc.blobs_removed,
                      gc.snapshots_removed, HumanBytes(gc.bytes_freed).c_str());
  }
  return 0;
}

}  // namespace berth::nodeagent
