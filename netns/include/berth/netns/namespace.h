// Network namespaces held by bind mounts (as `ip netns add` and CNI do): a
// namespace outlives every process in it while its file is mounted, and
// anything can join it by path. Entering one is per thread (setns(2) with
// CLONE_NEWNET affects only the calling thread), so a multi-threaded agent
// can work in many namespaces at once.
// Thread-safe. Errors: errno of unshare/mount/setns with the path.
#pragma once

#include <filesystem>
#include <functional>

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"

namespace berth::netns {

// Creates a new network namespace and bind-mounts it at `path` (the file is
// created; its directory must exist). EEXIST when `path` exists.
Status CreateNetns(const std::filesystem::path& path);
// Unmounts and removes `path`; a missing path is fine.
Status DeleteNetns(const std::filesystem::path& path);
// True when `path` is a mounted network namespace.
bool IsNetns(const std::filesystem::path& path);
Result<UniqueFd> OpenNetns(const std::filesystem::path& path);

// Runs `fn` with the calling thread inside the namespace `ns_fd`, then
// returns the thread to where it was. If the way back fails the process
// aborts: a thread left in the wrong namespace would corrupt later work.
Status InNetns(int ns_fd, const std::function<Status()>& fn);

}  // namespace berth::netns
