#include "image_cli.h"

#include <cstdio>

#include "image_commands.h"

#include "berth/runtime/image/store.h"

namespace berth::nodeagent {
namespace {

using Command = Result<int> (*)(const runtime::image::ImageStore&, const ImageCliOptions&);

// Opens the store and runs one command; errors are printed here.
void Run(Command cmd, const ImageCliOptions& o, int* exit_code) {
  auto store = runtime::image::ImageStore::Open(o.root);
  Result<int> r = store.ok() ? cmd(*store, o) : Result<int>(std::move(store).error());
  if (r.ok()) {
    *exit_code = *r;
    return;
  }
  (void)std::fprintf(stderr, "berth-agent: %s\n", r.error().ToString().c_str());
  *exit_code = 1;
}

}  // namespace

std::string HumanBytes(int64_t bytes) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    (void)std::snprintf(buf, sizeof(buf), "%lld B", static_cast<long long>(bytes));
  } else {
    (void)std::snprintf(buf, sizeof(buf), "%.1f %s", v, kUnits[u]);
  }
  return buf;
}

void AddImageCommands(CLI::App& app, ImageCliOptions& o, int* exit_code) {
  CLI::App* img = app.add_subcommand("image", "manage the node's image store");
  img->require_subcommand(1);
  img->add_option("--root", o.root, "image store directory")->capture_default_str();
  img->add_option("-o,--output", o.output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  auto on = [&o, exit_code](CLI::App* c, Command cmd) {
    c->callback([&o, exit_code, cmd] { Run(cmd, o, exit_code); });
  };

  CLI::App* pull = img->add_subcommand("pull", "pull an image from a registry");
  pull->add_option("reference", o.reference, "image reference, e.g. busybox:1.36")->required();
  pull->add_option("--platform", o.platform, "os/arch[/variant] (default: this host)");
  pull->add_option("--insecure-registry", o.insecure_registries,
                   "registry host[:port] reached over plain HTTP (repeatable)");
  pull->add_option("--registries-config", o.registries_config, "mirrors and insecure registries")
      ->capture_default_str();
  pull->add_option("--authfile", o.authfile, "docker config.json with credentials");
  pull->add_option("--parallel", o.parallel, "layers downloaded at once")->capture_default_str();
  pull->add_flag("--unpack", o.unpack, "also unpack layers into snapshots");
  pull->add_flag("-q,--quiet", o.quiet, "print only the manifest digest");
  on(pull, ImagePull);

  CLI::App* imp =
      img->add_subcommand("import", "import an OCI layout, oci-archive or docker-archive");
  imp->add_option("path", o.path, "directory (OCI layout) or tar file")->required();
  imp->add_option("--name", o.name, "reference for images that carry no name");
  imp->add_option("--platform", o.platform, "platform chosen from an index");
  on(imp, ImageImport);

  CLI::App* exp = img->add_subcommand("export", "write images to an OCI layout directory");
  exp->add_option("references", o.references, "image references")->required();
  exp->add_option("-d,--dir", o.path, "OCI layout directory")->required();
  on(exp, ImageExport);

  on(img->add_subcommand("ls", "list images")->alias("list"), ImageList);

  CLI::App* inspect = img->add_subcommand("inspect", "show an image's configuration and layers");
  inspect->add_option("references", o.references, "image references")->required();
  on(inspect, ImageInspect);

  CLI::App* rm = img->add_subcommand("rm", "remove references, then unreferenced content");
  rm->add_option("references", o.references, "image references")->required();
  on(rm, ImageRemove);

  CLI::App* unpack = img->add_subcommand("unpack", "unpack an image's layers into snapshots");
  unpack->add_option("reference", o.reference, "image reference")->required();
  unpack->add_option("--parallel", o.unpack_parallel, "layers unpacked at once (0: one per CPU)")
      ->capture_default_str();
  on(unpack, ImageUnpack);

  on(img->add_subcommand("prune", "remove blobs and snapshots nothing references"), ImagePrune);

  CLI::App* bundle =
      img->add_subcommand("bundle", "make an OCI bundle (overlay rootfs) for berth-runtime");
  bundle->add_option("reference", o.reference, "image reference")->required();
  bundle->add_option("dir", o.path, "bundle directory")->required();
  bundle->add_option("--id", o.id, "lease id (default: the directory name)");
  bundle->add_option("--cgroups-path", o.cgroups_path, "linux.cgroupsPath of the container");
  bundle->add_option("command", o.command, "command to run instead of the image's (after --)");
  on(bundle, ImageBundle);

  CLI::App* unbundle =
      img->add_subcommand("unbundle", "unmount and remove a bundle made by `bundle`");
  unbundle->add_option("dir", o.path, "bundle directory")->required();
  on(unbundle, ImageUnbundle);
}

}  // namespace berth::nodeagent
