// Internal fd-based file system helpers for the image store and unpacker.
// Stateless; thread-safe. Errors carry errno and the path.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"

namespace berth::runtime::image::detail {

// openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: `path` is resolved
// as if `root_fd` were "/", so neither "..", absolute symlinks nor relative
// ones can leave it. O_CLOEXEC is added.
Result<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags, mode_t mode = 0);

// Removes `name` in `dir_fd` and, when it is a directory, all it holds,
// without following symlinks. ENOENT is not an error.
Status RemoveTreeAt(int dir_fd, const std::string& name);
// Removes every entry inside the directory `dir_fd`.
Status EmptyDirFd(int dir_fd, const std::string& what);

Status FsyncPath(const std::filesystem::path& path);

// A unique name for a temp file: "<prefix>.<pid>.<tid>.<counter>".
std::string TempName(const std::string& prefix);

}  // namespace berth::runtime::image::detail
