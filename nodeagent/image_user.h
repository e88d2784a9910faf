// The user an image's config asks for ("uid[:gid]" or "name[:group]"),
// resolved against the passwd and group files of its rootfs, as runc and
// containerd do. Reads files only; thread-safe. Errors: EINVAL naming the
// user that the rootfs does not define.
#pragma once

#include <filesystem>
#include <string>

#include "berth/common/error.h"
#include "berth/runtime/spec.h"

namespace berth::nodeagent {

Result<runtime::User> ResolveImageUser(const std::filesystem::path& rootfs,
                                       const std::string& user);

}  // namespace berth::nodeagent
