// Image config parsing (OCI image-spec config.md; Docker's image JSON has the
// same shape for the fields read here).
#include "json_fields.h"

#include "berth/runtime/image/manifest.h"

namespace berth::runtime::image {

using detail::GetObjectKeys;
using detail::GetString;
using detail::GetStringArray;
using detail::GetStringMap;
using detail::Json;
using detail::JsonError;

Result<ImageConfig> ParseImageConfig(std::string_view json, std::string_view what) {
  const std::string path(what);
  BERTH_ASSIGN_OR_RETURN(Json j, detail::ParseJson(json, path));
  ImageConfig c;
  BERTH_ASSIGN_OR_RETURN(c.architecture, GetString(j, "architecture", path, false));
  BERTH_ASSIGN_OR_RETURN(c.os, GetString(j, "os", path, false));

  auto cfg = j.find("config");
  if (cfg != j.end() && !cfg->is_null()) {
    std::string cp = path + ".config";
    if (!cfg->is_object()) return JsonError(cp, "expected an object");
    BERTH_ASSIGN_OR_RETURN(c.user, GetString(*cfg, "User", cp, false));
    BERTH_ASSIGN_OR_RETURN(c.env, GetStringArray(*cfg, "Env", cp));
    BERTH_ASSIGN_OR_RETURN(c.entrypoint, GetStringArray(*cfg, "Entrypoint", cp));
    BERTH_ASSIGN_OR_RETURN(c.cmd, GetStringArray(*cfg, "Cmd", cp));
    BERTH_ASSIGN_OR_RETURN(c.working_dir, GetString(*cfg, "WorkingDir", cp, false));
    BERTH_ASSIGN_OR_RETURN(c.exposed_ports, GetObjectKeys(*cfg, "ExposedPorts", cp));
    BERTH_ASSIGN_OR_RETURN(c.volumes, GetObjectKeys(*cfg, "Volumes", cp));
    BERTH_ASSIGN_OR_RETURN(c.labels, GetStringMap(*cfg, "Labels", cp));
    BERTH_ASSIGN_OR_RETURN(c.stop_signal, GetString(*cfg, "StopSignal", cp, false));
  }

  auto rootfs = j.find("rootfs");
  if (rootfs == j.end() || !rootfs->is_object()) {
    return JsonError(path + ".rootfs", "expected an object");
  }
  std::string rp = path + ".rootfs";
  BERTH_ASSIGN_OR_RETURN(std::string type, GetString(*rootfs, "type", rp, true));
  if (type != "layers") return JsonError(rp + ".type", "expected \"layers\", got \"" + type + "\"");
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> ids, GetStringArray(*rootfs, "diff_ids", rp));
  for (size_t i = 0; i < ids.size(); ++i) {
    auto d = ParseDigest(ids[i]);
    if (!d.ok()) return JsonError(rp + ".diff_ids[" + std::to_string(i) + "]", d.error().message());
    c.diff_ids.push_back(std::move(d).value());
  }
  return c;
}

}  // namespace berth::runtime::image
