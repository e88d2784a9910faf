// Small file helpers shared by modules that read and write kernel interface
// files (cgroupfs, procfs) and state files. Stateless, thread-safe.
// Errors carry errno and name the path.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"

namespace berth {

// open(2) with O_CLOEXEC always added.
Result<UniqueFd> OpenFile(const std::filesystem::path& path, int flags, mode_t mode = 0);

// Reads a whole file (works for procfs/cgroupfs files that report size 0).
Result<std::string> ReadFile(const std::filesystem::path& path);

// Writes `data` with a single write(2) to an existing file, as kernel
// interface files (cgroup.procs, memory.max) expect.
Status WriteFile(const std::filesystem::path& path, std::string_view data);

// Writes a file crash-safely: temp file in the same directory, fsync, rename,
// fsync of the directory. Readers see the old or the new content, never a mix.
Status WriteFileAtomic(const std::filesystem::path& path, std::string_view data,
                       mode_t mode = 0644);

// The same without the fsyncs: readers (and a writer that crashes) still see
// the old or the new content, but after a power loss the file may be empty
// or old. For runtime state that does not outlive a reboot anyway (a pod's
// bundle, its shim state): the fsyncs cost milliseconds on a pod's start.
Status WriteFileReplace(const std::filesystem::path& path, std::string_view data,
                        mode_t mode = 0644);

// mkdir -p; existing directories are fine.
Status MakeDirs(const std::filesystem::path& path, mode_t mode = 0755);

// Trims ASCII whitespace at both ends.
std::string_view Trim(std::string_view s);

}  // namespace berth
