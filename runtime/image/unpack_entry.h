// Internal: applies tar entries, one at a time, beneath a layer root fd.
// See unpack.h for the safety rules. Not thread-safe: one per layer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"
#include "berth/runtime/image/unpack.h"

struct archive;
struct archive_entry;

namespace berth::runtime::image::detail {

// Splits a tar entry name into components, dropping "." and empty ones.
// Absolute names and ".." components are EINVAL. "./" yields no components.
Result<std::vector<std::string>> SplitEntryPath(std::string_view name);

class EntryWriter {
 public:
  EntryWriter(int root_fd, const UnpackOptions& options, UnpackStats* stats)
      : root_fd_(root_fd), options_(options), stats_(stats) {}

  // Creates the entry `e` read from `tar` (its data is read here).
  Status Apply(archive* tar, archive_entry* e);
  // Applies directory modes and mtimes, deepest first.
  Status Finish();

 private:
  struct DeferredDir {
    std::string path;  // relative to the root; "" for the root itself
    size_t depth;
    mode_t mode;
    bool has_mtime;
    struct timespec times[2];
  };

  Status ApplyAt(archive* tar, archive_entry* e, const std::vector<std::string>& comps);
  // Opens (creating missing directories) the parent of comps[0..n-1].
  Result<int> ParentFd(const std::vector<std::string>& comps, size_t n);
  Status Whiteout(int parent, const std::string& base, const std::string& name);
  Status WriteRegular(archive* tar, archive_entry* e, int parent, const std::string& base,
                      const std::string& name);
  Status HardLink(archive_entry* e, int parent, const std::string& base, const std::string& name);
  Status Chown(int fd, const char* at_name, archive_entry* e, const std::string& name);
  Status Xattrs(int fd, archive_entry* e, const std::string& name);
  // Forgets the cached parent path after the tree changed. The fd stays open
  // until ParentFd replaces it: callers may still hold it as `parent`.
  void InvalidateParentCache() { cached_parent_.clear(); }

  int root_fd_;
  const UnpackOptions& options_;
  UnpackStats* stats_;
  std::vector<DeferredDir> dirs_;
  std::string cached_parent_;  // path of cached_fd_, "" when empty
  UniqueFd cached_fd_;
};

}  // namespace berth::runtime::image::detail
