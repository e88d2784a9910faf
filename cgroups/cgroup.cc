// Cgroup: create with controllers enabled down the path, move processes,
// apply limits, remove.
#include "berth/cgroups/cgroup.h"

#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include "berth/cgroups/limits.h"
#include "berth/cgroups/stats.h"
#include "berth/common/file.h"
#include "berth/common/log.h"

namespace berth::cgroups {
namespace {

// Splits "/a/b" into {"a", "b"}; rejects ".", ".." and empty paths that
// would escape or alias the hierarchy.
Result<std::vector<std::string>> SplitCgroupPath(std::string_view path) {
  if (path.empty() || path[0] != '/') {
    return Error::Invalid("cgroup path \"" + std::string(path) + "\" is not absolute");
  }
  std::vector<std::string> out;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty()) continue;
    if (part == "." || part == "..") {
      return Error::Invalid("cgroup path \"" + std::string(path) + "\" contains \"" +
                            std::string(part) + "\"");
    }
    out.emplace_back(part);
  }
  return out;
}

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) out.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// Enables in `cgroup` (a non-root cgroup directory) every controller its
// cgroup.controllers offers that its cgroup.subtree_control lacks, so the
// cgroup's children can use them.
Status EnableControllers(const std::filesystem::path& dir, const std::string& cgroup) {
  BERTH_ASSIGN_OR_RETURN(std::string offered, ReadFile(dir / "cgroup.controllers"));
  BERTH_ASSIGN_OR_RETURN(std::string enabled, ReadFile(dir / "cgroup.subtree_control"));
  std::vector<std::string> have = Words(enabled);
  std::vector<std::string> add;
  for (const std::string& c : Words(offered)) {
    if (std::find(have.begin(), have.end(), c) == have.end()) add.push_back("+" + c);
  }
  if (add.empty()) return Ok();
  std::string value = Join(add, " ");
  Status st = WriteFile(dir / "cgroup.subtree_control", value);
  if (!st.ok() && st.error().err() == EBUSY) {
    return std::move(st).error().Wrap(
        "enable controllers \"" + value + "\" in " + cgroup + ": " + cgroup +
        " has processes of its own (cgroup v2 \"no internal processes\" rule: move them into a "
        "leaf cgroup first)");
  }
  BERTH_TRY_CTX(std::move(st), "enable controllers \"" + value + "\" in " + cgroup);
  return Ok();
}

Status RemoveTree(const std::filesystem::path& dir, const std::string& cgroup) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    if (ec.value() == ENOENT) return Ok();
    return Error::Sys(ec.value(), "list " + dir.string());
  }
  for (const auto& entry : it) {
    std::error_code tec;
    if (!entry.is_directory(tec) || entry.is_symlink(tec)) continue;
    std::string name = entry.path().filename().string();
    BERTH_TRY(RemoveTree(entry.path(), cgroup + "/" + name));
  }
  if (::rmdir(dir.c_str()) < 0) {
    int err = errno;
    if (err == ENOENT) return Ok();
    Error e = Error::Sys(err, "rmdir " + dir.string());
    if (err == EBUSY)
      return std::move(e).Wrap("remove cgroup " + cgroup + ": it still has processes");
    return std::move(e).Wrap("remove cgroup " + cgroup);
  }
  return Ok();
}

}  // namespace

Cgroup::Cgroup(std::filesystem::path mount, std::string path)
    : mount_(std::move(mount)), path_(std::move(path)) {}

std::filesystem::path Cgroup::dir() const {
  return mount_ / std::filesystem::path(path_).relative_path();
}

Result<Cgroup> Cgroup::Create(const std::filesystem::path& mount, std::string_view path) {
  const std::string ctx = "create cgroup " + std::string(path);
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitCgroupPath(path).Wrap(ctx));

  std::filesystem::path dir = mount;
  for (const std::string& part : parts) {
    dir /= part;
    if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) {
      return Error::FromErrno("mkdir " + dir.string()).Wrap(ctx);
    }
  }

  // Top-down, so each level's cgroup.controllers already reflects what its
  // parent just enabled. Skips the root (owned by the host, see cgroup.h) and
  // the leaf (it will hold processes: "no internal processes").
  std::filesystem::path ancestor = mount;
  std::string name;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    ancestor /= parts[i];
    name += "/" + parts[i];
    BERTH_TRY_CTX(EnableControllers(ancestor, name), ctx);
  }
  return Cgroup(mount, "/" + Join(parts, "/"));
}

Result<std::vector<std::string>> Cgroup::Controllers() const {
  BERTH_ASSIGN_OR_RETURN(std::string text,
                         ReadFile(dir() / "cgroup.controllers").Wrap("controllers of " + path_));
  return Words(text);
}

Status Cgroup::AddProcess(pid_t pid) const {
  Status st = WriteFile(dir() / "cgroup.procs", std::to_string(pid));
  if (!st.ok() && st.error().err() == EBUSY) {
    return std::move(st).error().Wrap("add pid " + std::to_string(pid) + " to " + path_ + ": " +
                                      path_ +
                                      " has controllers enabled for children (cgroup v2 \"no "
                                      "internal processes\" rule)");
  }
  BERTH_TRY_CTX(std::move(st), "add pid " + std::to_string(pid) + " to cgroup " + path_);
  return Ok();
}

Result<std::vector<pid_t>> Cgroup::Processes() const {
  BERTH_ASSIGN_OR_RETURN(std::string text,
                         ReadFile(dir() / "cgroup.procs").Wrap("processes of cgroup " + path_));
  std::vector<pid_t> out;
  for (const std::string& w : Words(text)) {
    BERTH_ASSIGN_OR_RETURN(uint64_t pid,
                           ParseNumber(w).Wrap("parse " + (dir() / "cgroup.procs").string()));
    out.push_back(static_cast<pid_t>(pid));
  }
  return out;
}

Result<std::vector<std::string>> Cgroup::Apply(const Resources& resources,
                                               const ApplyOptions& options) const {
  const std::string ctx = "apply resources to cgroup " + path_;
  BERTH_ASSIGN_OR_RETURN(std::vector<CgroupWrite> writes, MapResources(resources).Wrap(ctx));
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> available, Controllers().Wrap(ctx));
  auto has = [&available](const std::string& c) {
    // Core "cgroup.*" files exist in every cgroup, without a controller.
    return c == "cgroup" || std::find(available.begin(), available.end(), c) != available.end();
  };

  // Missing controllers first, so strict mode fails before writing anything.
  std::vector<std::string> missing;
  std::map<std::string, std::vector<std::string>> skipped;
  for (const CgroupWrite& w : writes) {
    if (has(w.controller)) continue;
    auto& files = skipped[w.controller];
    if (files.empty()) missing.push_back(w.controller);
    if (std::find(files.begin(), files.end(), w.file) == files.end()) files.push_back(w.file);
  }
  const std::string offered = "cgroup.controllers: \"" + Join(available, " ") + "\"";
  if (options.strict && !missing.empty()) {
    return Error::Sys(ENOTSUP, "controller " + missing.front() + " is not available in " + path_ +
                                   " (" + offered + "), needed for " +
                                   Join(skipped[missing.front()], ", "))
        .Wrap(ctx);
  }
  std::vector<std::string> warnings;
  for (const std::string& c : missing) {
    std::string files = Join(skipped[c], ", ");
    warnings.push_back("controller " + c + " is not available in " + path_ + " (" + offered +
                       "): not setting " + files);
    log::Warn("cgroup controller unavailable, limit not applied",
              {{"controller", c}, {"cgroup", path_}, {"files", files}});
  }

  // checkBeforeUpdate (OCI): refuse a memory limit at or below current usage
  // instead of letting the kernel reclaim or OOM-kill (crun does the same).
  const auto& mem = resources.memory;
  if (mem && mem->check_before_update.value_or(false) && mem->limit && *mem->limit >= 0 &&
      has("memory")) {
    BERTH_ASSIGN_OR_RETURN(std::string cur, ReadFile(dir() / "memory.current").Wrap(ctx));
    BERTH_ASSIGN_OR_RETURN(uint64_t usage, ParseNumber(cur).Wrap(ctx));
    if (static_cast<uint64_t>(*mem->limit) <= usage) {
      return Error::Sys(EBUSY, "linux.resources.memory.checkBeforeUpdate: new limit " +
                                   std::to_string(*mem->limit) + " is not above current usage " +
                                   std::to_string(usage))
          .Wrap(ctx);
    }
  }

  for (const CgroupWrite& w : writes) {
    if (!has(w.controller)) continue;
    BERTH_TRY_CTX(WriteFile(dir() / w.file, w.value),
                  ctx + ": write \"" + w.value + "\" to " + w.file);
  }
  return warnings;
}

Status Cgroup::Remove() const { return RemoveTree(dir(), path_); }

}  // namespace berth::cgroups
